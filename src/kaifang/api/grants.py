"""JSON API of grants: my grants, a provider's grants of a dataset with their use (LYG 25), and
the provider's or the authority's steps on a grant (suspend, resume, revoke; LYG 40)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from kaifang.access.grants import do_resume_grant, do_revoke_grant, do_suspend_grant
from kaifang.access.models import Grant
from kaifang.access.queries import (
    FeedbackState,
    Usage,
    access_entry_to_manage,
    access_grant_to_manage,
    feedback_of,
    filter_words,
    grants_of_entry,
    my_grants,
    titles_of,
    usage_of,
)
from kaifang.auth.permissions import Principal
from kaifang.cases.clocks import china_today
from kaifang.errors import NotFound
from kaifang.http.access import LOGGED_IN
from kaifang.http.deps import get_db
from kaifang.i18n import _

router = APIRouter(tags=["grants"])


class ConditionOut(BaseModel):
    column: str
    op: str
    value: object


class FeedbackOut(BaseModel):
    every_months: int
    overdue: bool
    open_report: str | None = Field(description="Case id of the report still open, if any (page /usage-reports/{id}).")
    open_report_state: str | None
    due_date: dt.date | None = Field(description="When the open report is owed by the grantee.")
    next_period_end: dt.date | None = Field(description="With no report open: the report falls due after this day.")


class GrantOut(BaseModel):
    id: str
    dataset: str
    dataset_title: str
    columns: list[str]
    row_filter: list[ConditionOut]
    row_filter_text: list[str] = Field(description="The row filter in words, in the caller's language.")
    modes: list[str]
    valid_from: dt.date
    valid_until: dt.date
    status: str
    status_reason: str
    in_force: bool
    feedback: FeedbackOut
    links: dict[str, str]


class UsageOut(BaseModel):
    calls: int
    downloads: int
    rows: int
    bytes: int
    last_access: dt.datetime | None


class ManagedGrantOut(GrantOut):
    user: str
    user_display_name: str
    usage: UsageOut


class StepIn(BaseModel):
    reason: str = Field(default="", max_length=2000)


def _links(request: Request, grant: Grant) -> dict[str, str]:
    base = str(request.base_url).rstrip("/") + f"/api/v1/datasets/{grant.entry.name}"
    links = {"fields": f"{base}/fields"}
    if "api" in grant.modes:
        links |= {"rows": f"{base}/rows", "aggregate": f"{base}/aggregate"}
    if "download" in grant.modes:
        links |= {f"download_{fmt}": f"{base}/download.{fmt}" for fmt in ("csv", "xlsx", "json", "parquet")}
    return links


def _feedback(grant: Grant, state: FeedbackState) -> FeedbackOut:
    case = state.open_report.case if state.open_report else None
    return FeedbackOut(every_months=grant.feedback_every_months, overdue=grant.feedback_overdue,
                       open_report=state.open_report.case_id if state.open_report else None,
                       open_report_state=case.state if case else None,
                       due_date=case.due_date if case is not None and state.owed else None,
                       next_period_end=state.next_period_end)


def _grant_out(request: Request, grant: Grant, state: FeedbackState, today: dt.date) -> dict[str, object]:
    titles = titles_of(grant.entry)
    return {"id": grant.id, "dataset": grant.entry.name, "dataset_title": grant.entry.title,
            "columns": list(grant.columns), "row_filter": [ConditionOut(**c) for c in grant.row_filter or ()],
            "row_filter_text": filter_words(grant, titles), "modes": list(grant.modes),
            "valid_from": grant.valid_from, "valid_until": grant.valid_until, "status": grant.status,
            "status_reason": grant.status_reason, "in_force": grant.in_force_on(today),
            "feedback": _feedback(grant, state), "links": _links(request, grant)}


@router.get("/grants/mine", response_model=list[GrantOut], summary="My grants of conditional data")
def mine(request: Request, actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> list[GrantOut]:
    today = china_today()
    grants = my_grants(db, actor)
    states = feedback_of(db, grants, today)
    return [GrantOut(**_grant_out(request, g, states[g.id], today)) for g in grants]


def _managed(request: Request, db: Session, grants: list[Grant]) -> list[ManagedGrantOut]:
    today = china_today()
    states, usage = feedback_of(db, grants, today), usage_of(db, [g.id for g in grants])
    out = []
    for grant in grants:
        used = usage.get(grant.id, Usage())
        out.append(ManagedGrantOut(**_grant_out(request, grant, states[grant.id], today), user=grant.user.username,
                                   user_display_name=grant.user.display_name,
                                   usage=UsageOut(calls=used.calls, downloads=used.downloads, rows=used.rows,
                                                  bytes=used.bytes, last_access=used.last_at)))
    return out


@router.get("/datasets/{name}/grants", response_model=list[ManagedGrantOut],
            summary="A dataset's grants with their use (its provider and the authority)")
def of_dataset(name: str, request: Request, actor: Principal = Depends(LOGGED_IN),
               db: Session = Depends(get_db)) -> list[ManagedGrantOut]:
    return _managed(request, db, grants_of_entry(db, access_entry_to_manage(db, actor, name)))


STEPS = {"suspend": do_suspend_grant, "resume": do_resume_grant, "revoke": do_revoke_grant}


@router.post("/grants/{grant_id}/{step}", response_model=ManagedGrantOut,
             summary="Suspend, resume or revoke a grant, with the reason")
def change(grant_id: str, step: str, body: StepIn, request: Request, actor: Principal = Depends(LOGGED_IN),
           db: Session = Depends(get_db)) -> ManagedGrantOut:
    grant = access_grant_to_manage(db, actor, grant_id)
    action = STEPS.get(step)
    if action is None:
        raise NotFound(_("No such step."))
    action(db, actor, grant, body.reason)
    db.commit()
    return _managed(request, db, [grant])[0]
