"""What the provider's data pages show, gathered once for the page routes (no web imports)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.vocab import UPDATE_FREQUENCY_LABELS
from kaifang.config import Settings
from kaifang.datasets.models import (
    JOB_KIND_LABELS,
    JOB_STATUS_LABELS,
    VERSION_STATUS_LABELS,
    DatasetVersion,
    IngestJob,
    JobKind,
    JobStatus,
)
from kaifang.datasets.plans import (
    ACTION_LABELS,
    GRADE_LABELS,
    KIND_LABELS,
    LEVEL_LABELS,
    OPEN_TYPE_LABELS,
    plan_rows,
)
from kaifang.datasets.pull import PULL_KIND_LABELS, PullInput, interval
from kaifang.datasets.queries import (
    apply_jobs_of,
    current_version,
    jobs_of,
    preview,
    pull_source_of,
    versions_of,
)
from kaifang.datasets.storage import Storage
from kaifang.i18n import N_
from kaifang.ingest.errors import human_bytes

ERROR_LABELS = {
    "empty_file": N_("Empty file"), "header_only": N_("Header row only"),
    "ragged_rows": N_("Rows of different lengths"), "undecodable": N_("Unreadable characters"),
    "corrupt_xlsx": N_("Damaged spreadsheet"), "encrypted_xlsx": N_("Password-protected spreadsheet"),
    "zip_bomb": N_("Suspicious compressed spreadsheet"), "too_large": N_("File too large"),
    "line_too_long": N_("Line too long"), "corrupt_csv": N_("Damaged CSV file"),
    "corrupt_xls": N_("Damaged spreadsheet"), "corrupt_json": N_("Damaged JSON file"),
    "unsupported_format": N_("Unsupported format"), "sheet_not_found": N_("Sheet not found"),
    "too_many_columns": N_("Too many columns"), "missing_columns": N_("Declared data items missing"),
    "invalid_values": N_("Values of the wrong type"), "invalid_plan": N_("Invalid plan"),
    "interrupted": N_("Interrupted"), "internal": N_("Error on our side"),
    "pull_failed": N_("Source not reachable"), "invalid": N_("Invalid upload"),
}
STATUS_CLASS = {"queued": "", "running": "warn", "succeeded": "ok", "failed": "bad",
                "draft": "warn", "published": "ok", "superseded": "", "withdrawn": "bad"}
FORMATS = ".csv,.tsv,.txt,.xlsx,.xlsm,.xls,.json,.jsonl,.ndjson,.geojson"
VALUE_TYPE_LABELS = {
    "string": N_("Text"), "integer": N_("Integer"), "number": N_("Decimal"), "date": N_("Date"),
    "datetime": N_("Date and time"), "boolean": N_("Yes/no"), "empty": N_("Empty"),
}
LABELS = {
    "job_kind": JOB_KIND_LABELS, "job_status": JOB_STATUS_LABELS, "version_status": VERSION_STATUS_LABELS,
    "error": ERROR_LABELS, "action": ACTION_LABELS, "kind": KIND_LABELS, "level": LEVEL_LABELS,
    "grade": GRADE_LABELS, "open_type": OPEN_TYPE_LABELS, "pull_kind": PULL_KIND_LABELS,
    "frequency": UPDATE_FREQUENCY_LABELS, "value_type": VALUE_TYPE_LABELS,
}


def _common(entry: CatalogEntry) -> dict[str, Any]:
    return {"entry": entry, "labels": LABELS, "status_class": STATUS_CLASS, "human_bytes": human_bytes}


def hub(db: Session, settings: Settings, entry: CatalogEntry) -> dict[str, Any]:
    source = pull_source_of(db, entry.id)
    shown = None
    if source is not None:
        shown = {"kind": source.kind, "url": PullInput.mask_address(source.kind, source.url),
                 "query": source.query, "file_name": source.file_name, "enabled": source.enabled,
                 "auto_publish": source.auto_publish}
    return {
        **_common(entry), "versions": versions_of(db, entry), "current": current_version(db, entry.id),
        "jobs": jobs_of(db, entry), "pull": source, "pull_form": shown or {"kind": "url", "enabled": True},
        "pull_every": interval(entry.update_frequency), "max_bytes": human_bytes(settings.max_upload_bytes),
        "accept": FORMATS,
    }


def job(db: Session, job: IngestJob, proposed: dict[str, Any] | None = None) -> dict[str, Any]:
    result = job.result or {}
    context: dict[str, Any] = {**_common(job.entry), "job": job, "result": result,
                               "polling": not job.done, "applies": []}
    if job.kind == JobKind.STAGE and job.status == JobStatus.SUCCEEDED:
        columns = [name for name, _type in result.get("schema", [])]
        applies = apply_jobs_of(db, job)
        # The form starts from what was last confirmed for this upload, else from the suggestion.
        plan = proposed or (applies[0].plan if applies and applies[0].plan else result.get("suggested_plan", {}))
        context.update(rows=plan_rows(columns, result.get("detection", {}), plan),
                       kanon=plan.get("k_anonymity") or {}, applies=applies)
    return context


def version(db: Session, storage: Storage, version: DatasetVersion) -> dict[str, Any]:
    # Every column of the source, dropped ones included: the plan says what happened to each.
    columns = [found["column"] for found in version.detection.get("columns", [])]
    return {
        **_common(version.entry), "version": version, "preview": preview(storage, version),
        "plan_rows": plan_rows(columns, version.detection, version.applied_plan),
        "profile": version.profile, "current": current_version(db, version.entry_id),
    }
