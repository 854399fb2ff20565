"""Kaifang 开放 — a public data open platform that runs the rules of public-data regulations."""

__version__ = "0.1.0"
