"""Open-list review on the case engine: submit → (expert opinion) → return with reasons / approve →
publish; published → withdrawn → submitted again (SH 12, CQ 14, LYG 12, LYG 26).

Each submission saves an ``EntryRevision`` (what was reviewed is kept) and opens one review case.
The entry's status follows the case (``follow_review_case``), whether the authority acts on the
dataset page or on the generic case page.
"""

from __future__ import annotations

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from kaifang.audit.actions import record
from kaifang.auth.models import Role
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import require_login
from kaifang.cases.actions import do_open_case, do_transition
from kaifang.cases.followers import follow
from kaifang.cases.models import Case
from kaifang.cases.notifications import notify
from kaifang.cases.queries import users_with_role
from kaifang.catalog.actions import acting_org, save_revision
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.search import index_entry, remove_entry
from kaifang.catalog.visibility import can_edit, sees_everything, visible_clause
from kaifang.catalog.vocab import EntryStatus
from kaifang.catalog.workflows import R_APPROVED, R_OPINION, R_PUBLISHED, R_RETURNED, R_SUBMITTED, REVIEW
from kaifang.config import Settings
from kaifang.db import utcnow
from kaifang.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from kaifang.i18n import _

SUBJECT = "catalog_entry"
SUBMITTABLE = (EntryStatus.DRAFT, EntryStatus.RETURNED, EntryStatus.WITHDRAWN)
# The entry status each review state stands for.
STATUS_OF_STATE = {
    R_SUBMITTED: EntryStatus.SUBMITTED, R_OPINION: EntryStatus.SUBMITTED, R_RETURNED: EntryStatus.RETURNED,
    R_APPROVED: EntryStatus.APPROVED, R_PUBLISHED: EntryStatus.PUBLISHED,
}
AUTHORITY_STEPS = ("approve", "return", "publish", "request_opinion")
MAX_REASON = 20_000


def review_case(session: Session, entry: CatalogEntry) -> Case | None:
    return session.get(Case, entry.review_case_id) if entry.review_case_id else None


def may_follow_review(session: Session, actor: Principal, entry: CatalogEntry) -> bool:
    """Status, revisions and the review thread are shown to the provider's side and to overseers."""
    return sees_everything(actor) or can_edit(session, actor, entry)


def do_submit_entry(session: Session, settings: Settings, actor: Principal, entry: CatalogEntry,
                    note: str = "") -> Case:
    """Submits a draft, returned or withdrawn entry; a body above the provider submits for it (CQ 14)."""
    require_login(actor)
    if not can_edit(session, actor, entry):
        raise Forbidden(_("You do not have permission to do this."))
    if entry.status not in SUBMITTABLE:
        raise Conflict(_("Only drafts, returned and withdrawn entries can be submitted for review."))
    if len(note) > MAX_REASON:
        raise ValidationFailed.single("note", _("At most %(n)s characters.", n=MAX_REASON))
    entry.submitted_by_org_id = acting_org(actor, entry.provider)
    revision = save_revision(session, actor, entry)
    reference = _("Revision %(n)s of the dataset /datasets/%(name)s is submitted for review.",
                  n=revision.number, name=entry.name)
    case = do_open_case(session, settings, actor, REVIEW.key, _("Open list review: %(title)s", title=entry.title)[:200],
                        f"{note.strip()}\n\n{reference}" if note.strip() else reference,
                        subject=(SUBJECT, entry.id))
    entry.status, entry.review_case_id = EntryStatus.SUBMITTED, case.id
    record(session, actor, "catalog.submit", target_type=SUBJECT, target_id=entry.id,
           data={"case_id": case.id, "revision": revision.number,
                 "submitted_by_org_id": entry.submitted_by_org_id})
    return case


def do_review_step(session: Session, settings: Settings, actor: Principal, entry: CatalogEntry, step: str,
                   reason: str = "") -> Case:
    """The authority's steps; the engine checks the state and that the actor is the authority."""
    case = review_case(session, entry)
    if step not in AUTHORITY_STEPS or case is None or not case.is_open:
        raise InvalidTransition(_("This entry is not waiting for this step."))
    do_transition(session, settings, actor, case, step, reason)
    if step == "request_opinion":
        notify(session, settings, users_with_role(session, Role.EXPERT), case, "catalog_opinion_request", lambda: (
            _("Expert opinion requested"),
            _("The authority asks the experts for an opinion on “%(title)s”.", title=entry.title)))
    return case


