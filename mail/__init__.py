"""Email: the outbox that letters and staff accounts write to, and the worker that
sends it."""
