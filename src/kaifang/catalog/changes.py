"""Catalog change requests (CQ 17; GY 13 in the Guiyang profile).

When a law is amended or a provider's duties change, the provider applies to update its open
catalog within the filing period, counted from the day of the change (``catalog_change_filing``:
10 working days; 15 days in Guiyang). The authority reviews the application within
``catalog_change_review`` (5 working days) and, on approval, the catalog is updated: the proposed
metadata replaces the entry's, a revision is kept and the search index refreshed.

The change may be recorded first (by the provider, or by the authority noticing a change of law)
and filed later, so the filing clock reminds the provider; or recorded and filed at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kaifang.audit.actions import record
from kaifang.auth.models import Role
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import require_login
from kaifang.calendar.workdays import load_calendar
from kaifang.cases.actions import do_open_case, do_transition
from kaifang.cases.clocks import china_today, refresh_due
from kaifang.cases.followers import follow
from kaifang.cases.models import Case
from kaifang.cases.notifications import notify
from kaifang.cases.queries import users_with_role
from kaifang.catalog.actions import apply_fields, apply_input, save_revision
from kaifang.catalog.forms import DataItemInput, EntryInput
from kaifang.catalog.models import CatalogEntry, ChangeRequest
from kaifang.catalog.queries import snapshot
from kaifang.catalog.search import index_entry
from kaifang.catalog.taxonomy import list_domains
from kaifang.catalog.visibility import can_edit, organisations_in_charge, sees_everything
from kaifang.catalog.vocab import EntryStatus
from kaifang.catalog.workflows import C_APPROVED, C_PENDING, C_REVIEW, CHANGE
from kaifang.config import Settings
from kaifang.db import utcnow
from kaifang.errors import Conflict, FieldErrors, Forbidden, InvalidTransition, NotFound, ValidationFailed
from kaifang.i18n import N_, _

SUBJECT = "catalog_entry"
MAX_TEXT = 20_000


class ChangeCause(StrEnum):
    LAW = "law"
    DUTIES = "duties"


CAUSE_LABELS = {
    ChangeCause.LAW: N_("A law or regulation was amended"),
    ChangeCause.DUTIES: N_("The provider's duties changed"),
}


# Labels of the metadata fields, for showing what a change alters.
FIELD_LABELS = {
    "title": N_("Title"), "title_en": N_("English title (optional)"), "summary": N_("Summary"),
    "domain_code": N_("Domain"), "open_type": N_("Open type"), "open_conditions": N_("Conditions of opening"),
    "legal_basis": N_("Legal basis"), "security_grade": N_("Security grade"), "access_modes": N_("Access modes"),
    "share_type": N_("Sharing with government bodies"), "share_conditions": N_("Conditions of sharing"),
    "licence": N_("Licence or terms of use"), "update_frequency": N_("Update frequency"), "formats": N_("Formats"),
    "keywords": N_("Keywords"), "temporal_start": N_("Covers the period from"), "temporal_end": N_("to"),
    "spatial_coverage": N_("Area covered"), "annual_focus": N_("Annual focus"), "items": N_("Data items"),
}


def input_from_dict(values: dict[str, Any]) -> EntryInput:
    fields = {k: v for k, v in values.items() if k != "items"}
    return EntryInput(**fields, items=[DataItemInput(**item) for item in values.get("items", [])])


def _check_record(cause: str, changed_on: str, explanation: str) -> dt.date:
    errors = FieldErrors()
    if cause not in set(ChangeCause):
        errors.add("cause", _("Choose what changed."))
    day = None
    try:
        day = dt.date.fromisoformat(changed_on)
    except ValueError:
        errors.add("changed_on", _("Enter a date as YYYY-MM-DD."))
    if day is not None and day > china_today():
        errors.add("changed_on", _("The change cannot lie in the future."))
    if not explanation.strip():
        errors.add("explanation", _("Explain what changed and what it means for this entry."))
    elif len(explanation) > MAX_TEXT:
        errors.add("explanation", _("At most %(n)s characters.", n=MAX_TEXT))
    errors.raise_if_any()
    assert day is not None
    return day


def open_change(session: Session, entry: CatalogEntry) -> ChangeRequest | None:
    """The entry's change request whose case is still open, if any."""
    stmt = (select(ChangeRequest).join(Case, Case.id == ChangeRequest.case_id)
            .where(ChangeRequest.entry_id == entry.id, Case.closed_at.is_(None)))
    return session.scalars(stmt).first()


