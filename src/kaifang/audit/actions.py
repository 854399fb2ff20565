"""Recording audit events, inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.audit.hashing import event_hash
from kaifang.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from kaifang.context import client_ip_var, request_id_var
from kaifang.db import utcnow

HEAD_ID = 1


class Actor(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def audit_label(self) -> str: ...


def _lock_head(session: Session) -> AuditHead:
    # SELECT … FOR UPDATE serialises writers on PostgreSQL until commit; SQLite has one writer.
    head = session.scalars(select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()).first()
    if head is None:
        head = AuditHead(id=HEAD_ID, last_seq=0, last_hash=GENESIS_HASH)
        session.add(head)
        session.flush()
    return head


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    # Round-trip so what is hashed is exactly what the JSON column gives back.
    loaded: dict[str, Any] = orjson.loads(orjson.dumps(data, default=str, option=orjson.OPT_SORT_KEYS))
    return loaded


def record(
    session: Session,
    actor: Actor | None,
    action: str,
    *,
    target_type: str = "",
    target_id: str = "",
    data: dict[str, Any] | None = None,
    occurred_at: dt.datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain. The caller commits it together with the action."""
    head = _lock_head(session)
    event = AuditEvent(
        seq=head.last_seq + 1,
        occurred_at=occurred_at or utcnow(),
        actor_id=actor.id if actor else None,
        actor_label=actor.audit_label if actor else "system",
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        data=_json_safe(data or {}),
        request_id=request_id_var.get(),
        client_ip=client_ip_var.get(),
        prev_hash=head.last_hash,
    )
    event.hash = event_hash(
        seq=event.seq, occurred_at=event.occurred_at, actor_id=event.actor_id,
        actor_label=event.actor_label, action=event.action, target_type=event.target_type,
        target_id=event.target_id, data=event.data, request_id=event.request_id,
        client_ip=event.client_ip, prev_hash=event.prev_hash,
    )
    head.last_seq, head.last_hash = event.seq, event.hash
    session.add(event)
    session.flush()
    return event
