"""Dataset versions and ingest jobs as JSON, for the entry's provider side only (others get 404).

Upload the raw file as the request body (``?filename=`` names it) or as the ``file`` field of a
multipart form; it is streamed to disk and refused with 413 as soon as it passes the size limit.
A job reports its progress, then its error (``code``, ``message``) or its result: for a check of
an upload, the detection report and the suggested plan, which is confirmed (edited or not) with
``POST …/jobs/{id}/plan``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from kaifang.auth.permissions import Principal
from kaifang.catalog.queries import access_entry_for_edit
from kaifang.config import Settings
from kaifang.datasets.actions import (
    do_confirm_plan,
    do_publish_version,
    do_retry,
    do_run_pull,
    do_save_pull_source,
    do_upload,
    do_withdraw_version,
)
from kaifang.datasets.models import DatasetVersion, IngestJob, PullSource
from kaifang.datasets.plans import parse_plan
from kaifang.datasets.pull import PullInput
from kaifang.datasets.queries import access_job, access_version, jobs_of, limits_for, pull_source_of, versions_of
from kaifang.datasets.queue import enqueue
from kaifang.datasets.receive import ReceivedFile, receive_body, remove_received
from kaifang.http.access import LOGGED_IN
from kaifang.http.deps import get_db, get_settings
from kaifang.http.errors import api_error
from kaifang.ingest import IngestError, sniff_file

router = APIRouter(prefix="/datasets/{name}", tags=["dataset versions"])
UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}}}},
}}}


class ErrorOut(BaseModel):
    code: str
    message: str
    detail: dict[str, Any] | None


class JobOut(BaseModel):
    id: str
    kind: str
    status: str
    source: dict[str, Any]
    rows_processed: int
    percent: float
    error: ErrorOut | None
    retryable: bool
    version: int | None
    stage_job_id: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class JobDetailOut(JobOut):
    result: dict[str, Any] | None = Field(description="Check of an upload: rows, schema, detection, suggested_plan, "
                                                      "validation, warnings. Version jobs: rows, sha256, warnings.")
    plan: dict[str, Any] | None


class VersionOut(BaseModel):
    number: int
    status: str
    rows: int
    size_bytes: int
    sha256: str
    created_at: dt.datetime
    published_at: dt.datetime | None


class VersionDetailOut(VersionOut):
    schema_: list[list[str]] = Field(alias="schema")
    source: dict[str, Any]
    profile: dict[str, Any]
    detection: dict[str, Any]
    applied_plan: dict[str, Any]
    report: dict[str, Any]


class PlanIn(BaseModel):
    columns: dict[str, dict[str, Any]] = Field(default_factory=dict, examples=[
        {"身份证号": {"action": "mask", "kind": "resident_id"}, "手机号": {"action": "pseudonym"}}])
    k_anonymity: dict[str, Any] | None = None


class WithdrawIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class PullIn(BaseModel):
    kind: Literal["url", "database"]
    url: str = Field(max_length=2000)
    query: str = Field(default="", max_length=20_000)
    file_name: str = Field(default="", max_length=200)
    enabled: bool = True
    auto_publish: bool = False


class PullOut(BaseModel):
    kind: str
    address: str
    query: str
    file_name: str
    enabled: bool
    auto_publish: bool
    last_run_at: dt.datetime | None


def job_out(job: IngestJob) -> JobOut:
    error = None
    if job.error_code:
        error = ErrorOut(code=job.error_code, message=job.error_message, detail=job.error_detail)
    return JobOut(id=job.id, kind=job.kind, status=job.status, source=job.source, rows_processed=job.rows_processed,
                  percent=job.percent, error=error, retryable=job.retryable,
                  version=job.version.number if job.version else None, stage_job_id=job.stage_job_id,
                  created_at=job.created_at, finished_at=job.finished_at)


def version_out(version: DatasetVersion) -> VersionOut:
    return VersionOut(number=version.number, status=version.status, rows=version.rows, size_bytes=version.size_bytes,
                      sha256=version.sha256, created_at=version.created_at, published_at=version.published_at)


def pull_out(source: PullSource) -> PullOut:
    return PullOut(kind=source.kind, address=PullInput.mask_address(source.kind, source.url), query=source.query,
                   file_name=source.file_name, enabled=source.enabled, auto_publish=source.auto_publish,
                   last_run_at=source.last_run_at)


def _accepted(settings: Settings, job: IngestJob) -> JSONResponse:
    enqueue(settings, job.id)
    return JSONResponse(job_out(job).model_dump(mode="json"), status_code=202)


def _start(db: Session, settings: Settings, actor: Principal, name: str, received: ReceivedFile) -> IngestJob:
    try:
        sniff_file(received.path, received.file_name, limits_for(settings))
        job = do_upload(db, actor, access_entry_for_edit(db, actor, name), received)
        db.commit()
    except BaseException:
        db.rollback()
        remove_received(received)
        raise
    return job


@router.post("/uploads", status_code=202, response_model=JobOut, openapi_extra=UPLOAD_BODY,
             summary="Upload a file: a job checks it and suggests a desensitisation plan")
async def upload(name: str, request: Request, filename: str | None = None, actor: Principal = Depends(LOGGED_IN),
                 db: Session = Depends(get_db), settings: Settings = Depends(get_settings)) -> Response:
    await run_in_threadpool(access_entry_for_edit, db, actor, name)
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        received = await receive_body(headers, request.stream(), Path(settings.data_dir), settings.max_upload_bytes,
                                      filename)
        job = await run_in_threadpool(_start, db, settings, actor, name, received)
    except IngestError as exc:
        return api_error(exc.status_code, str(exc.code), exc.message)
    return _accepted(settings, job)


@router.get("/jobs", response_model=list[JobOut], summary="Recent ingest jobs of the dataset, newest first")
def list_jobs(name: str, actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> list[JobOut]:
    return [job_out(j) for j in jobs_of(db, access_entry_for_edit(db, actor, name))]


@router.get("/jobs/{job_id}", response_model=JobDetailOut, summary="One job: progress, error or result")
def get_job(name: str, job_id: str, actor: Principal = Depends(LOGGED_IN),
            db: Session = Depends(get_db)) -> JobDetailOut:
    job = access_job(db, actor, name, job_id)
    return JobDetailOut(**job_out(job).model_dump(), result=job.result, plan=job.plan)


@router.post("/jobs/{job_id}/plan", status_code=202, response_model=JobOut,
             summary="Confirm the desensitisation plan of a checked upload: a job writes a draft version")
def confirm_plan(name: str, job_id: str, body: PlanIn, actor: Principal = Depends(LOGGED_IN),
                 db: Session = Depends(get_db), settings: Settings = Depends(get_settings)) -> Response:
    stage = access_job(db, actor, name, job_id)
    job = do_confirm_plan(db, settings, actor, stage, parse_plan(body.model_dump()))
    db.commit()
    return _accepted(settings, job)


@router.post("/jobs/{job_id}/retry", status_code=202, response_model=JobOut, summary="Queue a failed job again")
def retry(name: str, job_id: str, actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
          settings: Settings = Depends(get_settings)) -> Response:
    job = do_retry(db, actor, access_job(db, actor, name, job_id))
    db.commit()
    return _accepted(settings, job)


@router.get("/versions", response_model=list[VersionOut], summary="Versions of the dataset, newest first")
def list_versions(name: str, actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> list[VersionOut]:
    return [version_out(v) for v in versions_of(db, access_entry_for_edit(db, actor, name))]


@router.get("/versions/{number}", response_model=VersionDetailOut, response_model_by_alias=True,
            summary="One version: schema, profile, detection report and applied plan (no data)")
def get_version(name: str, number: int, actor: Principal = Depends(LOGGED_IN),
                db: Session = Depends(get_db)) -> VersionDetailOut:
    v = access_version(db, actor, name, number)
    return VersionDetailOut(**version_out(v).model_dump(), schema=v.schema, source=v.source, profile=v.profile,
                            detection=v.detection, applied_plan=v.applied_plan, report=v.report)


@router.post("/versions/{number}/publish", response_model=VersionOut,
             summary="Make the version current; the previous one is superseded in the same transaction")
def publish(name: str, number: int, actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> VersionOut:
    version = do_publish_version(db, actor, access_version(db, actor, name, number))
    db.commit()
    return version_out(version)


@router.post("/versions/{number}/withdraw", response_model=VersionOut, summary="Stop serving a version")
def withdraw(name: str, number: int, body: WithdrawIn, actor: Principal = Depends(LOGGED_IN),
             db: Session = Depends(get_db)) -> VersionOut:
    version = do_withdraw_version(db, actor, access_version(db, actor, name, number), body.reason)
    db.commit()
    return version_out(version)


@router.put("/pull", response_model=PullOut, summary="Set where the dataset is pulled from on its update frequency")
def save_pull(name: str, body: PullIn, actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> PullOut:
    entry = access_entry_for_edit(db, actor, name)
    source = do_save_pull_source(db, actor, entry, PullInput(**body.model_dump()))
    db.commit()
    return pull_out(source)


@router.post("/pull/run", status_code=202, response_model=JobOut, summary="Pull now")
def run_pull(name: str, actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
             settings: Settings = Depends(get_settings)) -> Response:
    entry = access_entry_for_edit(db, actor, name)
    job = do_run_pull(db, actor, entry, pull_source_of(db, entry.id))
    db.commit()
    return _accepted(settings, job)
