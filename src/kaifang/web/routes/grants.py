"""Pages of grants: my grants, a provider's grants with their use and feedback (LYG 25) and the
steps on them (suspend, resume, revoke; LYG 40), usage reports (LYG 24), and the recipients of a
withdrawn dataset (LYG 26)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from kaifang.access.feedback import FEEDBACK, ReportFile, do_accept_report, do_ask_more, do_submit_report
from kaifang.access.grants import do_resume_grant, do_revoke_grant, do_suspend_grant
from kaifang.access.models import CHANNEL_LABELS, GRANT_STATUS_LABELS, FeedbackReport, Grant, GrantStatus
from kaifang.access.queries import (
    FeedbackState,
    Recipient,
    Usage,
    access_entry_to_manage,
    access_grant_to_manage,
    access_org_to_manage,
    access_report,
    count_in_force,
    feedback_of,
    filter_words,
    grants_of_entry,
    grants_of_org,
    may_manage_entry,
    my_grants,
    recipients_of,
    titles_of,
    usage_of,
)
from kaifang.auth.permissions import Principal
from kaifang.cases.attachments import MAX_ATTACHMENT_BYTES
from kaifang.cases.clocks import china_today
from kaifang.cases.queries import case_view, entries
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.vocab import ACCESS_MODE_LABELS, EntryStatus
from kaifang.config import Settings
from kaifang.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from kaifang.http.access import LOGGED_IN
from kaifang.http.deps import form_data, get_db, get_settings
from kaifang.i18n import N_, _
from kaifang.ingest.errors import human_bytes
from kaifang.web.templating import flash, render

router = APIRouter()

STATUS_CLASS = {GrantStatus.ACTIVE: "ok", GrantStatus.SUSPENDED: "warn", GrantStatus.REVOKED: "bad"}
STEPS: dict[str, tuple[Callable[..., Grant], str]] = {
    "suspend": (do_suspend_grant, N_("The grant is suspended: its holder can no longer receive data.")),
    "resume": (do_resume_grant, N_("The grant is in force again.")),
    "revoke": (do_revoke_grant, N_("The grant is revoked.")),
}
STEP_LABELS = {"suspend": N_("Suspend"), "resume": N_("Resume"), "revoke": N_("Revoke")}
SHOWN_DELIVERIES = 5000


@dataclass(frozen=True)
class GrantRow:
    """A grant as the lists show it."""

    grant: Grant
    columns: list[str]
    conditions: list[str]
    standing: str
    """active / suspended / revoked, or expired / pending for an active grant outside its period."""
    usage: Usage
    feedback: FeedbackState


def standing(grant: Grant, today: dt.date) -> str:
    if grant.status != GrantStatus.ACTIVE:
        return grant.status
    if grant.valid_until < today:
        return "expired"
    if grant.valid_from > today:
        return "pending"
    return "active"


STANDING_LABELS: dict[str, str] = {**{s.value: label for s, label in GRANT_STATUS_LABELS.items()},
                                   "expired": N_("Expired"), "pending": N_("Not yet in force")}
STANDING_CLASS: dict[str, str] = {**{s.value: c for s, c in STATUS_CLASS.items()}, "expired": "", "pending": "warn"}


def grant_rows(db: Session, grants: list[Grant], today: dt.date) -> list[GrantRow]:
    usage = usage_of(db, [g.id for g in grants])
    feedback = feedback_of(db, grants, today)
    rows = []
    for grant in grants:
        titles = titles_of(grant.entry)
        rows.append(GrantRow(grant, [titles.get(c, c) for c in grant.columns], filter_words(grant, titles),
                             standing(grant, today), usage.get(grant.id, Usage()), feedback[grant.id]))
    return rows


def _labels() -> dict[str, Any]:
    return {"standing_labels": STANDING_LABELS, "standing_class": STANDING_CLASS, "mode_labels": ACCESS_MODE_LABELS,
            "channel_labels": CHANNEL_LABELS, "step_labels": STEP_LABELS, "report_states": FEEDBACK.states,
            "human_bytes": human_bytes}


def panel_context(request: Request, db: Session, actor: Principal, entry: CatalogEntry) -> dict[str, Any]:
    """The grants panel of the dataset page: for the provider's side and the authority only."""
    if not actor.is_authenticated or not may_manage_entry(db, actor, entry):
        return {}
    grants = grants_of_entry(db, entry)
    if not grants and entry.status != EntryStatus.WITHDRAWN:
        return {}
    return {"grants_panel": {"in_force": count_in_force(db, entry, china_today()), "total": len(grants),
                             "overdue": sum(g.feedback_overdue for g in grants),
                             "withdrawn": entry.status == EntryStatus.WITHDRAWN}}


