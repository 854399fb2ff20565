"""The catalog's workflows on the one case engine: open-list review, catalog change, ownership dispute.

Clocks: no jurisdiction profile names a clock for reviewing an open list or for settling a dispute,
so both run on ``catalog_change_review`` — the authority's review period of CQ 17, the closest
statutory period for the authority acting on a provider's catalog.
"""

from __future__ import annotations

from kaifang.auth.models import Role
from kaifang.auth.permissions import Principal
from kaifang.cases.workflow import CaseRole, Workflow, register, transition
from kaifang.i18n import N_
from kaifang.policy.profiles import ClockName

OPENER, ASSIGNEE = CaseRole.OPENER, CaseRole.ASSIGNEE
AUTHORITY, EXPERT = CaseRole.AUTHORITY, CaseRole.EXPERT


def _provider_user(actor: Principal) -> bool:
    """Open-list reviews and disputes are opened by a provider's staff."""
    return actor.is_provider_user()


def _provider_or_authority(actor: Principal) -> bool:
    """A change of law may be recorded by the provider or noticed by the authority."""
    return actor.is_provider_user() or actor.has_role(Role.AUTHORITY_REVIEWER)


# Open-list review (SH 12, CQ 14, LYG 12). One case per submission: a returned entry is fixed and
# submitted again as a new case, so each case judges exactly one revision.
R_SUBMITTED, R_OPINION, R_RETURNED, R_APPROVED, R_PUBLISHED = (
    "submitted", "awaiting_opinion", "returned", "approved", "published")

REVIEW = register(Workflow(
    key="catalog_review",
    title=N_("Open list review"),
    states={R_SUBMITTED: N_("Waiting for review"), R_OPINION: N_("Waiting for an expert opinion"),
            R_RETURNED: N_("Returned to the provider"), R_APPROVED: N_("Approved, not yet published"),
            R_PUBLISHED: N_("Published")},
    initial=R_SUBMITTED,
    final_states=frozenset({R_RETURNED, R_PUBLISHED}),
    transitions=(
        # Experts assess open-type and risk questions (SH 8, CQ 10, LYG 31). The clock keeps running:
        # no article gives the authority extra time for consulting them.
        transition("request_opinion", R_SUBMITTED, R_OPINION, {AUTHORITY}, N_("Ask the experts for an opinion"),
                   requires_reason=True),
        transition("give_opinion", R_OPINION, R_SUBMITTED, {EXPERT}, N_("Give the expert opinion"),
                   requires_reason=True),
        transition("return", {R_SUBMITTED, R_OPINION}, R_RETURNED, {AUTHORITY}, N_("Return with reasons"),
                   requires_reason=True),
        transition("approve", R_SUBMITTED, R_APPROVED, {AUTHORITY}, N_("Approve"), stops_clock=True),
        transition("publish", R_APPROVED, R_PUBLISHED, {AUTHORITY}, N_("Publish")),
    ),
    clock=ClockName.CATALOG_CHANGE_REVIEW,
    # The authority's reviewers share the queue.
    assignee_role=Role.AUTHORITY_REVIEWER,
    may_open=_provider_user,
))

# Catalog change (CQ 17; GY 13 sets 15 days in the Guiyang profile). The filing clock counts from
# the day the law or the duties changed; filing starts the authority's review clock.
C_PENDING, C_REVIEW, C_APPROVED, C_REJECTED, C_CANCELLED = (
    "awaiting_filing", "under_review", "approved", "rejected", "cancelled")

CHANGE = register(Workflow(
    key="catalog_change",
    title=N_("Catalog change request"),
    states={C_PENDING: N_("Waiting for the provider to file"), C_REVIEW: N_("Under review by the authority"),
            C_APPROVED: N_("Approved and applied"), C_REJECTED: N_("Rejected"), C_CANCELLED: N_("Cancelled")},
    initial=C_PENDING,
    final_states=frozenset({C_APPROVED, C_REJECTED, C_CANCELLED}),
    transitions=(
        transition("file", C_PENDING, C_REVIEW, {ASSIGNEE}, N_("File the change"),
                   starts_clock=ClockName.CATALOG_CHANGE_REVIEW),
        transition("approve_change", C_REVIEW, C_APPROVED, {AUTHORITY}, N_("Approve and update the catalog")),
        transition("reject_change", C_REVIEW, C_REJECTED, {AUTHORITY}, N_("Reject"), requires_reason=True),
        transition("cancel", C_PENDING, C_CANCELLED, {OPENER, ASSIGNEE}, N_("Cancel"), requires_reason=True),
    ),
    clock=ClockName.CATALOG_CHANGE_FILING,
    may_open=_provider_or_authority,
))

# Ownership dispute (CQ 15): the providers negotiate; failing that the authority mediates; failing
# that the government decides and the authority records the decision.
D_NEGOTIATING, D_MEDIATING, D_GOVERNMENT = "negotiating", "mediating", "with_government"
D_AGREED, D_MEDIATED, D_DECIDED, D_WITHDRAWN = "agreed", "mediated", "decided", "withdrawn"
RESOLVED_STATES = frozenset({D_AGREED, D_MEDIATED, D_DECIDED})

DISPUTE = register(Workflow(
    key="catalog_dispute",
    title=N_("Ownership dispute"),
    states={D_NEGOTIATING: N_("Negotiating"), D_MEDIATING: N_("Mediation by the authority"),
            D_GOVERNMENT: N_("Referred to the government"), D_AGREED: N_("Settled by agreement"),
            D_MEDIATED: N_("Settled by mediation"), D_DECIDED: N_("Decided by the government"),
            D_WITHDRAWN: N_("Withdrawn")},
    initial=D_NEGOTIATING,
    final_states=frozenset({*RESOLVED_STATES, D_WITHDRAWN}),
    transitions=(
        transition("agree", D_NEGOTIATING, D_AGREED, {OPENER, ASSIGNEE}, N_("Record the agreement"),
                   requires_reason=True),
        transition("ask_mediation", D_NEGOTIATING, D_MEDIATING, {OPENER, ASSIGNEE},
                   N_("Ask the authority to mediate"), requires_reason=True,
                   starts_clock=ClockName.CATALOG_CHANGE_REVIEW),
        transition("mediate", D_MEDIATING, D_MEDIATED, {AUTHORITY}, N_("Record the mediated agreement"),
                   requires_reason=True),
        # The government's decision has no period the platform could hold it to.
        transition("refer", D_MEDIATING, D_GOVERNMENT, {AUTHORITY}, N_("Refer to the government"),
                   requires_reason=True, stops_clock=True),
        transition("record_decision", D_GOVERNMENT, D_DECIDED, {AUTHORITY}, N_("Record the government's decision"),
                   requires_reason=True),
        transition("withdraw_dispute", D_NEGOTIATING, D_WITHDRAWN, {OPENER}, N_("Withdraw the dispute")),
    ),
    clock=ClockName.CATALOG_CHANGE_REVIEW,
    may_open=_provider_user,
))

__all__ = ["CHANGE", "DISPUTE", "RESOLVED_STATES", "REVIEW"]
