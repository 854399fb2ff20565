"""“Contact the authority”: any signed-in user writes to the platform's operator and gets an answer
within the profile's ``contact_reply`` clock. The authority may ask for more information, which
stops the clock until the user supplies it."""

from __future__ import annotations

from kaifang.auth.models import Role
from kaifang.cases.workflow import CaseRole, Workflow, register, transition
from kaifang.i18n import N_
from kaifang.policy.profiles import ClockName

SUBMITTED, AWAITING_INFO, ANSWERED, CLOSED = "submitted", "awaiting_info", "answered", "closed"

CONTACT = register(Workflow(
    key="contact",
    title=N_("Contact the authority"),
    states={SUBMITTED: N_("Waiting for the answer"), AWAITING_INFO: N_("Waiting for information"),
            ANSWERED: N_("Answered"), CLOSED: N_("Closed")},
    initial=SUBMITTED,
    final_states=frozenset({CLOSED}),
    transitions=(
        transition("request_info", SUBMITTED, AWAITING_INFO, {CaseRole.AUTHORITY}, N_("Ask for more information"),
                   pauses_clock=True, requires_reason=True),
        transition("supplement", AWAITING_INFO, SUBMITTED, {CaseRole.OPENER}, N_("Supply the information"),
                   resumes_clock=True, requires_reason=True),
        transition("answer", SUBMITTED, ANSWERED, {CaseRole.AUTHORITY}, N_("Answer"),
                   stops_clock=True, requires_reason=True),
        transition("close", ANSWERED, CLOSED, {CaseRole.OPENER, CaseRole.AUTHORITY}, N_("Close the case")),
        transition("withdraw", {SUBMITTED, AWAITING_INFO}, CLOSED, {CaseRole.OPENER}, N_("Withdraw")),
    ),
    clock=ClockName.CONTACT_REPLY,
    assignee_role=Role.AUTHORITY_REVIEWER,
    pause_roles=frozenset({CaseRole.AUTHORITY}),
))
