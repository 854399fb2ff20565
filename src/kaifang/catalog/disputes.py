"""Ownership disputes between providers (CQ 15): the two providers negotiate; failing that the
authority mediates; failing that the government decides and the authority records the decision.

The dispute ends naming the provider that opens the resource; when it concerns a catalog entry of
the other provider, the entry moves to the owner.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kaifang.audit.actions import record
from kaifang.auth.models import Organisation
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import require_login
from kaifang.cases.actions import do_open_case, do_transition
from kaifang.cases.followers import follow
from kaifang.cases.models import Case
from kaifang.catalog.models import CatalogEntry, Dispute
from kaifang.catalog.search import index_entry
from kaifang.catalog.visibility import organisations_in_charge, sees_everything
from kaifang.catalog.workflows import DISPUTE, RESOLVED_STATES
from kaifang.config import Settings
from kaifang.db import utcnow
from kaifang.errors import FieldErrors, Forbidden, InvalidTransition, NotFound, ValidationFailed
from kaifang.i18n import _

SUBJECT = "catalog_dispute"
MAX_RESOURCE = 200
MAX_TEXT = 20_000


def _check_opening(claimant: Organisation, respondent: Organisation | None, resource: str, claim: str,
                   entry: CatalogEntry | None) -> None:
    errors = FieldErrors()
    if respondent is None or respondent.id == claimant.id:
        errors.add("respondent", _("Choose the other provider."))
    if not resource.strip():
        errors.add("resource", _("Name the data resource in dispute."))
    elif len(resource) > MAX_RESOURCE:
        errors.add("resource", _("At most %(n)s characters.", n=MAX_RESOURCE))
    if not claim.strip():
        errors.add("claim", _("Explain why your body, or the other, should open this resource."))
    elif len(claim) > MAX_TEXT:
        errors.add("claim", _("At most %(n)s characters.", n=MAX_TEXT))
    if entry is not None and respondent is not None and entry.provider_id not in (claimant.id, respondent.id):
        errors.add("entry", _("The dataset must belong to one of the two providers."))
    errors.raise_if_any()


def do_open_dispute(session: Session, settings: Settings, actor: Principal, claimant: Organisation,
                    respondent: Organisation | None, resource: str, claim: str,
                    entry: CatalogEntry | None = None) -> Dispute:
    """A provider's staff opens a dispute with another provider; negotiation starts."""
    require_login(actor)
    if claimant.id not in organisations_in_charge(session, actor):
        raise Forbidden(_("You do not have permission to do this."))
    _check_opening(claimant, respondent, resource, claim, entry)
    assert respondent is not None
    dispute = Dispute(resource=resource.strip(), claimant_org_id=claimant.id, respondent_org_id=respondent.id,
                      entry_id=entry.id if entry else None)
    session.add(dispute)
    session.flush()
    case = do_open_case(session, settings, actor, DISPUTE.key,
                        _("Ownership dispute: %(resource)s", resource=dispute.resource)[:200], claim,
                        assignee_org=respondent, subject=(SUBJECT, dispute.id))
    dispute.case_id = case.id
    record(session, actor, "catalog.dispute_open", target_type=SUBJECT, target_id=dispute.id,
           data={"case_id": case.id, "claimant": claimant.id, "respondent": respondent.id,
                 "entry_id": dispute.entry_id})
    return dispute


def do_dispute_step(session: Session, settings: Settings, actor: Principal, dispute: Dispute, step: str,
                    reason: str = "", owner_id: str = "") -> Dispute:
    """Takes one step; the steps that end the dispute name the provider that opens the resource."""
    case = session.get(Case, dispute.case_id) if dispute.case_id else None
    transition = DISPUTE.transition(step)
    if case is None or transition is None:
        raise InvalidTransition(_("This step is not possible on this dispute."))
    resolving = transition.to_state in RESOLVED_STATES
    if resolving:
        parties = {dispute.claimant_org_id, dispute.respondent_org_id}
        if owner_id not in parties:
            raise ValidationFailed.single("owner", _("Choose the provider that opens the resource."))
        dispute.owner_org_id, dispute.resolved_at = owner_id, utcnow()
    do_transition(session, settings, actor, case, step, reason)
    if resolving:
        record(session, actor, "catalog.dispute_resolve", target_type=SUBJECT, target_id=dispute.id,
               data={"case_id": case.id, "owner": owner_id, "outcome": case.state})
        _move_entry(session, actor, dispute)
    return dispute


def _move_entry(session: Session, actor: Principal, dispute: Dispute) -> None:
    entry = dispute.entry
    if entry is None or dispute.owner_org_id is None or entry.provider_id == dispute.owner_org_id:
        return
    before = entry.provider_id
    entry.provider_id, entry.submitted_by_org_id = dispute.owner_org_id, None
    session.flush()
    session.refresh(entry, ["provider"])
    index_entry(session, entry)
    record(session, actor, "catalog.transfer", target_type="catalog_entry", target_id=entry.id,
           data={"from": before, "to": dispute.owner_org_id, "dispute_id": dispute.id})


def follow_dispute_case(session: Session, actor: Principal, case: Case, state: str) -> None:
    """The generic case page cannot name the owner, so ending a dispute there is refused."""
    if state not in RESOLVED_STATES:
        return
    dispute = session.scalars(select(Dispute).where(Dispute.case_id == case.id)).first()
    if dispute is not None and dispute.owner_org_id is None:
        raise InvalidTransition(_("Record the outcome on the dispute's page, where the owner is chosen."))


follow(DISPUTE.key, follow_dispute_case)


def disputes_for(session: Session, actor: Principal) -> list[Dispute]:
    """All disputes for overseers; for providers, those their bodies are party to."""
    stmt = select(Dispute)
    if not sees_everything(actor):
        own = organisations_in_charge(session, actor)
        stmt = stmt.where(or_(Dispute.claimant_org_id.in_(own), Dispute.respondent_org_id.in_(own)))
    return list(session.scalars(stmt.order_by(Dispute.created_at.desc())))


def access_dispute(session: Session, actor: Principal, dispute_id: str) -> Dispute:
    require_login(actor)
    dispute = session.get(Dispute, dispute_id)
    if dispute is None:
        raise NotFound(_("No such dispute."))
    own = organisations_in_charge(session, actor)
    if not (sees_everything(actor) or {dispute.claimant_org_id, dispute.respondent_org_id} & own):
        raise NotFound(_("No such dispute."))
    return dispute


def disputes_of_entry(session: Session, entry: CatalogEntry) -> list[Dispute]:
    return list(session.scalars(select(Dispute).where(Dispute.entry_id == entry.id)
                                .order_by(Dispute.created_at)))
