"""Random tokens that are stored only as hashes (API tokens, reset links) and keyed digests."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "kf_"  # noqa: S105 - a public prefix, not a secret


def token_digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (as GitHub and PyPI do).
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token() -> tuple[str, str]:
    """Returns (prefix, full token). The prefix is shown in lists; the token once, at creation."""
    prefix = secrets.token_hex(4)
    return prefix, f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"


def prefix_of(token: str) -> str | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    prefix, sep, rest = token[len(TOKEN_PREFIX):].partition("_")
    return prefix if sep and len(prefix) == 8 and rest else None


def new_url_token() -> str:
    return secrets.token_urlsafe(32)


def keyed_digest(secret_key: str, purpose: str, value: str) -> str:
    """HMAC-SHA256 of a value under a per-purpose key: lets us find duplicates without keeping it."""
    key = hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