# ---- my grants --------------------------------------------------------------------------------

@router.get("/account/grants", response_class=HTMLResponse)
def mine(request: Request, actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> Response:
    rows = grant_rows(db, my_grants(db, actor), china_today())
    return render(request, "grants/mine.html", {"rows": rows, **_labels()})


# ---- a provider's grants ----------------------------------------------------------------------

@router.get("/organisations/{slug}/grants", response_class=HTMLResponse)
def of_organisation(slug: str, request: Request, actor: Principal = Depends(LOGGED_IN),
                    db: Session = Depends(get_db)) -> Response:
    org = access_org_to_manage(db, actor, slug)
    rows = grant_rows(db, grants_of_org(db, org), china_today())
    return render(request, "grants/list.html", {"org": org, "entry": None, "rows": rows,
                                                "here": request.url.path, **_labels()})


@router.get("/datasets/{name}/grants", response_class=HTMLResponse)
def of_dataset(name: str, request: Request, actor: Principal = Depends(LOGGED_IN),
               db: Session = Depends(get_db)) -> Response:
    entry = access_entry_to_manage(db, actor, name)
    rows = grant_rows(db, grants_of_entry(db, entry), china_today())
    return render(request, "grants/list.html", {"org": entry.provider, "entry": entry, "rows": rows,
                                                "here": request.url.path, **_labels()})


def _back(form: dict[str, str], default: str) -> str:
    target = form.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


@router.post("/grants/{grant_id}/{step}")
def change_grant(grant_id: str, step: str, request: Request, form: dict[str, str] = Depends(form_data),
                 actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> Response:
    grant = access_grant_to_manage(db, actor, grant_id)
    back = _back(form, f"/datasets/{grant.entry.name}/grants")
    if step not in STEPS:
        flash(request, _("No such step."), "error")
        return RedirectResponse(back, status_code=303)
    action, done = STEPS[step]
    try:
        action(db, actor, grant, form.get("reason", ""))
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        grant = access_grant_to_manage(db, actor, grant_id)
        rows = grant_rows(db, [grant], china_today())
        return render(request, "grants/step.html", {"row": rows[0], "step": step, "back": back, "form": form,
                                                    "errors": exc.fields, **_labels()}, 422)
    except (Conflict, Forbidden) as exc:
        db.rollback()
        flash(request, exc.message, "error")
        return RedirectResponse(back, status_code=303)
    flash(request, _(done))
    return RedirectResponse(back, status_code=303)


# ---- usage reports ----------------------------------------------------------------------------

def _report_page(request: Request, db: Session, actor: Principal, report: FeedbackReport, status: int = 200,
                 **extra: Any) -> Response:
    view = case_view(actor, report.case)
    row = grant_rows(db, [report.grant], china_today())[0]
    return render(request, "grants/report.html", {
        "report": report, "case": report.case, "row": row, "thread": entries(db, report.case),
        "steps": [t.name for t in view.transitions], "case_steps": FEEDBACK.transition,
        "max_mb": MAX_ATTACHMENT_BYTES // (1024 * 1024),
        **_labels(), **extra}, status)


@router.get("/usage-reports/{case_id}", response_class=HTMLResponse)
def report_page(case_id: str, request: Request, actor: Principal = Depends(LOGGED_IN),
                db: Session = Depends(get_db)) -> Response:
    return _report_page(request, db, actor, access_report(db, actor, case_id))


async def report_files(request: Request) -> list[UploadFile]:
    """The ``files`` of the multipart form (the CSRF check parsed it already)."""
    form = await request.form()
    return [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]


def _report_step(request: Request, db: Session, actor: Principal, case_id: str, form: dict[str, str],
                 action: Callable[[FeedbackReport], object], done: str) -> Response:
    report = access_report(db, actor, case_id)
    try:
        action(report)
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return _report_page(request, db, actor, access_report(db, actor, case_id), 422, form=form,
                            errors=exc.fields)
    except (InvalidTransition, Conflict, Forbidden) as exc:
        db.rollback()
        flash(request, exc.message, "error")
    else:
        flash(request, done)
    return RedirectResponse(f"/usage-reports/{case_id}", status_code=303)


@router.post("/usage-reports/{case_id}/submit")
def submit_report(case_id: str, request: Request, form: dict[str, str] = Depends(form_data),
                  files: list[UploadFile] = Depends(report_files), actor: Principal = Depends(LOGGED_IN),
                  db: Session = Depends(get_db), settings: Settings = Depends(get_settings)) -> Response:
    attached = [ReportFile(f.filename or "", f.content_type or "", f.file) for f in files]
    return _report_step(request, db, actor, case_id, form,
                        lambda r: do_submit_report(db, settings, actor, r, form.get("report", ""), attached),
                        _("Your report is submitted. The provider will review it."))


@router.post("/usage-reports/{case_id}/accept")
def accept_report(case_id: str, request: Request, form: dict[str, str] = Depends(form_data),
                  actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
                  settings: Settings = Depends(get_settings)) -> Response:
    return _report_step(request, db, actor, case_id, form,
                        lambda r: do_accept_report(db, settings, actor, r, form.get("reason", "")),
                        _("The report is accepted."))


@router.post("/usage-reports/{case_id}/ask-more")
def ask_more(case_id: str, request: Request, form: dict[str, str] = Depends(form_data),
             actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
             settings: Settings = Depends(get_settings)) -> Response:
    return _report_step(request, db, actor, case_id, form,
                        lambda r: do_ask_more(db, settings, actor, r, form.get("reason", "")),
                        _("The grantee is asked for more information."))


# ---- recipients of a dataset (LYG 26) ---------------------------------------------------------

@router.get("/datasets/{name}/recipients", response_class=HTMLResponse)
def recipients(name: str, request: Request, actor: Principal = Depends(LOGGED_IN),
               db: Session = Depends(get_db)) -> Response:
    entry = access_entry_to_manage(db, actor, name)
    _flush_open_data_log(request)
    found = recipients_of(db, entry, SHOWN_DELIVERIES)
    shown = sum(len(r.deliveries) for r in found)
    return render(request, "grants/recipients.html", {
        "entry": entry, "recipients": found, "truncated": shown >= SHOWN_DELIVERIES,
        "totals": {"users": len({r.user.id for r in found if r.user}),
                   "anonymous": len({r.address for r in found if not r.user}),
                   "downloads": sum(r.downloads for r in found), "bytes": sum(r.bytes for r in found)},
        **_labels()})


def _flush_open_data_log(request: Request) -> None:
    """Open-data API calls are logged in batches: write what is queued before listing."""
    writer = getattr(request.app.state, "access_log", None)
    if writer is not None:
        writer.flush()


CSV_HEADER = ("user", "display_name", "grant", "address", "channels", "first_access", "last_access", "calls",
              "downloads", "rows", "bytes", "download_log_id", "download_at", "format", "download_rows",
              "download_bytes", "sha256", "complete", "client_ip")


def _csv_lines(found: list[Recipient]) -> Iterator[bytes]:
    """One line per download (a recipient without downloads gets one line), Excel-readable UTF-8."""
    def line(values: list[object]) -> bytes:
        out = io.StringIO()
        csv.writer(out).writerow(values)
        return out.getvalue().encode("utf-8")

    yield b"\xef\xbb\xbf" + line(list(CSV_HEADER))
    for r in found:
        head: list[object] = [r.user.username if r.user else "", r.user.display_name if r.user else "",
                              r.grant.id if r.grant else "", r.address, " ".join(sorted(r.channels)),
                              r.first_at.isoformat() if r.first_at else "", r.last_at.isoformat() if r.last_at else "",
                              r.calls, r.downloads, r.rows, r.bytes]
        if not r.deliveries:
            yield line(head + [""] * 8)
        for d in r.deliveries:
            yield line([*head, d.log_id, d.at.isoformat(), d.format, d.rows, d.bytes, d.sha256,
                        "yes" if d.complete else "no", d.address])


@router.get("/datasets/{name}/recipients.csv")
def recipients_csv(name: str, request: Request, actor: Principal = Depends(LOGGED_IN),
                   db: Session = Depends(get_db)) -> Response:
    entry = access_entry_to_manage(db, actor, name)
    _flush_open_data_log(request)
    found = recipients_of(db, entry)
    disposition = f'attachment; filename="{entry.name}-recipients-{china_today().isoformat()}.csv"'
    return Response(b"".join(_csv_lines(found)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})
