"""Campaign staff: the dashboard and the audit log, and their accounts (invitations,
emailed links, the sign-in limits and the second factor)."""
