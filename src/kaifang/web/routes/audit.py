"""The auditor's view of the audit trail, with filters and a chain check."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kaifang.audit.queries import AuditFilter, count_events, list_events, verify_chain
from kaifang.auth.permissions import Principal
from kaifang.http.access import READ_AUDIT
from kaifang.http.deps import get_db
from kaifang.i18n import _
from kaifang.web.templating import CHINA_TZ, render

router = APIRouter()
PAGE = 50


def _day(value: str, errors: dict[str, list[str]], field: str, end: bool = False) -> dt.datetime | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        errors.setdefault(field, []).append(_("Enter a date as YYYY-MM-DD."))
        return None
    start = dt.datetime.combine(day, dt.time(), CHINA_TZ)
    return start + dt.timedelta(days=1) if end else start


@router.get("/audit", response_class=HTMLResponse)
def audit_trail(
    request: Request, actor_q: str = "", target: str = "", action: str = "", since: str = "",
    until: str = "", before: int | None = None, verify: bool = False,
    actor: Principal = Depends(READ_AUDIT), db: Session = Depends(get_db),
) -> Response:
    errors: dict[str, list[str]] = {}
    flt = AuditFilter(actor=actor_q[:100], target=target[:100], action=action[:80],
                      since=_day(since, errors, "since"), until=_day(until, errors, "until", end=True))
    events = list_events(db, flt, before_seq=before, limit=PAGE) if not errors else []
    return render(request, "audit/list.html", {
        "events": events, "total": count_events(db, flt) if not errors else 0, "errors": errors,
        "form": {"actor_q": actor_q, "target": target, "action": action, "since": since, "until": until},
        "next_before": events[-1].seq if len(events) == PAGE else None,
        "verification": verify_chain(db) if verify else None,
    }, 422 if errors else 200)
