"""Chinese working days: the State Council schedule (chinesecalendar) plus an administrator table.

Imports no other domain; domains that keep due dates subscribe to ``on_calendar_changed``.
"""

from kaifang.calendar.hooks import on_calendar_changed

__all__ = ["on_calendar_changed"]
