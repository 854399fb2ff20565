"""The provider's data pages: upload a file, follow the job, confirm the desensitisation plan,
check and publish versions, set up scheduled pulls.

Only the entry's provider side (``can_edit``) reaches them; to everyone else they do not exist.
Uploads are streamed to disk (``kaifang.datasets.receive``): the page sends them with htmx, whose
``X-CSRF-Token`` header lets the CSRF check pass without reading the body first.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from kaifang.auth.permissions import Principal
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.queries import access_entry_for_edit
from kaifang.config import Settings
from kaifang.datasets import views
from kaifang.datasets.actions import (
    do_confirm_plan,
    do_publish_version,
    do_retry,
    do_run_pull,
    do_save_pull_source,
    do_upload,
    do_withdraw_version,
)
from kaifang.datasets.models import IngestJob
from kaifang.datasets.plans import parse_plan, plan_from_form
from kaifang.datasets.pull import PullInput
from kaifang.datasets.queries import access_job, access_version, limits_for, pull_source_of
from kaifang.datasets.queue import enqueue
from kaifang.datasets.receive import (
    FILE_FIELD,
    ReceivedFile,
    UploadSink,
    check_declared_length,
    receive_body,
    remove_received,
)
from kaifang.datasets.storage import storage_for
from kaifang.errors import Conflict, KaifangError, ValidationFailed
from kaifang.http.access import LOGGED_IN
from kaifang.http.deps import get_db, get_settings
from kaifang.i18n import _
from kaifang.ingest import IngestError, sniff_file
from kaifang.web.templating import flash, render

router = APIRouter()
log = logging.getLogger("kaifang.web.uploads")
CHUNK = 1 << 20


async def full_form(request: Request) -> FormData:
    return await request.form()


def _see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _hub_page(request: Request, db: Session, settings: Settings, entry: CatalogEntry, status: int = 200,
              **extra: Any) -> Response:
    return render(request, "uploads/hub.html", {**views.hub(db, settings, entry), **extra}, status)


@router.get("/datasets/{name}/versions", response_class=HTMLResponse)
def hub(name: str, request: Request, actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
        settings: Settings = Depends(get_settings)) -> Response:
    return _hub_page(request, db, settings, access_entry_for_edit(db, actor, name))


async def _receive(request: Request, settings: Settings) -> ReceivedFile:
    headers = {k.lower(): v for k, v in request.headers.items()}
    form = headers.get("content-type", "").startswith("multipart/form-data")
    if form and "x-csrf-token" not in headers:
        # Without scripts the CSRF check has read the form already (Starlette spooled the file
        # to a temporary file); copy it over, still counting.
        return await _from_parsed_form(request, settings)
    return await receive_body(headers, request.stream(), Path(settings.data_dir), settings.max_upload_bytes,
                              request.query_params.get("filename"))


async def _from_parsed_form(request: Request, settings: Settings) -> ReceivedFile:
    check_declared_length(request.headers.get("content-length"), settings.max_upload_bytes, form=True)
    upload = (await request.form()).get(FILE_FIELD)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise ValidationFailed.single(FILE_FIELD, _("Choose a file to upload."))
    sink = UploadSink(Path(settings.data_dir), settings.max_upload_bytes)
    try:
        while chunk := await upload.read(CHUNK):
            sink.write(chunk)
        if not sink.size:
            raise IngestError("empty_file", _("The file is empty."))
        return sink.finish(upload.filename, {})
    except BaseException:
        sink.abort()
        raise


def _start_job(db: Session, settings: Settings, actor: Principal, entry: CatalogEntry,
               received: ReceivedFile) -> IngestJob:
    try:
        # Cheap checks now (format, encoding, password, size): the provider hears at once.
        sniff_file(received.path, received.file_name, limits_for(settings))
        job = do_upload(db, actor, entry, received)
        db.commit()
    except BaseException:
        db.rollback()
        remove_received(received)
        raise
    queue(settings, job.id)
    return job


def queue(settings: Settings, job_id: str) -> None:
    try:
        enqueue(settings, job_id)
    except Exception:  # the hourly sweep queues it again; the job row is committed
        log.exception("could not queue ingest job %s", job_id)


@router.post("/datasets/{name}/uploads")
async def upload(name: str, request: Request, actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
                 settings: Settings = Depends(get_settings)) -> Response:
    entry = await run_in_threadpool(access_entry_for_edit, db, actor, name)
    htmx = request.headers.get("hx-request") == "true"
    try:
        received = await _receive(request, settings)
        job = await run_in_threadpool(_start_job, db, settings, actor, entry, received)
    except (IngestError, ValidationFailed) as exc:
        message = exc.message if isinstance(exc, IngestError) else " ".join(exc.fields.get(FILE_FIELD, [exc.message]))
        code = str(exc.code) if isinstance(exc, IngestError) else "invalid"
        if htmx:
            return render(request, "uploads/_upload_error.html",
                          {"message": message, "code": code, "labels": views.LABELS}, exc.status_code)
        return await run_in_threadpool(_hub_page, request, db, settings, entry, exc.status_code,
                                       upload_error=message, upload_code=code)
    target = f"/datasets/{name}/jobs/{job.id}"
    if htmx:
        return Response(status_code=204, headers={"HX-Redirect": target})
    return _see(target)


@router.get("/datasets/{name}/jobs/{job_id}", response_class=HTMLResponse)
def job_page(name: str, job_id: str, request: Request, actor: Principal = Depends(LOGGED_IN),
             db: Session = Depends(get_db)) -> Response:
    job = access_job(db, actor, name, job_id)
    return render(request, "uploads/job.html", views.job(db, job))


@router.get("/datasets/{name}/jobs/{job_id}/progress", response_class=HTMLResponse)
def job_progress(name: str, job_id: str, request: Request, actor: Principal = Depends(LOGGED_IN),
                 db: Session = Depends(get_db)) -> Response:
    job = access_job(db, actor, name, job_id)
    response = render(request, "uploads/_progress.html", views.job(db, job))
    if job.done:
        response.headers["HX-Refresh"] = "true"  # the finished page shows the report or the error
    return response


@router.post("/datasets/{name}/jobs/{job_id}/plan")
def confirm_plan(name: str, job_id: str, request: Request, form: FormData = Depends(full_form),
                 actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
                 settings: Settings = Depends(get_settings)) -> Response:
    stage = access_job(db, actor, name, job_id)
    columns = [column for column, _type in (stage.result or {}).get("schema", [])]
    text = {k: v for k, v in form.items() if isinstance(v, str)}
    quasi = [v for v in form.getlist("kanon-qi") if isinstance(v, str) and v in columns]
    proposed = plan_from_form(columns, text, quasi)
    try:
        job = do_confirm_plan(db, settings, actor, stage, parse_plan(proposed))
        db.commit()
    except (ValidationFailed, Conflict) as exc:
        db.rollback()
        errors = exc.fields if isinstance(exc, ValidationFailed) else {"plan": [exc.message]}
        context = views.job(db, stage, proposed=proposed)
        return render(request, "uploads/job.html", {**context, "errors": errors}, exc.status_code)
    queue(settings, job.id)
    return _see(f"/datasets/{name}/jobs/{job.id}")


@router.post("/datasets/{name}/jobs/{job_id}/retry")
def retry(name: str, job_id: str, request: Request, actor: Principal = Depends(LOGGED_IN),
          db: Session = Depends(get_db), settings: Settings = Depends(get_settings)) -> Response:
    job = access_job(db, actor, name, job_id)
    if not _attempt(request, db, lambda: do_retry(db, actor, job)):
        return _see(f"/datasets/{name}/jobs/{job_id}")
    queue(settings, job.id)
    flash(request, _("The job is queued again."))
    return _see(f"/datasets/{name}/jobs/{job_id}")


def _attempt(request: Request, db: Session, action: Any) -> bool:
    """Run one write and commit it, or flash why it cannot be done."""
    try:
        action()
        db.commit()
    except KaifangError as exc:
        db.rollback()
        message = " ".join(" ".join(m) for m in exc.fields.values()) if isinstance(exc, ValidationFailed) \
            else exc.message
        flash(request, message, "error")
        return False
    return True


@router.get("/datasets/{name}/versions/{number}", response_class=HTMLResponse)
def version_page(name: str, number: int, request: Request, actor: Principal = Depends(LOGGED_IN),
                 db: Session = Depends(get_db), settings: Settings = Depends(get_settings)) -> Response:
    version = access_version(db, actor, name, number)
    return render(request, "uploads/version.html", views.version(db, storage_for(settings), version))


@router.post("/datasets/{name}/versions/{number}/publish")
def publish(name: str, number: int, request: Request, actor: Principal = Depends(LOGGED_IN),
            db: Session = Depends(get_db)) -> Response:
    version = access_version(db, actor, name, number)
    if _attempt(request, db, lambda: do_publish_version(db, actor, version)):
        flash(request, _("Version %(number)s is now the current version.", number=number))
    return _see(f"/datasets/{name}/versions/{number}")


@router.post("/datasets/{name}/versions/{number}/withdraw")
def withdraw(name: str, number: int, request: Request, form: FormData = Depends(full_form),
             actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> Response:
    version = access_version(db, actor, name, number)
    reason = str(form.get("reason") or "")
    if _attempt(request, db, lambda: do_withdraw_version(db, actor, version, reason)):
        flash(request, _("Version %(number)s is withdrawn.", number=number))
    return _see(f"/datasets/{name}/versions/{number}")


@router.post("/datasets/{name}/pull")
def save_pull(name: str, request: Request, form: FormData = Depends(full_form),
              actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
              settings: Settings = Depends(get_settings)) -> Response:
    entry = access_entry_for_edit(db, actor, name)
    data = PullInput(kind=str(form.get("kind") or ""), url=str(form.get("url") or ""),
                     query=str(form.get("query") or ""), file_name=str(form.get("file_name") or ""),
                     enabled=form.get("enabled") == "1", auto_publish=form.get("auto_publish") == "1")
    try:
        do_save_pull_source(db, actor, entry, data)
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        shown = {"kind": data.kind, "url": data.shown_address() if data.kind == "database" else data.url,
                 "query": data.query, "file_name": data.file_name}
        return _hub_page(request, db, settings, entry, 422, errors=exc.fields, pull_form=shown)
    flash(request, _("The pull source is saved."))
    return _see(f"/datasets/{name}/versions#pull")


@router.post("/datasets/{name}/pull/run")
def run_pull(name: str, request: Request, actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
             settings: Settings = Depends(get_settings)) -> Response:
    entry = access_entry_for_edit(db, actor, name)
    jobs: list[IngestJob] = []
    if not _attempt(request, db, lambda: jobs.append(do_run_pull(db, actor, entry, pull_source_of(db, entry.id)))):
        return _see(f"/datasets/{name}/versions#pull")
    queue(settings, jobs[0].id)
    return _see(f"/datasets/{name}/jobs/{jobs[0].id}")
