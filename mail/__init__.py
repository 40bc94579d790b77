"""Email: the outbox that letters write to, and the worker that sends it."""
