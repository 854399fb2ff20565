"""Lists derived from the open catalog: each provider's responsibility list (CQ 16), the annual
focus (SH 10) and the periodic assessment of data not yet opened (CQ 18)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kaifang.audit.actions import record
from kaifang.auth.models import Organisation, Role
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import require_login
from kaifang.cases.clocks import CHINA_TZ, china_today
from kaifang.catalog.models import CatalogEntry, NonOpenReview
from kaifang.catalog.visibility import (
    can_edit,
    organisations_in_charge,
    public_clause,
    sees_everything,
    visible_clause,
)
from kaifang.catalog.vocab import UPDATE_INTERVAL_DAYS, OpenType, UpdateFrequency
from kaifang.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kaifang.i18n import _

# No article fixes how often data not yet opened is assessed (CQ 18 says "periodically"); once a
# year matches the annual focus cycle (SH 10).
NON_OPEN_REVIEW_DAYS = 365
MAX_NOTE = 5_000


@dataclass(frozen=True)
class Duty:
    """One line of a provider's responsibility list: what it must open and whether it is on time."""

    entry: CatalogEntry
    last_update: dt.date | None
    next_due: dt.date | None

    @property
    def late(self) -> bool:
        return self.next_due is not None and china_today() > self.next_due


def _duty(entry: CatalogEntry) -> Duty:
    # Dataset versions are not recorded yet, so the last publication of the entry stands for the
    # last update of its data; real-time and irregular data have no due date.
    last = entry.published_at.astimezone(CHINA_TZ).date() if entry.published_at else None
    days = UPDATE_INTERVAL_DAYS.get(UpdateFrequency(entry.update_frequency)) if entry.update_frequency else None
    return Duty(entry, last, last + dt.timedelta(days=days) if last and days else None)


def _may_see_duties(session: Session, actor: Principal, provider: Organisation) -> bool:
    return sees_everything(actor) or provider.id in organisations_in_charge(session, actor)


def responsibility_list(session: Session, actor: Principal, provider: Organisation) -> list[Duty]:
    """CQ 16: the provider's share of the published open catalog."""
    if not _may_see_duties(session, actor, provider):
        raise NotFound(_("No such organisation."))
    stmt = select(CatalogEntry).where(public_clause(), CatalogEntry.provider_id == provider.id)
    return [_duty(e) for e in session.scalars(stmt.order_by(CatalogEntry.title))]


def providers_with_duties(session: Session, actor: Principal) -> list[tuple[Organisation, list[Duty]]]:
    """Every provider the actor may follow, with its duties (providers without any are left out)."""
    require_login(actor)
    stmt = select(CatalogEntry).where(public_clause())
    if not sees_everything(actor):
        stmt = stmt.where(CatalogEntry.provider_id.in_(organisations_in_charge(session, actor)))
    grouped: dict[str, list[Duty]] = {}
    providers: dict[str, Organisation] = {}
    for entry in session.scalars(stmt.order_by(CatalogEntry.title)):
        grouped.setdefault(entry.provider_id, []).append(_duty(entry))
        providers[entry.provider_id] = entry.provider
    return sorted(((providers[k], v) for k, v in grouped.items()), key=lambda pair: pair[0].name)


def focus_entries(session: Session, actor: Principal) -> list[CatalogEntry]:
    """SH 10: the year's focus, as far as the actor may see it (the public: published entries)."""
    stmt = select(CatalogEntry).where(visible_clause(session, actor), CatalogEntry.annual_focus.is_(True))
    return list(session.scalars(stmt.order_by(CatalogEntry.provider_id, CatalogEntry.title)))


@dataclass(frozen=True)
class NotOpenRow:
    entry: CatalogEntry
    last: NonOpenReview | None

    @property
    def review_due(self) -> bool:
        return self.last is None or (china_today() - self.last.reviewed_on).days >= NON_OPEN_REVIEW_DAYS


def _may_assess(session: Session, actor: Principal, entry: CatalogEntry) -> bool:
    # CQ 18: the provider assesses, under the authority's guidance.
    return actor.has_role(Role.AUTHORITY_REVIEWER) or can_edit(session, actor, entry)


def not_open_entries(session: Session, actor: Principal) -> list[NotOpenRow]:
    """Entries not yet opened, with their last assessment: all for overseers, own for providers."""
    if not (sees_everything(actor) or actor.is_provider_user()):
        raise NotFound(_("No such page."))
    stmt = select(CatalogEntry).where(visible_clause(session, actor), CatalogEntry.open_type == OpenType.NON_OPEN)
    if not sees_everything(actor):
        own = organisations_in_charge(session, actor)
        stmt = stmt.where(or_(CatalogEntry.provider_id.in_(own), CatalogEntry.submitted_by_org_id.in_(own)))
    entries = list(session.scalars(stmt.order_by(CatalogEntry.title)))
    last: dict[str, NonOpenReview] = {}
    reviews = select(NonOpenReview).where(NonOpenReview.entry_id.in_([e.id for e in entries]))
    for review in session.scalars(reviews.order_by(NonOpenReview.reviewed_on, NonOpenReview.created_at)):
        last[review.entry_id] = review
    rows = [NotOpenRow(e, last.get(e.id)) for e in entries]
    return sorted(rows, key=lambda r: (not r.review_due, r.last.reviewed_on if r.last else dt.date.min))


def do_record_nonopen_review(session: Session, actor: Principal, entry: CatalogEntry, note: str) -> NonOpenReview:
    """Records today's assessment of an entry not yet opened (CQ 18)."""
    user = require_login(actor)
    if not _may_assess(session, actor, entry):
        raise Forbidden(_("You do not have permission to do this."))
    if entry.open_type != OpenType.NON_OPEN:
        raise Conflict(_("Only entries that are not open are assessed this way."))
    if len(note) > MAX_NOTE:
        raise ValidationFailed.single("note", _("At most %(n)s characters.", n=MAX_NOTE))
    review = NonOpenReview(entry_id=entry.id, reviewed_on=china_today(), note=note.strip(), reviewer_id=user.id)
    session.add(review)
    session.flush()
    record(session, actor, "catalog.nonopen_review", target_type="catalog_entry", target_id=entry.id,
           data={"reviewed_on": review.reviewed_on.isoformat(), "note": review.note})
    return review
