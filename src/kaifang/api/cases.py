"""Cases as JSON: my tasks, the cases I opened, one case with its thread, and taking a step."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from kaifang.auth.permissions import Principal
from kaifang.cases.actions import do_transition
from kaifang.cases.models import Case, CaseEntry
from kaifang.cases.queries import access_case, case_view, entries, inbox, my_cases
from kaifang.config import Settings
from kaifang.http.access import LOGGED_IN
from kaifang.http.deps import get_db, get_settings

router = APIRouter(prefix="/cases", tags=["cases"])


class CaseOut(BaseModel):
    id: str
    workflow: str
    state: str
    title: str
    profile: str
    opened_at: dt.datetime
    due_date: dt.date | None
    # True when the due date was counted Monday–Friday for lack of a holiday schedule: it may move.
    calendar_missing: bool
    clock_paused: bool
    overdue: bool
    closed_at: dt.datetime | None


class EntryOut(BaseModel):
    kind: str
    author: str | None
    body: str
    transition: str
    from_state: str
    to_state: str
    attachment: str | None
    created_at: dt.datetime


class CaseDetailOut(CaseOut):
    roles: list[str]
    transitions: list[str]
    entries: list[EntryOut]


class StepIn(BaseModel):
    reason: str = Field(default="", max_length=20_000)


def case_out(case: Case) -> CaseOut:
    return CaseOut(id=case.id, workflow=case.workflow, state=case.state, title=case.title,
                   profile=case.profile_key, opened_at=case.opened_at, due_date=case.due_date,
                   calendar_missing=case.calendar_missing, clock_paused=case.clock_paused,
                   overdue=case.overdue, closed_at=case.closed_at)


def _entry_out(entry: CaseEntry) -> EntryOut:
    return EntryOut(kind=entry.kind, author=entry.author.username if entry.author else None, body=entry.body,
                    transition=entry.transition, from_state=entry.from_state, to_state=entry.to_state,
                    attachment=entry.attachment.file_name if entry.attachment else None,
                    created_at=entry.created_at)


def _detail(db: Session, actor: Principal, case: Case) -> CaseDetailOut:
    view = case_view(actor, case)
    return CaseDetailOut(**case_out(case).model_dump(), roles=sorted(view.roles),
                         transitions=[t.name for t in view.transitions],
                         entries=[_entry_out(e) for e in entries(db, case)])


@router.get("/tasks", response_model=list[CaseOut], summary="Open cases waiting for me, overdue first")
def tasks(actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> list[CaseOut]:
    return [case_out(c) for c in inbox(db, actor)]


@router.get("/mine", response_model=list[CaseOut], summary="Cases I opened, newest first")
def mine(actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> list[CaseOut]:
    return [case_out(c) for c in my_cases(db, actor)]


@router.get("/{case_id}", response_model=CaseDetailOut, summary="One case with its thread")
def case_detail(case_id: str, actor: Principal = Depends(LOGGED_IN),
                db: Session = Depends(get_db)) -> CaseDetailOut:
    return _detail(db, actor, access_case(db, actor, case_id))


@router.post("/{case_id}/transitions/{name}", response_model=CaseDetailOut, summary="Take a workflow step")
def take_step(case_id: str, name: str, body: StepIn, actor: Principal = Depends(LOGGED_IN),
              db: Session = Depends(get_db), settings: Settings = Depends(get_settings)) -> CaseDetailOut:
    case = access_case(db, actor, case_id)
    do_transition(db, settings, actor, case, name, body.reason)
    db.commit()
    return _detail(db, actor, case)
