"""Moderation: the automatic flags, the queue of messages, and the lists admins edit."""
