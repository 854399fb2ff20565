"""Declaring a workflow: its states, the transitions each case role may take, and its clock.

Every workflow (open-list review, objection, disclosure request…) is one ``Workflow`` value
registered here; the engine in ``actions`` enforces it, so no workflow writes its own state machine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from kaifang.auth.models import Role
from kaifang.auth.permissions import Principal
from kaifang.i18n import N_
from kaifang.policy.profiles import Approver, ClockName


class CaseRole(StrEnum):
    """What an actor is with respect to one case; computed, never stored."""

    OPENER = "opener"
    ASSIGNEE = "assignee"
    PROVIDER_HEAD = "provider_head"
    AUTHORITY = "authority"
    EXPERT = "expert"
    AUDITOR = "auditor"
    ADMIN = "admin"


CASE_ROLE_LABELS = {
    CaseRole.OPENER: N_("Applicant"),
    CaseRole.ASSIGNEE: N_("Assignee"),
    CaseRole.PROVIDER_HEAD: N_("Provider head"),
    CaseRole.AUTHORITY: N_("Authority"),
    CaseRole.EXPERT: N_("Expert"),
    CaseRole.AUDITOR: N_("Auditor"),
    CaseRole.ADMIN: N_("Platform administrator"),
}

# Who approves an extension when the profile names an approver (CQ 22: the provider head; Art. 33:
# the head of the disclosure office, which is the assignee organisation of a disclosure case).
APPROVER_ROLES: dict[Approver, CaseRole] = {
    Approver.PROVIDER_HEAD: CaseRole.PROVIDER_HEAD,
    Approver.DISCLOSURE_OFFICE_HEAD: CaseRole.PROVIDER_HEAD,
}


class WorkflowError(ValueError):
    """A workflow declaration that contradicts itself; raised at import time."""


@dataclass(frozen=True)
class Transition:
    name: str
    from_states: frozenset[str]
    to_state: str
    allowed_roles: frozenset[CaseRole]
    label: str = ""
    pauses_clock: bool = False
    resumes_clock: bool = False
    # Stops the running clock: the deadline has been met (an answer was given).
    stops_clock: bool = False
    # Stops the running clock and starts this one from today (e.g. the reply clock after 补正).
    starts_clock: ClockName | None = None
    requires_reason: bool = False


def _logged_in(actor: Principal) -> bool:
    return actor.is_authenticated


@dataclass(frozen=True)
class Workflow:
    key: str
    title: str
    states: dict[str, str]  # state → label (marked with N_)
    initial: str
    final_states: frozenset[str]
    transitions: tuple[Transition, ...]
    clock: ClockName
    # Overrides the approver the profile names; None = follow the profile (APPROVER_ROLES).
    extension_approver: CaseRole | None = None
    extension_requesters: frozenset[CaseRole] = frozenset({CaseRole.ASSIGNEE})
    pause_roles: frozenset[CaseRole] = frozenset({CaseRole.ASSIGNEE})
    # The platform role whose holders share the queue when no user or organisation is assigned.
    assignee_role: Role | None = None
    # Whom the clock waits for: reminders and overdue notices go to the holders of this case role.
    # The assignee answers most cases; a case asking something of its opener (a usage report the
    # platform opens for a data user) waits for the opener.
    clock_waits_for: CaseRole = CaseRole.ASSIGNEE
    may_open: Callable[[Principal], bool] = field(default=_logged_in)
    # The owning domain's page for a case, "{id}" standing for the case id; "" = the generic case page.
    detail_path: str = ""

    def __post_init__(self) -> None:
        names = [t.name for t in self.transitions]
        problems = []
        if len(set(names)) != len(names):
            problems.append("transition names repeat")
        if self.initial not in self.states or not self.final_states <= set(self.states):
            problems.append("initial and final states must be declared states")
        for t in self.transitions:
            if not (t.from_states | {t.to_state}) <= set(self.states):
                problems.append(f"{t.name}: unknown state")
            if t.from_states & self.final_states:
                problems.append(f"{t.name}: leaves a final state")
            if not t.allowed_roles:
                problems.append(f"{t.name}: nobody may take it")
        if problems:
            raise WorkflowError(f"workflow {self.key!r}: " + "; ".join(problems))

    def transition(self, name: str) -> Transition | None:
        return next((t for t in self.transitions if t.name == name), None)

    def closes(self, transition: Transition) -> bool:
        return transition.to_state in self.final_states

    def state_label(self, state: str) -> str:
        return self.states.get(state, state)

    def approver_role(self, profile_approver: str | None) -> CaseRole | None:
        if profile_approver is None:
            return None
        return self.extension_approver or APPROVER_ROLES[Approver(profile_approver)]


_REGISTRY: dict[str, Workflow] = {}


def register(workflow: Workflow) -> Workflow:
    """Adds a workflow; registering the same declaration twice is harmless, a different one under
    a taken key is an error."""
    existing = _REGISTRY.get(workflow.key)
    if existing is not None and existing != workflow:
        raise WorkflowError(f"workflow key {workflow.key!r} is registered already")
    _REGISTRY[workflow.key] = workflow
    return workflow


def get(key: str) -> Workflow:
    try:
        return _REGISTRY[key]
    except KeyError:
        raise WorkflowError(f"no workflow {key!r}; registered: {', '.join(sorted(_REGISTRY))}") from None


def registered() -> list[Workflow]:
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def transition(name: str, from_states: str | set[str], to_state: str, roles: set[CaseRole], label: str = "",
               *, pauses_clock: bool = False, resumes_clock: bool = False, stops_clock: bool = False,
               starts_clock: ClockName | None = None, requires_reason: bool = False) -> Transition:
    """A shorter way to write a ``Transition`` in a workflow table."""
    sources = frozenset({from_states} if isinstance(from_states, str) else from_states)
    return Transition(name=name, from_states=sources, to_state=to_state, allowed_roles=frozenset(roles),
                      label=label, pauses_clock=pauses_clock, resumes_clock=resumes_clock,
                      stops_clock=stops_clock, starts_clock=starts_clock, requires_reason=requires_reason)
