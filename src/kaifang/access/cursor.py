"""Keyset page tokens (``next``): where the last page ended, for which query, in which version.

A token holds the version it pages through (so a harvester reading page after page never mixes two
versions), a digest of the filters and sort (a token is only valid for its own query) and the sort
values and row number of the last row served. It is signed, so a token the platform did not issue
is refused rather than interpreted.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kaifang.access.columns import Column, ColumnKind
from kaifang.access.query import Filter, SortKey
from kaifang.errors import InvalidParameter
from kaifang.i18n import _

MAX_TOKEN = 4000
MAC_BYTES = 12


@dataclass(frozen=True)
class Cursor:
    version_id: str
    values: tuple[Any, ...]
    row: int


def query_digest(where: Sequence[Filter], sort: Sequence[SortKey], scope_key: str) -> str:
    canonical = json.dumps([[c.as_dict() for c in where], [k.as_text() for k in sort], scope_key],
                           ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"kaifang.access.cursor", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def encode(secret: str, cursor: Cursor, digest: str) -> str:
    body = json.dumps({"v": cursor.version_id, "q": digest, "k": [_encode_value(v) for v in cursor.values],
                       "r": cursor.row}, ensure_ascii=False, separators=(",", ":")).encode()
    mac = hmac.new(_key(secret), body, hashlib.sha256).digest()[:MAC_BYTES]
    return f"{_b64(body)}.{_b64(mac)}"


def _invalid() -> InvalidParameter:
    return InvalidParameter("next", _("Not a page token of this query. Use the “next” value of the previous "
                                      "page, with the same filters and sort."))


@dataclass(frozen=True)
class Sealed:
    """A token whose signature checked out; its values are read once the query is known."""

    version_id: str
    digest: str
    values: tuple[Any, ...]
    row: int

    def cursor(self, digest: str, sort: Sequence[SortKey], columns: Mapping[str, Column]) -> Cursor:
        if digest != self.digest or len(self.values) != len(sort):
            raise _invalid()
        try:
            values = tuple(_decode_value(columns[key.column], v) for key, v in zip(sort, self.values, strict=True))
        except (KeyError, TypeError, ValueError):
            raise _invalid() from None
        return Cursor(self.version_id, values, self.row)


def _decode_value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    kind = ColumnKind.TEXT if column.pseudonymised else column.kind
    if kind is ColumnKind.DATE and isinstance(value, str):
        return dt.date.fromisoformat(value)
    if kind is ColumnKind.DATETIME and isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    if kind is ColumnKind.INTEGER and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is ColumnKind.NUMBER and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is ColumnKind.BOOLEAN and isinstance(value, bool):
        return value
    if kind is ColumnKind.TEXT and isinstance(value, str):
        return value
    raise ValueError("value of the wrong kind")


def unseal(secret: str, token: str) -> Sealed:
    """The content of ``token`` if the platform issued it (its query is checked later)."""
    if len(token) > MAX_TOKEN or token.count(".") != 1:
        raise _invalid()
    body_text, mac_text = token.split(".")
    try:
        body, mac = _unb64(body_text), _unb64(mac_text)
    except (binascii.Error, ValueError):
        raise _invalid() from None
    expected = hmac.new(_key(secret), body, hashlib.sha256).digest()[:MAC_BYTES]
    if not hmac.compare_digest(mac, expected):
        raise _invalid()
    try:
        data = json.loads(body)
        row, values = data["r"], data["k"]
        if not isinstance(row, int) or isinstance(row, bool) or row < -1 or not isinstance(values, list):
            raise _invalid()
        return Sealed(str(data["v"]), str(data["q"]), tuple(values), row)
    except (KeyError, TypeError, ValueError):
        raise _invalid() from None
