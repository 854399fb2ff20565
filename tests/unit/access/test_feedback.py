"""Usage feedback (LYG 24) on the case engine: reports opened by the platform when a period ends,
reminders and the overdue notice reaching the grantee, the overdue flag on the grant, the
grantee's report with files, and the provider accepting it or asking for more."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from kaifang.access.feedback import (
    ACCEPTED,
    DUE,
    FEEDBACK,
    MORE,
    SUBMITTED,
    ReportFile,
    add_months,
    do_accept_report,
    do_ask_more,
    do_submit_report,
    next_period_end,
    open_due_reports,
    report_periods,
)
from kaifang.access.grants import do_create_grant, do_revoke_grant
from kaifang.access.models import FeedbackReport, Grant
from kaifang.audit.models import AuditEvent
from kaifang.auth.models import User
from kaifang.calendar.workdays import load_calendar
from kaifang.cases.models import Case, CaseAttachment, Notification
from kaifang.cases.queries import inbox
from kaifang.cases.reminders import mark_overdue, send_reminders
from kaifang.cli import app
from kaifang.errors import InvalidTransition, ValidationFailed
from kaifang.jobs import jobs_for
from kaifang.policy.profiles import ClockName, TimeUnit, load_profile
from tests.unit.access.helpers import make_data_world, publish_entry
from tests.unit.cases.helpers import at

START = dt.date(2026, 1, 5)
HEADER = ["企业名称", "所在区", "注册资本"]
ROWS = [["甲公司", "海州区", "100"], ["乙公司", "连云区", "250"], ["丙公司", "赣榆区", "80"]]


@pytest.fixture
def world(session, settings):
    with at(START):
        world = make_data_world(session, settings)
        entry = publish_entry(session, settings, world, "companies", HEADER, ROWS, open_type="conditional",
                              types={"注册资本": "integer"})
        citizen = session.get(User, world.citizen.id)
        grant = do_create_grant(session, world.staff, entry=entry, user=citizen, columns=HEADER, row_filter=[],
                                modes=["api"], valid_from=START, valid_until=dt.date(2026, 12, 31),
                                feedback_every_months=3)
        session.commit()
    world.grant_id = grant.id
    return world


def _grant(session, world) -> Grant:
    session.expire_all()
    grant = session.get(Grant, world.grant_id)
    assert grant is not None
    return grant


def _notified(session, user_id: str, kind: str) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.kind == kind)) or 0


def _audited(session, action: str) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)) or 0


def _open_first(session, settings) -> FeedbackReport:
    day = dt.date(2026, 4, 5)
    with at(day):
        assert open_due_reports(session, settings, day) == 1
        session.commit()
    return session.scalars(select(FeedbackReport)).one()


def test_every_profile_has_the_usage_feedback_clock():
    for name in ("national", "chongqing", "guiyang", "lianyungang", "lianyungang-guide", "shanghai"):
        clock = load_profile(name).clock(ClockName.USAGE_FEEDBACK)
        assert (clock.amount, clock.unit) == (10, TimeUnit.WORKDAYS)
        assert clock.source.startswith("LYG 24")


def test_periods_follow_the_agreement_and_end_with_the_grant(world, session):
    grant = _grant(session, world)
    assert [(p.start, p.end) for p in report_periods(grant)] == [
        (dt.date(2026, 1, 5), dt.date(2026, 4, 4)), (dt.date(2026, 4, 5), dt.date(2026, 7, 4)),
        (dt.date(2026, 7, 5), dt.date(2026, 10, 4)), (dt.date(2026, 10, 5), dt.date(2026, 12, 31))]
    assert next_period_end(grant, dt.date(2026, 4, 5)) == dt.date(2026, 7, 4)
    assert next_period_end(grant, dt.date(2027, 1, 1)) is None
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)


def test_a_report_opens_once_when_its_period_has_ended(world, session, settings):
    with at(dt.date(2026, 4, 4)):
        assert open_due_reports(session, settings, dt.date(2026, 4, 4)) == 0
    report = _open_first(session, settings)
    with at(dt.date(2026, 4, 6)):
        assert open_due_reports(session, settings, dt.date(2026, 4, 6)) == 0
    case = report.case
    assert (report.period_start, report.period_end) == (dt.date(2026, 1, 5), dt.date(2026, 4, 4))
    assert case.workflow == FEEDBACK.key and case.state == DUE
    assert case.opened_by_id == world.citizen.id and case.assignee_org_id == world.provider.id
    assert case.due_date == load_calendar(session).add_workdays(dt.date(2026, 4, 5), 10).date
    assert _notified(session, world.citizen.id, "case_opened") == 1
    assert _notified(session, world.staff.id, "case_opened") == 0
    assert _audited(session, "grant.feedback_due") == 1
    # The opening is the platform's, not the grantee's.
    opening = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.open")
                              .order_by(AuditEvent.seq.desc())).first()
    assert opening is not None and opening.actor_id is None
    assert [c.id for c in inbox(session, world.citizen)] == [case.id]


def test_missed_days_catch_up_and_the_last_period_counts(world, session, settings):
    day = dt.date(2027, 1, 2)
    with at(day):
        assert open_due_reports(session, settings, day) == 4
        assert open_due_reports(session, settings, day) == 0
    ends = session.scalars(select(FeedbackReport.period_end).order_by(FeedbackReport.period_end)).all()
    assert ends[-1] == dt.date(2026, 12, 31)


def test_no_report_for_a_revoked_grant_or_a_period_before_the_grant(world, session, settings):
    with at(dt.date(2026, 5, 1)):
        entry = _grant(session, world).entry
        other = session.get(User, world.other.id)
        late = do_create_grant(session, world.staff, entry=entry, user=other, columns=HEADER, row_filter=[],
                               modes=["api"], valid_from=START, valid_until=dt.date(2026, 12, 31),
                               feedback_every_months=3)
        do_revoke_grant(session, world.staff, _grant(session, world), "违反协议")
        session.commit()
        # The grant made on 1 May owes nothing for the period that ended on 4 April.
        assert open_due_reports(session, settings, dt.date(2026, 5, 1)) == 0
    day = dt.date(2026, 7, 6)
    with at(day):
        assert open_due_reports(session, settings, day) == 1
    assert session.scalars(select(FeedbackReport.grant_id)).all() == [late.id]


def test_reminders_and_overdue_reach_the_grantee_and_flag_the_grant(world, session, settings):
    report = _open_first(session, settings)
    due = report.case.due_date
    calendar = load_calendar(session)
    three_before = next(d for d in (due - dt.timedelta(days=n) for n in range(1, 10))
                        if calendar.workdays_between(d, due) == 3)
    with at(three_before):
        assert send_reminders(session, settings, three_before) == 1
        session.commit()
    assert _notified(session, world.citizen.id, "case_reminder") == 1
    assert _notified(session, world.staff.id, "case_reminder") == 0

    after = due + dt.timedelta(days=1)
    with at(after):
        assert mark_overdue(session, settings, after) == 1
        assert mark_overdue(session, settings, after) == 0
        session.commit()
    assert _grant(session, world).feedback_overdue is True
    assert _audited(session, "grant.feedback_overdue") == 1
    assert _notified(session, world.citizen.id, "case_overdue") == 1
    # The provider's staff hear that the report is late.
    assert _notified(session, world.staff.id, "case_escalated") == 1

    with at(after):
        do_submit_report(session, settings, world.citizen, _report(session, report.id), "用于企业选址分析。")
        session.commit()
    assert _grant(session, world).feedback_overdue is False
    assert _audited(session, "grant.feedback_caught_up") == 1


def _report(session, report_id: str) -> FeedbackReport:
    session.expire_all()
    found = session.get(FeedbackReport, report_id)
    assert found is not None
    return found


def test_the_grantee_reports_and_the_provider_asks_for_more_then_accepts(world, session, settings):
    report = _open_first(session, settings)
    day = dt.date(2026, 4, 7)
    with at(day):
        with pytest.raises(InvalidTransition):
            do_submit_report(session, settings, world.staff, report, "不是我的报告")
        with pytest.raises(InvalidTransition):
            do_submit_report(session, settings, world.other, report, "不是我的报告")
        with pytest.raises(ValidationFailed) as refused:
            do_submit_report(session, settings, world.citizen, report, "   ")
        assert "report" in refused.value.fields
        with pytest.raises(InvalidTransition):
            do_accept_report(session, settings, world.staff, report)
        files = [ReportFile("成果.txt", "text/plain", io.BytesIO("选址模型成果".encode()))]
        do_submit_report(session, settings, world.citizen, report, "用于企业选址分析。", files)
        session.commit()
    report = _report(session, report.id)
    assert report.case.state == SUBMITTED and report.case.clock is None
    assert session.scalar(select(func.count()).select_from(CaseAttachment)
                          .where(CaseAttachment.case_id == report.case_id)) == 1

    later = dt.date(2026, 4, 9)
    with at(later):
        with pytest.raises(InvalidTransition):
            do_ask_more(session, settings, world.citizen, report, "自己要求补充")
        do_ask_more(session, settings, world.staff, report, "请说明使用数据的人员范围。")
        session.commit()
    report = _report(session, report.id)
    assert report.case.state == MORE
    assert report.case.due_date == load_calendar(session).add_workdays(later, 10).date
    with at(later):
        do_submit_report(session, settings, world.citizen, report, "仅本单位三名分析人员使用。")
        do_accept_report(session, settings, world.staff, _report(session, report.id), "已收悉。")
        session.commit()
    case = session.get(Case, report.case_id)
    assert case is not None and case.state == ACCEPTED and not case.is_open


def test_the_daily_job_and_the_command_open_due_reports(world, session, settings, monkeypatch):
    jobs = jobs_for(settings)
    assert "kaifang.open_feedback_reports_daily" in [
        t.name for t in jobs.huey.read_periodic(dt.datetime(2026, 4, 4, 16, 1))]
    assert jobs.open_feedback_reports.call_local("2026-04-05") == 1
    assert jobs.open_feedback_reports.call_local("2026-04-05") == 0
    for key, value in {"DATABASE_URL": settings.database_url, "DATA_DIR": str(settings.data_dir),
                       "SECRET_KEY": settings.secret_key, "ENVIRONMENT": "test"}.items():
        monkeypatch.setenv(f"KAIFANG_{key}", value)
    result = CliRunner().invoke(app, ["grants", "feedback", "--today", "2026-07-05"])
    assert result.exit_code == 0 and "opened 1 usage reports" in result.output
    assert session.scalar(select(func.count()).select_from(FeedbackReport)) == 2
