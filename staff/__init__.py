"""What staff see about the campaign as a whole: the dashboard and the audit log."""
