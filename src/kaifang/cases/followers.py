"""Other domains follow their cases' steps in the same transaction.

A catalog review case moves on through ``do_transition`` whichever page takes the step; the
catalog registers a follower here to update its entry (or to refuse a step that needs input only
its own pages collect). The engine calls followers with the acting person, so the follower's audit
events name them. The case engine imports no domain: domains register into it.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from kaifang.auth.permissions import Principal
from kaifang.cases.models import Case

Follower = Callable[[Session, Principal, Case, str], None]
# Called when the deadline job marks a case overdue (no person acts: the platform does).
OverdueFollower = Callable[[Session, Case], None]
_followers: dict[str, Follower] = {}
_overdue_followers: dict[str, OverdueFollower] = {}


def follow(workflow_key: str, follower: Follower) -> None:
    _followers[workflow_key] = follower


def follow_overdue(workflow_key: str, follower: OverdueFollower) -> None:
    _overdue_followers[workflow_key] = follower


def after_step(session: Session, actor: Principal, case: Case, new_state: str) -> None:
    follower = _followers.get(case.workflow)
    if follower is not None:
        follower(session, actor, case, new_state)


def after_overdue(session: Session, case: Case) -> None:
    follower = _overdue_followers.get(case.workflow)
    if follower is not None:
        follower(session, case)
