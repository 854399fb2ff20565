"""Reading and verifying the audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from kaifang.audit.hashing import event_hash
from kaifang.audit.models import GENESIS_HASH, AuditEvent, AuditHead


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    target: str = ""
    action: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _filtered(flt: AuditFilter) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if flt.actor:
        stmt = stmt.where(
            (AuditEvent.actor_id == flt.actor) | AuditEvent.actor_label.contains(flt.actor)
        )
    if flt.target:
        type_, sep, ident = flt.target.partition(":")
        if sep:
            stmt = stmt.where(AuditEvent.target_type == type_, AuditEvent.target_id == ident)
        else:
            stmt = stmt.where(
                (AuditEvent.target_type == flt.target) | (AuditEvent.target_id == flt.target)
            )
    if flt.action:
        stmt = stmt.where(AuditEvent.action.startswith(flt.action))
    if flt.since:
        stmt = stmt.where(AuditEvent.occurred_at >= flt.since)
    if flt.until:
        stmt = stmt.where(AuditEvent.occurred_at < flt.until)
    return stmt


def list_events(
    session: Session, flt: AuditFilter, *, before_seq: int | None = None, limit: int = 50
) -> list[AuditEvent]:
    """Newest first, paged by sequence number (keyset)."""
    stmt = _filtered(flt)
    if before_seq is not None:
        stmt = stmt.where(AuditEvent.seq < before_seq)
    return list(session.scalars(stmt.order_by(AuditEvent.seq.desc()).limit(limit)))


def count_events(session: Session, flt: AuditFilter) -> int:
    return session.scalar(select(func.count()).select_from(_filtered(flt).subquery())) or 0


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""


def _stream(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify_chain(session: Session) -> VerifyResult:
    """Recompute every hash in order; name the first event that is missing, moved or edited."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    for event in _stream(session):
        if event.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, "missing event (deleted or renumbered)")
        if event.prev_hash != prev_hash:
            return VerifyResult(False, checked, event.seq, "link to the previous event is broken")
        recomputed = event_hash(
            seq=event.seq, occurred_at=event.occurred_at, actor_id=event.actor_id,
            actor_label=event.actor_label, action=event.action, target_type=event.target_type,
            target_id=event.target_id, data=event.data, request_id=event.request_id,
            client_ip=event.client_ip, prev_hash=event.prev_hash,
        )
        if recomputed != event.hash:
            return VerifyResult(False, checked, event.seq, "event content was changed")
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_seq != checked or head.last_hash != prev_hash):
        return VerifyResult(False, checked, checked + 1, "events after this point were removed")
    return VerifyResult(True, checked)
