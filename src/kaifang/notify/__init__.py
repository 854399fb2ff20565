"""Outgoing messages: e-mail through a pluggable sender (database outbox or SMTP)."""
