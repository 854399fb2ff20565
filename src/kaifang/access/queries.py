"""Reads of grants: my grants, a provider's grants with their use (LYG 25) and feedback, the
recipients of a dataset's data (LYG 26). ``access_*`` fetch and check in one call: a grant or a
list one may not manage does not exist (404)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kaifang.access.feedback import OWED, next_period_end
from kaifang.access.models import AccessLog, Channel, FeedbackReport, Grant, GrantStatus
from kaifang.access.query import OPERATORS
from kaifang.auth.models import Organisation, Role, User
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import access_organisation, organisation_subtree, require_login
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.queries import access_entry
from kaifang.catalog.visibility import can_edit, organisations_in_charge, sees_everything
from kaifang.errors import NotFound
from kaifang.i18n import _

MAX_LISTED = 1000


# ---- fetch and check --------------------------------------------------------------------------

def may_manage_entry(session: Session, actor: Principal, entry: CatalogEntry) -> bool:
    """The provider's side of the entry and the authority (LYG 25, 40)."""
    return actor.has_role(Role.AUTHORITY_REVIEWER) or can_edit(session, actor, entry)


def access_grant_to_manage(session: Session, actor: Principal, grant_id: str) -> Grant:
    require_login(actor)
    grant = session.get(Grant, grant_id)
    if grant is None or not may_manage_entry(session, actor, grant.entry):
        raise NotFound(_("No such grant."))
    return grant


def access_entry_to_manage(session: Session, actor: Principal, name: str) -> CatalogEntry:
    """A dataset whose grants and recipients this actor may see (withdrawn ones included)."""
    require_login(actor)
    entry = access_entry(session, actor, name)
    if not may_manage_entry(session, actor, entry):
        raise NotFound(_("No such dataset."))
    return entry


def access_org_to_manage(session: Session, actor: Principal, slug: str) -> Organisation:
    require_login(actor)
    org = access_organisation(session, actor, slug)
    if not (actor.has_role(Role.AUTHORITY_REVIEWER) or org.id in organisations_in_charge(session, actor)):
        raise NotFound(_("No such page."))
    return org


def access_report(session: Session, actor: Principal, case_id: str) -> FeedbackReport:
    """A usage report by its case, for its grantee, those who manage the grant and overseers."""
    require_login(actor)
    report = session.scalars(select(FeedbackReport).where(FeedbackReport.case_id == case_id)).first()
    if report is None or not (report.grant.user_id == actor.id or sees_everything(actor)
                              or may_manage_entry(session, actor, report.grant.entry)):
        raise NotFound(_("No such report."))
    return report


# ---- lists ------------------------------------------------------------------------------------

def my_grants(session: Session, actor: Principal) -> list[Grant]:
    user = require_login(actor)
    return list(session.scalars(select(Grant).where(Grant.user_id == user.id)
                                .order_by(Grant.created_at.desc()).limit(MAX_LISTED)))


def grants_of_entry(session: Session, entry: CatalogEntry) -> list[Grant]:
    return list(session.scalars(select(Grant).where(Grant.entry_id == entry.id)
                                .order_by(Grant.created_at.desc()).limit(MAX_LISTED)))


def grants_of_org(session: Session, org: Organisation) -> list[Grant]:
    """Grants of the entries of ``org`` and of the bodies below it."""
    orgs = organisation_subtree(session, {org.id})
    return list(session.scalars(select(Grant).join(CatalogEntry, CatalogEntry.id == Grant.entry_id)
                                .where(CatalogEntry.provider_id.in_(orgs))
                                .order_by(CatalogEntry.name, Grant.created_at.desc()).limit(MAX_LISTED)))


def count_in_force(session: Session, entry: CatalogEntry, today: dt.date) -> int:
    return session.scalar(select(func.count()).select_from(Grant).where(
        Grant.entry_id == entry.id, Grant.status == GrantStatus.ACTIVE, Grant.valid_from <= today,
        Grant.valid_until >= today)) or 0


# ---- use of grants (LYG 25) -------------------------------------------------------------------

@dataclass(frozen=True)
class Usage:
    calls: int = 0
    downloads: int = 0
    rows: int = 0
    bytes: int = 0
    last_at: dt.datetime | None = None


def usage_of(session: Session, grant_ids: Iterable[str]) -> dict[str, Usage]:
    """What each grant received, from the access log: API calls (previews and charts included),
    downloads, rows, bytes and the last access."""
    ids = list(grant_ids)
    if not ids:
        return {}
    is_download = AccessLog.channel == Channel.DOWNLOAD.value
    stmt = (select(AccessLog.grant_id, func.sum(case((is_download, 0), else_=1)),
                   func.sum(case((is_download, 1), else_=0)), func.sum(AccessLog.rows), func.sum(AccessLog.bytes),
                   func.max(AccessLog.at))
            .where(AccessLog.grant_id.in_(ids)).group_by(AccessLog.grant_id))
    return {grant_id: Usage(int(calls or 0), int(downloads or 0), int(rows or 0), int(size or 0), last)
            for grant_id, calls, downloads, rows, size, last in session.execute(stmt)}


# ---- feedback state ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FeedbackState:
    """Where a grant stands with its usage reports."""

    required: bool
    open_report: FeedbackReport | None = None
    """The oldest report still open (owed by the grantee or waiting for the provider)."""
    last_report: FeedbackReport | None = None
    next_period_end: dt.date | None = None
    """When no report is open: the end of the running period (the report falls due after it)."""

    @property
    def owed(self) -> bool:
        return self.open_report is not None and self.open_report.case.state in OWED