def do_give_opinion(session: Session, settings: Settings, actor: Principal, entry: CatalogEntry,
                    opinion: str) -> Case:
    """An expert's opinion joins the review thread, read by the authority and the provider."""
    case = review_case(session, entry)
    if case is None or case.state != R_OPINION:
        raise InvalidTransition(_("No expert opinion is requested on this entry."))
    return do_transition(session, settings, actor, case, "give_opinion", opinion)


def do_withdraw_entry(session: Session, actor: Principal, entry: CatalogEntry, reason: str) -> CatalogEntry:
    """Takes a published entry off the open list at once, e.g. on a privacy or secret risk (LYG 26)."""
    require_login(actor)
    if not (can_edit(session, actor, entry) or actor.has_role(Role.AUTHORITY_REVIEWER)):
        raise Forbidden(_("You do not have permission to do this."))
    if entry.status != EntryStatus.PUBLISHED:
        raise Conflict(_("Only published entries can be withdrawn."))
    if not reason.strip():
        raise ValidationFailed.single("reason", _("State why the entry is withdrawn."))
    if len(reason) > MAX_REASON:
        raise ValidationFailed.single("reason", _("At most %(n)s characters.", n=MAX_REASON))
    entry.status, entry.withdrawn_at = EntryStatus.WITHDRAWN, utcnow()
    remove_entry(session, entry)
    record(session, actor, "catalog.withdraw", target_type=SUBJECT, target_id=entry.id,
           data={"name": entry.name, "reason": reason.strip()})
    return entry


def follow_review_case(session: Session, actor: Principal, case: Case, state: str) -> None:
    """Keeps the entry's status with its current review case; publication indexes it for search."""
    entry = session.get(CatalogEntry, case.subject_id) if case.subject_type == SUBJECT else None
    if entry is None or entry.review_case_id != case.id:
        return
    before = entry.status
    entry.status = STATUS_OF_STATE[state]
    if state == R_PUBLISHED:
        now = utcnow()
        entry.published_at, entry.withdrawn_at = now, None
        entry.first_published_at = entry.first_published_at or now
        index_entry(session, entry)
    record(session, actor, "catalog.status", target_type=SUBJECT, target_id=entry.id,
           data={"name": entry.name, "from": before, "to": entry.status, "case_id": case.id})


follow(REVIEW.key, follow_review_case)


def review_queue(session: Session, actor: Principal) -> list[tuple[CatalogEntry, Case]]:
    """Entries waiting for the authority (to review or to publish), the earliest due first."""
    if not actor.has_role(Role.AUTHORITY_REVIEWER):
        raise NotFound(_("No such page."))
    stmt = (select(CatalogEntry, Case).join(Case, Case.id == CatalogEntry.review_case_id)
            .where(visible_clause(session, actor), Case.closed_at.is_(None),
                   CatalogEntry.status.in_([EntryStatus.SUBMITTED, EntryStatus.APPROVED]))
            .order_by(Case.due_date, Case.opened_at))
    return [(entry, case) for entry, case in session.execute(stmt).all()]


def _opinion_requests(actor: Principal) -> Select[CatalogEntry, Case]:
    if not actor.has_role(Role.EXPERT):
        raise NotFound(_("No such page."))
    # Experts are not overseers: they see only the entries referred to them, not the whole catalog.
    return (select(CatalogEntry, Case)
            .join(Case, and_(Case.id == CatalogEntry.review_case_id, Case.state == R_OPINION))
            .order_by(Case.opened_at))


def opinion_requests(session: Session, actor: Principal) -> list[tuple[CatalogEntry, Case]]:
    """Entries on which the authority asked the experts for an opinion."""
    return [(entry, case) for entry, case in session.execute(_opinion_requests(actor)).all()]


def access_opinion_request(session: Session, actor: Principal, name: str) -> tuple[CatalogEntry, Case]:
    row = session.execute(_opinion_requests(actor).where(CatalogEntry.name == name)).first()
    if row is None:
        raise NotFound(_("No such dataset."))
    return row[0], row[1]


__all__ = ["R_APPROVED", "R_PUBLISHED", "SUBJECT", "access_opinion_request", "do_give_opinion",
           "do_review_step", "do_submit_entry", "do_withdraw_entry", "follow_review_case",
           "may_follow_review", "opinion_requests", "review_case", "review_queue"]
