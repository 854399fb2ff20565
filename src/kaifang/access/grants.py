"""Grants of conditional data: made when an agreement takes effect, suspended, resumed, revoked.

Like every domain's actions these take ``(session, actor, …)``, record the audit event in the same
transaction and never commit. Who may change a grant: the provider's side of the entry and the
authority (LYG 40: suspension on breach).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from kaifang.access.columns import Column, ColumnKind, columns_of
from kaifang.access.models import Grant, GrantStatus
from kaifang.access.query import condition_from_dict
from kaifang.audit.actions import record
from kaifang.auth.models import Role, User
from kaifang.auth.permissions import Principal
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.visibility import can_edit
from kaifang.catalog.vocab import OpenType
from kaifang.datasets.queries import current_version
from kaifang.db import utcnow
from kaifang.errors import Conflict, FieldErrors, Forbidden, InvalidParameter, ValidationFailed
from kaifang.i18n import _

MAX_REASON = 2000
MAX_GRANT_DAYS = 366 * 5
# Catalog item types → the kinds filters are checked with, before any version exists.
ITEM_KINDS = {"string": ColumnKind.TEXT, "integer": ColumnKind.INTEGER, "decimal": ColumnKind.NUMBER,
              "date": ColumnKind.DATE, "datetime": ColumnKind.DATETIME, "boolean": ColumnKind.BOOLEAN,
              "geometry": ColumnKind.TEXT}


def entry_columns(session: Session, entry: CatalogEntry) -> dict[str, Column]:
    """The columns a grant may name: the current version's, else the declared data items."""
    version = current_version(session, entry.id)
    titles = {item.name: item.title for item in entry.items}
    if version is not None:
        return {c.name: c for c in columns_of(version.schema, titles)}
    return {i.name: Column(i.name, ITEM_KINDS.get(i.type, ColumnKind.TEXT), i.title) for i in entry.items}


def check_scope(session: Session, entry: CatalogEntry, columns: Sequence[str], row_filter: Sequence[dict[str, Any]],
                modes: Sequence[str], valid_from: dt.date, valid_until: dt.date) -> list[dict[str, Any]]:
    """Refuses a scope that names unknown columns, bad filters, modes the entry does not offer or
    an impossible period; returns the row filter in its stored form."""
    errors = FieldErrors()
    known = entry_columns(session, entry)
    unknown = [c for c in columns if c not in known]
    if not columns:
        errors.add("columns", _("Choose at least one data item."))
    elif unknown:
        errors.add("columns", _("Not data items of this dataset: %(names)s", names=", ".join(unknown)))
    stored: list[dict[str, Any]] = []
    for index, condition in enumerate(row_filter):
        try:
            stored.append(condition_from_dict(condition, known).as_dict())
        except InvalidParameter as exc:
            errors.add(f"row_filter.{index}", exc.message)
    offered = set(entry.access_modes or ())
    if not modes:
        errors.add("modes", _("Choose at least one way of access."))
    elif not set(modes) <= offered:
        errors.add("modes", _("The dataset is not offered that way."))
    if valid_until < valid_from:
        errors.add("valid_until", _("The end of the period cannot be before its start."))
    elif (valid_until - valid_from).days > MAX_GRANT_DAYS:
        errors.add("valid_until", _("A grant lasts at most five years."))
    errors.raise_if_any()
    return stored


def do_create_grant(session: Session, actor: Principal | None, *, entry: CatalogEntry, user: User,
                    columns: Sequence[str], row_filter: Sequence[dict[str, Any]], modes: Sequence[str],
                    valid_from: dt.date, valid_until: dt.date, feedback_every_months: int = 0,
                    application_id: str | None = None, agreement_id: str | None = None) -> Grant:
    """Opens conditional data to ``user`` as an agreement says (called when the agreement takes
    effect; the application's workflow checked who approved it)."""
    if entry.open_type != OpenType.CONDITIONAL:
        raise Conflict(_("Only conditional data is opened through grants."))
    stored = check_scope(session, entry, columns, row_filter, modes, valid_from, valid_until)
    grant = Grant(entry_id=entry.id, user_id=user.id, columns=list(dict.fromkeys(columns)), row_filter=stored,
                  modes=sorted(set(modes)), valid_from=valid_from, valid_until=valid_until,
                  feedback_every_months=max(0, feedback_every_months), application_id=application_id,
                  agreement_id=agreement_id, created_by_id=actor.id if actor else None)
    session.add(grant)
    session.flush()
    record(session, actor, "grant.create", target_type="access_grant", target_id=grant.id,
           data={"entry": entry.name, "user_id": user.id, "columns": grant.columns, "row_filter": stored,
                 "modes": grant.modes, "valid_from": valid_from.isoformat(), "valid_until": valid_until.isoformat(),
                 "application_id": application_id, "agreement_id": agreement_id})
    return grant


def may_manage(session: Session, actor: Principal, grant: Grant) -> bool:
    return actor.has_role(Role.AUTHORITY_REVIEWER) or can_edit(session, actor, grant.entry)


def _change(session: Session, actor: Principal, grant: Grant, status: GrantStatus, reason: str, action: str,
            allowed_from: set[GrantStatus]) -> Grant:
    if not may_manage(session, actor, grant):
        raise Forbidden(_("You do not have permission to do this."))
    if GrantStatus(grant.status) not in allowed_from:
        raise Conflict(_("The grant is %(status)s; this step is not possible.", status=grant.status))
    if action != "resume" and not reason.strip():
        raise ValidationFailed.single("reason", _("State the reason."))
    if len(reason) > MAX_REASON:
        raise ValidationFailed.single("reason", _("At most %(n)s characters.", n=MAX_REASON))
    was = grant.status
    grant.status, grant.status_reason = status, reason.strip()
    grant.status_changed_at, grant.status_changed_by_id = utcnow(), actor.id or None
    session.flush()
    record(session, actor, f"grant.{action}", target_type="access_grant", target_id=grant.id,
           data={"entry": grant.entry.name, "user_id": grant.user_id, "from": was, "to": status,
                 "reason": grant.status_reason})
    return grant


def do_suspend_grant(session: Session, actor: Principal, grant: Grant, reason: str) -> Grant:
    """Stops access at once (a breach, LYG 40; a withdrawn dataset, LYG 26); may be resumed."""
    return _change(session, actor, grant, GrantStatus.SUSPENDED, reason, "suspend", {GrantStatus.ACTIVE})


def do_resume_grant(session: Session, actor: Principal, grant: Grant, reason: str = "") -> Grant:
    return _change(session, actor, grant, GrantStatus.ACTIVE, reason, "resume", {GrantStatus.SUSPENDED})


def do_revoke_grant(session: Session, actor: Principal, grant: Grant, reason: str) -> Grant:
    """Ends a grant for good; the user needs a new application."""
    return _change(session, actor, grant, GrantStatus.REVOKED, reason, "revoke",
                   {GrantStatus.ACTIVE, GrantStatus.SUSPENDED})
