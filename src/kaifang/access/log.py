"""Writing the access log (and, for conditional data, the audit trail).

- Conditional data (LYG 21): the log row and a hash-chained audit event are written in the
  request's own transaction *before* the bytes are sent; a download is logged when it starts and
  completed with its byte count and SHA-256 when it ends (or breaks off).
- Open data: downloads as above; API calls are queued and written by a background thread in
  batches (``access_log_flush_seconds``; 0 writes at once), so logging every call of a busy API
  costs one insert per batch rather than a transaction per call. What is still queued when a
  process is killed is lost: that is the price, taken only for open data.

Each batch also adds its calls to the entries' use counts (the catalog's "most used" sort).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.orm import Session, sessionmaker

from kaifang.access.models import AccessLog
from kaifang.audit.actions import record
from kaifang.catalog.models import CatalogEntry
from kaifang.context import client_ip_var, request_id_var
from kaifang.db import utcnow

log = logging.getLogger("kaifang.access")
MAX_BATCH = 1000


@dataclass(frozen=True)
class Who:
    """The person (or nobody) receiving the data, as the audit trail names them."""

    id: str
    audit_label: str
    token_id: str | None = None


ANONYMOUS = Who("", "anonymous")


@dataclass
class Access:
    who: Who
    entry_id: str
    version_id: str
    channel: str
    action: str
    grant_id: str | None = None
    format: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    rows: int = 0
    bytes: int = 0
    sha256: str = ""
    complete: bool = True

    def values(self) -> dict[str, Any]:
        # Spelt out rather than dataclasses.asdict, whose deep copy costs more than the insert.
        return {"entry_id": self.entry_id, "version_id": self.version_id, "channel": self.channel,
                "action": self.action, "grant_id": self.grant_id, "format": self.format, "params": self.params,
                "rows": self.rows, "bytes": self.bytes, "sha256": self.sha256, "complete": self.complete,
                "user_id": self.who.id or None, "token_id": self.who.token_id, "at": utcnow(),
                "client_ip": client_ip_var.get()[:64], "request_id": request_id_var.get()[:64]}


def _audit(session: Session, access: Access, log_id: int) -> None:
    record(session, access.who if access.who.id else None, f"data.{access.action}", target_type="catalog_entry",
           target_id=access.entry_id,
           data={"access_log": log_id, "grant_id": access.grant_id, "version_id": access.version_id,
                 "channel": access.channel, "format": access.format, "rows": access.rows,
                 "bytes": access.bytes, "sha256": access.sha256, "complete": access.complete,
                 "params": access.params})


def write_now(session: Session, access: Access) -> int:
    """Logs in the caller's transaction (which commits it); audited for conditional data."""
    log_id = int(session.execute(insert(AccessLog).values(**access.values()).returning(AccessLog.id)).scalar_one())
    if access.complete:
        _count_use(session, access.entry_id, 1)
        if access.grant_id:
            _audit(session, access, log_id)
    return log_id


def _count_use(session: Session, entry_id: str, n: int) -> None:
    session.execute(update(CatalogEntry).where(CatalogEntry.id == entry_id)
                    .values(use_count=CatalogEntry.use_count + n))


def finish(session: Session, log_id: int, access: Access) -> None:
    """Completes a download's row when its last byte left (or the client broke off)."""
    session.execute(update(AccessLog).where(AccessLog.id == log_id).values(
        rows=access.rows, bytes=access.bytes, sha256=access.sha256, complete=access.complete))
    if access.grant_id:
        _audit(session, access, log_id)
    _count_use(session, access.entry_id, 1)


class AccessLogWriter:
    """Queues open-data API calls and writes them in batches from a background thread."""

    def __init__(self, factory: sessionmaker[Session], flush_seconds: float) -> None:
        self.factory, self.flush_seconds = factory, flush_seconds
        self._queue: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def later(self, access: Access) -> None:
        values = access.values()
        if self.flush_seconds <= 0:
            self._write([values])
            return
        with self._lock:
            self._queue.append(values)
            full = len(self._queue) >= MAX_BATCH
        self._start()
        if full:
            self._wake.set()

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="kf-access-log", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        for start in range(0, len(batch), MAX_BATCH):
            try:
                self._write(batch[start:start + MAX_BATCH])
            except Exception:  # the log must never take the API down with it
                log.exception("could not write %d access log rows", len(batch[start:start + MAX_BATCH]))

    def _write(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        uses = Counter(row["entry_id"] for row in rows)
        with self.factory() as session:
            # Through the connection: a plain executemany, not the ORM's bulk machinery.
            session.connection().execute(insert(AccessLog), rows)
            for entry_id, n in uses.items():
                _count_use(session, entry_id, n)
            session.commit()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
