"""Appending to a case's thread."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kaifang.auth.models import User
from kaifang.cases.models import Case, CaseEntry, EntryKind


def add_entry(session: Session, case: Case, kind: EntryKind, author: User | None, body: str = "",
              **fields: Any) -> CaseEntry:
    seq = (session.scalar(select(func.max(CaseEntry.seq)).where(CaseEntry.case_id == case.id)) or 0) + 1
    entry = CaseEntry(case_id=case.id, seq=seq, kind=kind.value, author_id=author.id if author else None,
                      body=body.strip(), **fields)
    session.add(entry)
    return entry


def add_event(session: Session, case: Case, author: User | None, event: str, body: str = "",
              **data: Any) -> CaseEntry:
    """A system entry; ``event`` names its label in ``SYSTEM_EVENT_LABELS``, ``data`` fills it."""
    return add_entry(session, case, EntryKind.SYSTEM, author, body, transition=event, data=data)
