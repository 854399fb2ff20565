"""The audit chain detects edits, deletions and reordering, on SQLite and PostgreSQL."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from kaifang.audit.actions import record
from kaifang.audit.queries import AuditFilter, count_events, list_events, verify_chain
from kaifang.cli import app as cli_app
from kaifang.config import Settings


def _write_events(session: Session, n: int = 6) -> None:
    for i in range(n):
        record(session, None, f"test.action{i}", target_type="thing", target_id=str(i),
               data={"i": i, "name": "数据"})
    session.commit()


def _cli_verify(settings: Settings):
    env = {**os.environ, "KAIFANG_DATABASE_URL": settings.database_url}
    return CliRunner().invoke(cli_app, ["audit", "verify"], env=env)


def test_intact_chain_verifies(session, settings):
    _write_events(session)
    result = verify_chain(session)
    assert result.ok and result.checked == 6
    cli = _cli_verify(settings)
    assert cli.exit_code == 0, cli.output
    assert "6 events" in cli.output


def test_edited_event_is_named(session, settings):
    _write_events(session)
    session.execute(text("UPDATE audit_event SET action = 'test.forged' WHERE seq = 3"))
    session.commit()
    result = verify_chain(session)
    assert not result.ok and result.broken_seq == 3
    cli = _cli_verify(settings)
    assert cli.exit_code == 1
    assert "event 3" in cli.output


def test_edited_data_is_detected(session):
    _write_events(session)
    session.execute(text("UPDATE audit_event SET actor_label = 'someone-else' WHERE seq = 5"))
    session.commit()
    assert verify_chain(session).broken_seq == 5


def test_deleted_event_is_named(session, settings):
    _write_events(session)
    session.execute(text("DELETE FROM audit_event WHERE seq = 4"))
    session.commit()
    result = verify_chain(session)
    assert not result.ok and result.broken_seq == 4
    assert _cli_verify(settings).exit_code == 1


def test_deleted_last_event_is_detected(session):
    _write_events(session)
    session.execute(text("DELETE FROM audit_event WHERE seq = 6"))
    session.commit()
    result = verify_chain(session)
    assert not result.ok and result.broken_seq == 6


def test_reordered_events_are_detected(session, settings):
    _write_events(session)
    # Swap the contents of events 2 and 3 (keeping their sequence numbers).
    session.execute(text("UPDATE audit_event SET seq = -2 WHERE seq = 2"))
    session.execute(text("UPDATE audit_event SET seq = 2 WHERE seq = 3"))
    session.execute(text("UPDATE audit_event SET seq = 3 WHERE seq = -2"))
    session.commit()
    result = verify_chain(session)
    assert not result.ok and result.broken_seq == 2
    assert _cli_verify(settings).exit_code == 1


def test_rolled_back_action_leaves_no_event(session):
    _write_events(session, 2)
    record(session, None, "test.rolled_back")
    session.rollback()
    assert verify_chain(session).checked == 2
    record(session, None, "test.after")
    session.commit()
    assert verify_chain(session).ok


@pytest.mark.parametrize(("flt", "expected"), [
    (AuditFilter(action="test.action1"), 1),
    (AuditFilter(target="thing:2"), 1),
    (AuditFilter(target="thing"), 6),
    (AuditFilter(actor="system"), 6),
    (AuditFilter(actor="nobody"), 0),
])
def test_filters(session, flt, expected):
    _write_events(session)
    assert count_events(session, flt) == expected
    assert len(list_events(session, flt)) == expected


def test_keyset_paging_is_newest_first(session):
    _write_events(session)
    first = list_events(session, AuditFilter(), limit=4)
    rest = list_events(session, AuditFilter(), before_seq=first[-1].seq, limit=4)
    assert [e.seq for e in first + rest] == [6, 5, 4, 3, 2, 1]
