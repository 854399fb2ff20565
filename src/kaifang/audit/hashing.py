from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import orjson


def canonical_time(value: dt.datetime) -> str:
    # Microseconds survive both engines; the zone is always UTC.
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    seq: int,
    occurred_at: dt.datetime,
    actor_id: str | None,
    actor_label: str,
    action: str,
    target_type: str,
    target_id: str,
    data: dict[str, Any],
    request_id: str,
    client_ip: str,
    prev_hash: str,
) -> str:
    body = orjson.dumps(
        [seq, canonical_time(occurred_at), actor_id, actor_label, action, target_type,
         target_id, data, request_id, client_ip, prev_hash],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(body).hexdigest()
