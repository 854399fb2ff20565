"""The one case engine: every workflow (open-list review, catalog change, dispute, conditional
application, objection, demand, disclosure request, output review) is a declared ``Workflow`` run
by the same actions, clocks, thread, notifications and deadline jobs.

Importing the package registers the shipped workflows and subscribes to calendar changes, so open
cases are counted again whenever the administrator edits the holiday table.
"""

from kaifang.calendar.hooks import on_calendar_changed
from kaifang.cases import workflows
from kaifang.cases.clocks import recompute_open_cases

if recompute_open_cases not in on_calendar_changed:
    on_calendar_changed.append(recompute_open_cases)

__all__ = ["workflows"]