def feedback_of(session: Session, grants: Sequence[Grant], today: dt.date) -> dict[str, FeedbackState]:
    ids = [g.id for g in grants if g.feedback_every_months > 0]
    reports: dict[str, list[FeedbackReport]] = {}
    if ids:
        for report in session.scalars(select(FeedbackReport).where(FeedbackReport.grant_id.in_(ids))
                                      .order_by(FeedbackReport.period_end)):
            reports.setdefault(report.grant_id, []).append(report)
    states: dict[str, FeedbackState] = {}
    for grant in grants:
        if grant.feedback_every_months <= 0:
            states[grant.id] = FeedbackState(False)
            continue
        mine = reports.get(grant.id, [])
        open_ones = [r for r in mine if r.case.is_open]
        states[grant.id] = FeedbackState(True, open_ones[0] if open_ones else None, mine[-1] if mine else None,
                                         None if open_ones else next_period_end(grant, today))
    return states


# ---- the scope in words -----------------------------------------------------------------------

def _value_words(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def filter_words(grant: Grant, titles: dict[str, str]) -> list[str]:
    """Each row condition of the grant as a phrase: “所在区 equals 海州区”."""
    words = []
    for condition in grant.row_filter or ():
        column = condition.get("column", "")
        name = titles.get(column) or column
        op, value = condition.get("op", "eq"), condition.get("value")
        if op == "isnull":
            words.append(_("%(column)s is empty", column=name) if value else
                         _("%(column)s is not empty", column=name))
        else:
            words.append(f"{name} {_(OPERATORS.get(op, op))} {_value_words(value)}")
    return words


def titles_of(entry: CatalogEntry) -> dict[str, str]:
    return {item.name: item.title or item.name for item in entry.items}


# ---- recipients of a dataset (LYG 26) ---------------------------------------------------------

@dataclass(frozen=True)
class Delivery:
    """One download: the file a recipient holds, named by its SHA-256."""

    log_id: int
    at: dt.datetime
    format: str
    rows: int
    bytes: int
    sha256: str
    complete: bool
    address: str


@dataclass
class Recipient:
    user: User | None
    grant: Grant | None
    address: str
    """The client address, for anonymous access to open data."""
    channels: set[str] = field(default_factory=set)
    first_at: dt.datetime | None = None
    last_at: dt.datetime | None = None
    calls: int = 0
    """API calls, previews and charts."""
    downloads: int = 0
    rows: int = 0
    bytes: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    """The downloads, as many as were asked for (``deliveries_limit``)."""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.user.id if self.user else "", self.grant.id if self.grant else "", self.address)

    def add(self, channel: str, calls: int, first: dt.datetime, last: dt.datetime, rows: int, size: int) -> None:
        self.channels.add(channel)
        self.first_at = first if self.first_at is None else min(self.first_at, first)
        self.last_at = last if self.last_at is None else max(self.last_at, last)
        if channel == Channel.DOWNLOAD:
            self.downloads += calls
        else:
            self.calls += calls
        self.rows += rows
        self.bytes += size


def _recipient_key(user_id: str | None, grant_id: str | None, address: str) -> tuple[str, str, str]:
    return (user_id or "", grant_id or "", "" if user_id else address)


def recipients_of(session: Session, entry: CatalogEntry, deliveries_limit: int | None = None) -> list[Recipient]:
    """Everyone who received data of the entry, by user and grant (anonymous callers by address),
    with their channels, first and last access, rows, bytes and every download; earliest first."""
    address = case((AccessLog.user_id.is_(None), AccessLog.client_ip), else_="")
    stmt = (select(AccessLog.user_id, AccessLog.grant_id, address, AccessLog.channel, func.count(),
                   func.min(AccessLog.at), func.max(AccessLog.at), func.sum(AccessLog.rows), func.sum(AccessLog.bytes))
            .where(AccessLog.entry_id == entry.id)
            .group_by(AccessLog.user_id, AccessLog.grant_id, address, AccessLog.channel))
    groups = session.execute(stmt).all()
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_({g[0] for g in groups if g[0]})))}
    grants = {g.id: g for g in session.scalars(select(Grant).where(Grant.id.in_({g[1] for g in groups if g[1]})))}
    found: dict[tuple[str, str, str], Recipient] = {}
    for user_id, grant_id, addr, channel, calls, first, last, rows, size in groups:
        key = _recipient_key(user_id, grant_id, addr or "")
        recipient = found.setdefault(key, Recipient(users.get(user_id or ""), grants.get(grant_id or ""),
                                                    key[2]))
        recipient.add(channel, int(calls), first, last, int(rows or 0), int(size or 0))
    downloads = (select(AccessLog).where(AccessLog.entry_id == entry.id, AccessLog.channel == Channel.DOWNLOAD.value)
                 .order_by(AccessLog.at, AccessLog.id))
    if deliveries_limit is not None:
        downloads = downloads.limit(deliveries_limit)
    for row in session.scalars(downloads):
        target = found.get(_recipient_key(row.user_id, row.grant_id, row.client_ip))
        if target is not None:
            target.deliveries.append(Delivery(row.id, row.at, row.format, row.rows, row.bytes, row.sha256,
                                              row.complete, row.client_ip))
    return sorted(found.values(), key=lambda r: (r.first_at or dt.datetime.max.replace(tzinfo=dt.UTC), r.key))
