"""The application for conditional data as a workflow of the case engine (CQ 24, LYG 19).

    submitted ⇄ awaiting_info          the provider asks, the applicant supplements (clock paused)
    submitted → rejected                with reasons or legal basis
    submitted → signing                 approved with conditions; the agreement is generated
    signing → authority_review          both parties accepted, where the authority reviews (CQ 24)
    signing | authority_review → granted      the grant takes effect
    authority_review → agreement_rejected     the authority refuses: no access
    any open state → withdrawn          by the applicant

The evaluation clock (``application_evaluation``, LYG 19: 10 working days) runs from receipt
until the provider decides. Steps that need input only the application pages collect (the scope,
the acceptances) are refused by the follower in ``actions`` when taken elsewhere.
"""

from __future__ import annotations

from kaifang.auth.permissions import Principal
from kaifang.cases.workflow import CaseRole, Workflow, register, transition
from kaifang.i18n import N_
from kaifang.policy.profiles import ClockName

OPENER, ASSIGNEE, AUTHORITY = CaseRole.OPENER, CaseRole.ASSIGNEE, CaseRole.AUTHORITY

SUBMITTED, AWAITING_INFO, SIGNING, AUTHORITY_REVIEW = "submitted", "awaiting_info", "signing", "authority_review"
GRANTED, REJECTED, AGREEMENT_REJECTED, WITHDRAWN = "granted", "rejected", "agreement_rejected", "withdrawn"
OPEN_STATES = {SUBMITTED, AWAITING_INFO, SIGNING, AUTHORITY_REVIEW}
# The states in which the provider still owes its answer (LYG 19).
EVALUATING = {SUBMITTED, AWAITING_INFO}


def _verified(actor: Principal) -> bool:
    """Only identity-verified data users apply (CQ 23)."""
    return actor.is_verified


APPLICATION = register(Workflow(
    key="data_application",
    title=N_("Application for conditional data"),
    states={SUBMITTED: N_("Waiting for evaluation"), AWAITING_INFO: N_("Waiting for more information"),
            SIGNING: N_("Approved, agreement to be accepted"),
            AUTHORITY_REVIEW: N_("Agreement under review by the authority"), GRANTED: N_("Access granted"),
            REJECTED: N_("Rejected"), AGREEMENT_REJECTED: N_("Agreement not approved by the authority"),
            WITHDRAWN: N_("Withdrawn")},
    initial=SUBMITTED,
    final_states=frozenset({GRANTED, REJECTED, AGREEMENT_REJECTED, WITHDRAWN}),
    transitions=(
        transition("ask_info", SUBMITTED, AWAITING_INFO, {ASSIGNEE}, N_("Ask for more information"),
                   pauses_clock=True, requires_reason=True),
        transition("supplement", AWAITING_INFO, SUBMITTED, {OPENER}, N_("Supply the information"),
                   resumes_clock=True, requires_reason=True),
        transition("reject", EVALUATING, REJECTED, {ASSIGNEE}, N_("Reject with reasons"), requires_reason=True),
        transition("approve", SUBMITTED, SIGNING, {ASSIGNEE}, N_("Approve with conditions"), stops_clock=True),
        transition("submit_review", SIGNING, AUTHORITY_REVIEW, {OPENER, ASSIGNEE},
                   N_("Send the agreement to the authority for review")),
        transition("grant", SIGNING, GRANTED, {OPENER, ASSIGNEE}, N_("Open the data as agreed")),
        transition("approve_agreement", AUTHORITY_REVIEW, GRANTED, {AUTHORITY}, N_("Approve the agreement")),
        transition("reject_agreement", AUTHORITY_REVIEW, AGREEMENT_REJECTED, {AUTHORITY},
                   N_("Do not approve the agreement"), requires_reason=True),
        transition("withdraw", OPEN_STATES, WITHDRAWN, {OPENER}, N_("Withdraw the application")),
    ),
    clock=ClockName.APPLICATION_EVALUATION,
    may_open=_verified,
    detail_path="/applications/{id}",
))

__all__ = ["AGREEMENT_REJECTED", "APPLICATION", "AUTHORITY_REVIEW", "AWAITING_INFO", "EVALUATING", "GRANTED",
           "OPEN_STATES", "REJECTED", "SIGNING", "SUBMITTED", "WITHDRAWN"]