def do_record_change(session: Session, settings: Settings, actor: Principal, entry: CatalogEntry, cause: str,
                     changed_on: str, explanation: str) -> ChangeRequest:
    """Records a change of law or duties touching a published entry; the filing clock starts."""
    user = require_login(actor)
    if not (can_edit(session, actor, entry) or actor.has_role(Role.AUTHORITY_REVIEWER)):
        raise Forbidden(_("You do not have permission to do this."))
    if entry.status != EntryStatus.PUBLISHED:
        raise Conflict(_("Change requests are for entries of the published open catalog; edit drafts directly."))
    if open_change(session, entry) is not None:
        raise Conflict(_("A change request for this entry is open already."))
    day = _check_record(cause, changed_on, explanation)
    change = ChangeRequest(entry_id=entry.id, cause=cause, changed_on=day, explanation=explanation.strip(),
                           created_by_id=user.id)
    session.add(change)
    session.flush()
    case = do_open_case(session, settings, actor, CHANGE.key, _("Catalog change: %(title)s", title=entry.title)[:200],
                        f"{explanation.strip()}\n\n/datasets/{entry.name}", assignee_org=entry.provider,
                        subject=(SUBJECT, entry.id))
    change.case_id, change.filing_due = case.id, _count_filing_from(session, case, day)
    record(session, actor, "catalog.change_record", target_type=SUBJECT, target_id=entry.id,
           data={"change_id": change.id, "case_id": case.id, "cause": cause, "changed_on": day.isoformat(),
                 "filing_due": change.filing_due.isoformat() if change.filing_due else None})
    return change


def _count_filing_from(session: Session, case: Case, day: dt.date) -> dt.date | None:
    """The statutory period runs from the day of the change, not from the day it was recorded."""
    clock = case.clock
    assert clock is not None
    clock.started_on = day
    refresh_due(load_calendar(session), case, china_today())
    return case.due_date


def do_file_change(session: Session, settings: Settings, actor: Principal, change: ChangeRequest,
                   data: EntryInput) -> ChangeRequest:
    """The provider files the proposed metadata; the authority's review clock starts today."""
    require_login(actor)
    entry = change.entry
    if not can_edit(session, actor, entry):
        raise Forbidden(_("You do not have permission to do this."))
    case = session.get(Case, change.case_id) if change.case_id else None
    if case is None or case.state != C_PENDING:
        raise InvalidTransition(_("This change request has been filed already."))
    data.name = entry.name
    data.validate({d.code for d in list_domains(session)})
    change.proposed, change.filed_on = dataclasses.asdict(data), china_today()
    do_transition(session, settings, actor, case, "file")
    record(session, actor, "catalog.change_file", target_type=SUBJECT, target_id=entry.id,
           data={"change_id": change.id, "case_id": case.id, "filed_on": change.filed_on.isoformat(),
                 "late": change.filed_late})
    notify(session, settings, users_with_role(session, Role.AUTHORITY_REVIEWER), case, "catalog_change_filed",
           lambda: (_("Catalog change request"),
                    _("A change of “%(title)s” is waiting for your review.", title=entry.title)))
    return change


