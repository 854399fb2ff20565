"""JSON API of applications for conditional data: my applications and one application with its
approved scope and agreement (the steps themselves are taken on the pages or through
``POST /api/v1/cases/{id}/transitions/{name}`` for the steps that need no form)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy.orm import Session

from kaifang.applications.models import Application, Party
from kaifang.applications.queries import access_application, application_view, my_applications
from kaifang.auth.permissions import Principal
from kaifang.http.access import LOGGED_IN
from kaifang.http.deps import get_db

router = APIRouter(prefix="/applications", tags=["applications"])


class AcceptanceOut(BaseModel):
    party: str
    account: str
    accepted_at: dt.datetime
    sha256: str


class AgreementOut(BaseModel):
    id: str
    number: str
    template_version: int
    sha256: str
    created_at: dt.datetime
    review_outcome: str
    acceptances: list[AcceptanceOut]


class ApplicationOut(BaseModel):
    id: str
    dataset: str
    provider: str
    state: str
    applied_at: dt.datetime
    due_date: dt.date | None
    overdue: bool
    columns: list[str]
    modes: list[str]
    use_from: dt.date
    use_until: dt.date
    grant_id: str | None


class ApplicationDetailOut(ApplicationOut):
    purpose: str
    scenario: str
    security_measures: str
    approved_columns: list[str]
    row_filter: list[dict[str, Any]]
    approved_modes: list[str]
    valid_from: dt.date | None
    valid_until: dt.date | None
    feedback_every_months: int
    agreement: AgreementOut | None
    # The steps this caller may take now, and the side it accepts the agreement for.
    steps: list[str]
    accepts_as: Party | None


def _out(app: Application) -> ApplicationOut:
    case = app.case
    return ApplicationOut(id=app.id, dataset=app.entry.name, provider=app.entry.provider.slug, state=case.state,
                          applied_at=app.created_at, due_date=case.due_date, overdue=case.overdue,
                          columns=app.columns, modes=app.modes, use_from=app.use_from, use_until=app.use_until,
                          grant_id=app.grant_id)


def _agreement(app: Application) -> AgreementOut | None:
    agreement = app.agreement
    if agreement is None:
        return None
    return AgreementOut(id=agreement.id, number=agreement.number, template_version=agreement.template_number,
                        sha256=agreement.sha256, created_at=agreement.created_at,
                        review_outcome=agreement.review_outcome,
                        acceptances=[AcceptanceOut(party=a.party, account=a.user.username, accepted_at=a.accepted_at,
                                                   sha256=a.sha256) for a in agreement.acceptances])


@router.get("", response_model=list[ApplicationOut], summary="My applications for conditional data, newest first")
def mine(actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> list[ApplicationOut]:
    return [_out(app) for app in my_applications(db, actor)]


@router.get("/{application_id}", response_model=ApplicationDetailOut, summary="One application")
def one(application_id: str, actor: Principal = Depends(LOGGED_IN),
        db: Session = Depends(get_db)) -> ApplicationDetailOut:
    app = access_application(db, actor, application_id)
    view = application_view(actor, app)
    return ApplicationDetailOut(
        **_out(app).model_dump(), purpose=app.purpose, scenario=app.scenario,
        security_measures=app.security_measures, approved_columns=app.approved_columns, row_filter=app.row_filter,
        approved_modes=app.approved_modes, valid_from=app.valid_from, valid_until=app.valid_until,
        feedback_every_months=app.feedback_every_months, agreement=_agreement(app), steps=sorted(view.steps),
        accepts_as=view.accept_as if view.may_accept else None)
