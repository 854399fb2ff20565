"""The authority's compliance view: per provider, applications not evaluated in time and grants whose
usage feedback is overdue; only overseers see it."""

from __future__ import annotations

import pytest

from kaifang.applications.queries import compliance
from kaifang.errors import NotFound
from tests.unit.applications.helpers import overdue_world


def test_overdue_applications_and_feedback_are_listed_per_provider(session, settings):
    world, _entry, late, grant = overdue_world(session, settings)
    assert late.case.overdue and late.case.state == "submitted"
    assert grant.feedback_overdue
    [row] = compliance(session, world.reviewer)
    assert row.provider.id == world.provider.id and row.problems == 2
    assert [a.id for a in row.overdue_open] == [late.id] and row.answered_late == []
    assert [g.id for g in row.feedback_overdue] == [grant.id]
    for outsider in (world.staff, world.citizen):
        with pytest.raises(NotFound):
            compliance(session, outsider)