def do_request_change(session: Session, settings: Settings, actor: Principal, entry: CatalogEntry,
                      record_fields: tuple[str, str, str], data: EntryInput) -> ChangeRequest:
    """Files a change, recording it first unless it was recorded already (e.g. by the authority)."""
    change = open_change(session, entry)
    problems: dict[str, list[str]] = {}
    for check in (lambda: data.validate({d.code for d in list_domains(session)}),
                  lambda: _check_record(*record_fields) if change is None else None):
        try:
            check()
        except ValidationFailed as exc:  # every field error at once, before anything opens
            problems.update(exc.fields)
    if problems:
        raise ValidationFailed(problems)
    if change is None:
        change = do_record_change(session, settings, actor, entry, *record_fields)
    return do_file_change(session, settings, actor, change, data)


def do_change_step(session: Session, settings: Settings, actor: Principal, change: ChangeRequest, step: str,
                   reason: str = "") -> ChangeRequest:
    """The authority approves or rejects; either side cancels a change not filed yet."""
    case = session.get(Case, change.case_id) if change.case_id else None
    if case is None or step not in ("approve_change", "reject_change", "cancel"):
        raise InvalidTransition(_("This step is not possible on this change request."))
    do_transition(session, settings, actor, case, step, reason)
    return change


def follow_change_case(session: Session, actor: Principal, case: Case, state: str) -> None:
    change = session.scalars(select(ChangeRequest).where(ChangeRequest.case_id == case.id)).first()
    if change is None:
        return
    if state == C_REVIEW and change.proposed is None:
        raise InvalidTransition(_("File the change on the dataset's change page, "
                                  "where the new description is entered."))
    if state == C_APPROVED:
        _apply_change(session, actor, change, case)


def _apply_change(session: Session, actor: Principal, change: ChangeRequest, case: Case) -> None:
    """CQ 17: the authority updates the open catalog (and so the responsibility list) on approval."""
    assert change.proposed is not None
    entry = change.entry
    change.replaced = snapshot(entry)
    changed = apply_input(session, entry, input_from_dict(change.proposed))
    revision = save_revision(session, actor, entry)
    change.applied_at = utcnow()
    index_entry(session, entry)
    record(session, actor, "catalog.change_apply", target_type=SUBJECT, target_id=entry.id,
           data={"change_id": change.id, "case_id": case.id, "changed": changed, "revision": revision.number})


follow(CHANGE.key, follow_change_case)


def changes_for(session: Session, actor: Principal, entry: CatalogEntry | None = None) -> list[ChangeRequest]:
    """Change requests the actor may follow: all for overseers, their own bodies' for providers."""
    stmt = select(ChangeRequest).join(CatalogEntry, CatalogEntry.id == ChangeRequest.entry_id)
    if not sees_everything(actor):
        own = organisations_in_charge(session, actor)
        stmt = stmt.where(or_(CatalogEntry.provider_id.in_(own), CatalogEntry.submitted_by_org_id.in_(own)))
    if entry is not None:
        stmt = stmt.where(ChangeRequest.entry_id == entry.id)
    return list(session.scalars(stmt.order_by(ChangeRequest.created_at.desc())))


def access_change(session: Session, actor: Principal, change_id: str) -> ChangeRequest:
    change = session.get(ChangeRequest, change_id)
    if change is None or not (sees_everything(actor) or can_edit(session, actor, change.entry)):
        raise NotFound(_("No such change request."))
    return change


def _normalised(values: dict[str, Any]) -> dict[str, Any]:
    """The proposal as the entry would store it (trimmed, de-duplicated, sorted)."""
    data = input_from_dict(values)
    start, end = (dt.date.fromisoformat(v) if v else None for v in (data.temporal_start, data.temporal_end))
    probe = CatalogEntry(name=data.name)  # never added to the session
    apply_fields(probe, data, (start, end))
    return snapshot(probe)


def proposed_diff(change: ChangeRequest) -> list[tuple[str, Any, Any]]:
    """(field, current value, proposed value) for each field the change alters."""
    if change.proposed is None:
        return []
    current = change.replaced if change.replaced is not None else snapshot(change.entry)
    proposed = _normalised(change.proposed)
    return [(key, current.get(key), value) for key, value in proposed.items()
            if key not in ("name", "provider_id") and current.get(key) != value]
