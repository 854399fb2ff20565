"""What an actor may do on a case. Each check returns why not (in the user's language) or None;
actions raise on a refusal and pages show only what is allowed, from the same functions."""

from __future__ import annotations

from kaifang.cases.models import Case, ExtensionStatus
from kaifang.cases.workflow import CaseRole, Transition, Workflow
from kaifang.i18n import _

# Auditors and experts read; these may write into the thread.
WRITERS = frozenset({CaseRole.OPENER, CaseRole.ASSIGNEE, CaseRole.PROVIDER_HEAD, CaseRole.AUTHORITY,
                     CaseRole.ADMIN})


def allowed_transitions(workflow: Workflow, case: Case, roles: frozenset[CaseRole]) -> list[Transition]:
    return [t for t in workflow.transitions if case.state in t.from_states and roles & t.allowed_roles]


def whose_turn(workflow: Workflow, state: str) -> frozenset[CaseRole]:
    """The roles that move the case on from ``state`` (closing it early does not count)."""
    roles: set[CaseRole] = set()
    for t in workflow.transitions:
        if state in t.from_states and not workflow.closes(t):
            roles |= t.allowed_roles
    return frozenset(roles)


def refuse_posting(case: Case, roles: frozenset[CaseRole]) -> str | None:
    if not case.is_open:
        return _("The case is closed.")
    if not roles & WRITERS:
        return _("You may read this case but not write to it.")
    return None


def refuse_extension_request(workflow: Workflow, case: Case, roles: frozenset[CaseRole]) -> str | None:
    clock = case.clock
    if not case.is_open or clock is None:
        return _("The case has no running deadline.")
    if clock.extension_limit is None:
        return _("This deadline cannot be extended.")
    if clock.extension_status != ExtensionStatus.NONE:
        return _("The deadline can be extended only once.")
    if case.overdue:
        return _("An extension must be asked for before the deadline passes.")
    if not roles & workflow.extension_requesters:
        return _("Only the assignee may ask for an extension.")
    return None


def refuse_extension_decision(workflow: Workflow, case: Case, roles: frozenset[CaseRole]) -> str | None:
    clock = case.clock
    if not case.is_open or clock is None or clock.extension_status != ExtensionStatus.PENDING:
        return _("No extension is waiting for a decision.")
    approver = workflow.approver_role(clock.extension_approver)
    if approver is None or approver not in roles:
        return _("Only the approver named by the jurisdiction may decide on an extension.")
    return None


def refuse_pause(workflow: Workflow, case: Case, roles: frozenset[CaseRole], pausing: bool) -> str | None:
    clock = case.clock
    if not case.is_open or clock is None:
        return _("The case has no running deadline.")
    if not roles & workflow.pause_roles:
        return _("You may not stop or restart this case's clock.")
    if pausing and clock.open_pause is not None:
        return _("The clock is stopped already.")
    if not pausing and clock.open_pause is None:
        return _("The clock is running already.")
    return None
