"""Tamper-evident audit trail: append-only events linked in a SHA-256 hash chain."""
