"""Accounts, organisations, memberships, roles, permissions, API tokens, identity verification."""
