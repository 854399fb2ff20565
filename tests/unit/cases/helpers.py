"""Shared set-up of the case engine tests: people in every case role and two test workflows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kaifang.audit.models import AuditEvent
from kaifang.auth.models import MembershipRole, Organisation, Role, User
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import principal_for
from kaifang.cases.clocks import CHINA_TZ
from kaifang.cases.workflow import CaseRole, Workflow, register, transition
from kaifang.config import Settings
from kaifang.policy.profiles import ClockName
from tests.factories import make_org, make_user

OPENER, ASSIGNEE = CaseRole.OPENER, CaseRole.ASSIGNEE

# An objection-like workflow handled by a provider: 10 wd, extendable once with the head's approval.
PROVIDER_CASE = register(Workflow(
    key="test_provider_case", title="Test provider case",
    states={"received": "Received", "verifying": "Verifying", "waiting": "Waiting", "answered": "Answered",
            "closed": "Closed"},
    initial="received", final_states=frozenset({"closed"}),
    transitions=(
        transition("start", "received", "verifying", {ASSIGNEE}),
        transition("ask", "verifying", "waiting", {ASSIGNEE}, pauses_clock=True, requires_reason=True),
        transition("supply", "waiting", "verifying", {OPENER}, resumes_clock=True),
        transition("answer", {"received", "verifying"}, "answered", {ASSIGNEE}, stops_clock=True, requires_reason=True),
        transition("close", "answered", "closed", {OPENER, ASSIGNEE}),
        transition("withdraw", {"received", "verifying", "waiting"}, "closed", {OPENER}),
    ),
    clock=ClockName.OBJECTION_VERIFICATION,
))

# A disclosure-like workflow: its clock differs between the national and Lianyungang-guide profiles.
DISCLOSURE_CASE = register(Workflow(
    key="test_disclosure_case", title="Test disclosure case",
    states={"registered": "Registered", "supplementing": "Supplementing", "replied": "Replied"},
    initial="registered", final_states=frozenset({"replied"}),
    transitions=(
        transition("ask_supplement", "registered", "supplementing", {ASSIGNEE}, pauses_clock=True),
        # Art. 30: the reply period starts again when the supplement arrives.
        transition("supplement", "supplementing", "registered", {OPENER}, starts_clock=ClockName.DISCLOSURE_REPLY),
        transition("reply", "registered", "replied", {ASSIGNEE}),
    ),
    clock=ClockName.DISCLOSURE_REPLY,
))


@dataclass
class People:
    org: Organisation
    opener: User
    staff: User
    head: User
    reviewer: User
    auditor: User
    admin: User
    outsider: User


def make_people(session: Session, settings: Settings, prefix: str = "") -> People:
    org = make_org(session)
    people = People(
        org=org,
        opener=make_user(session, settings, f"{prefix}opener"),
        staff=make_user(session, settings, f"{prefix}staff", org=org, membership=MembershipRole.STAFF),
        head=make_user(session, settings, f"{prefix}head", org=org, membership=MembershipRole.HEAD),
        reviewer=make_user(session, settings, f"{prefix}reviewer", roles=(Role.AUTHORITY_REVIEWER,)),
        auditor=make_user(session, settings, f"{prefix}auditor", roles=(Role.AUDITOR,)),
        admin=make_user(session, settings, f"{prefix}admin", roles=(Role.PLATFORM_ADMIN,)),
        outsider=make_user(session, settings, f"{prefix}outsider"),
    )
    session.commit()
    return people


def as_actor(session: Session, user: User) -> Principal:
    return principal_for(session, user)


def at(day: dt.date, hour: int = 10) -> time_machine.travel:
    """Freezes the clock at ``hour`` o'clock Beijing time on ``day``."""
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TZ), tick=False)


def audit_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0
