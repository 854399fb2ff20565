"""Scheduled pulls (GY 10, 12): a file fetched from the agency's address, or rows read from its
database, on the entry's update frequency, through the same pipeline with the confirmed plan.

The database query must be one read-only statement (checked with sqlglot, and run in a read-only
transaction where the engine has one). Fetches stream to disk under the upload size limit.
"""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import sqlglot
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlglot import exp

from kaifang.catalog.vocab import UPDATE_INTERVAL_DAYS, UpdateFrequency
from kaifang.datasets.models import PullKind, PullSource
from kaifang.datasets.receive import too_large
from kaifang.errors import FieldErrors, KaifangError
from kaifang.i18n import N_, _
from kaifang.ingest.base import DEFAULT_BATCH_ROWS, TableReader, batch_from_rows, cell_text, clean_names

PULL_KIND_LABELS = {PullKind.URL: N_("File at a web address"), PullKind.DATABASE: N_("Database query")}
REAL_TIME_INTERVAL = dt.timedelta(hours=1)
FETCH_TIMEOUT_SECONDS = 60
CHUNK = 1 << 20
WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter, exp.Command)


class PullError(KaifangError):
    """A source that cannot be read; ``code`` is kept on the job like the ingest codes."""

    status_code = 502
    code = "pull_failed"

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": {}}


def interval(frequency: str) -> dt.timedelta | None:
    """How often an entry of this update frequency is pulled; None for irregular updates."""
    if frequency == UpdateFrequency.REAL_TIME:
        return REAL_TIME_INTERVAL
    days = next((d for f, d in UPDATE_INTERVAL_DAYS.items() if f == frequency), None)
    return dt.timedelta(days=days) if days else None


def due_sources(session: Session, now: dt.datetime) -> list[PullSource]:
    due = []
    for source in session.scalars(select(PullSource).where(PullSource.enabled.is_(True))):
        every = interval(source.entry.update_frequency)
        if every is not None and (source.last_run_at is None or source.last_run_at + every <= now):
            due.append(source)
    return due


def check_query(sql: str) -> None:
    """One SELECT (or WITH … SELECT, UNION …) that writes nothing; raises ValueError otherwise."""
    try:
        trees = [t for t in sqlglot.parse(sql) if t is not None]
    except sqlglot.errors.ParseError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
    if len(trees) != 1 or not isinstance(trees[0], exp.Query) or trees[0].find(*WRITES):
        raise ValueError("not a single read-only query")


@dataclass
class PullInput:
    kind: str
    url: str
    query: str = ""
    file_name: str = ""
    enabled: bool = True
    auto_publish: bool = False

    def validate(self) -> None:
        errors = FieldErrors()
        if self.kind == PullKind.URL:
            parts = urlsplit(self.url.strip())
            if parts.scheme not in ("http", "https") or not parts.hostname:
                errors.add("url", _("Give an http:// or https:// address."))
        elif self.kind == PullKind.DATABASE:
            self._validate_database(errors)
        else:
            errors.add("kind", _("Choose where the data comes from."))
        errors.raise_if_any()

    def _validate_database(self, errors: FieldErrors) -> None:
        try:
            make_url(self.url.strip())
        except ArgumentError:
            errors.add("url", _("Give a database address such as postgresql+psycopg://user@host/db."))
        try:
            check_query(self.query)
        except ValueError:
            errors.add("query", _("Give one SELECT query; it may not change anything."))

    def shown_address(self) -> str:
        return self.mask_address(self.kind, self.url)

    @staticmethod
    def mask_address(kind: str, url: str) -> str:
        """Database addresses are shown and logged without their password."""
        if kind != PullKind.DATABASE:
            return url
        try:
            return make_url(url).render_as_string(hide_password=True)
        except ArgumentError:
            return "?"


def download(url: str, dest: Path, limit: int) -> Path:
    """Stream ``url`` to ``dest``, refusing a body over ``limit`` bytes."""
    request = urllib.request.Request(url, headers={"User-Agent": "kaifang-pull"})  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response, dest.open("wb") as out:  # noqa: S310
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise too_large(int(declared), limit)
            size = 0
            while chunk := response.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise too_large(size, limit)
                out.write(chunk)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        dest.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise PullError(_("The address could not be fetched: %(reason)s", reason=str(reason)[:200])) from None
    return dest


class QueryReader(TableReader):
    """Rows of a query as text batches, fetched in chunks from a server-side cursor."""

    def __init__(self, url: str, query: str, batch_rows: int = DEFAULT_BATCH_ROWS) -> None:
        check_query(query)
        self.batch_rows = batch_rows
        try:
            self.engine = create_engine(url)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_read_only)
            options: dict[str, Any] = {"stream_results": True}
            if self.engine.dialect.name == "postgresql":
                options["postgresql_readonly"] = True
            self.conn = self.engine.connect().execution_options(**options)
            self.result = self.conn.execute(text(query))
        except SQLAlchemyError as exc:
            self.close()
            first_line = (str(getattr(exc, "orig", None) or exc).splitlines() or [""])[0]
            raise PullError(_("The database query failed: %(reason)s",
                              reason=f"{type(exc).__name__}: {first_line[:200]}")) from None
        super().__init__(clean_names(list(self.result.keys())),
                         {"format": "database", "dialect": self.engine.dialect.name})

    def _batches(self) -> Iterator[pa.RecordBatch]:
        while rows := self.result.fetchmany(self.batch_rows):
            yield batch_from_rows(self.columns, [[cell_text(v) for v in row] for row in rows])

    def close(self) -> None:
        for closer in ("result", "conn"):
            if hasattr(self, closer):
                getattr(self, closer).close()
        if hasattr(self, "engine"):
            self.engine.dispose()


def _sqlite_read_only(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA query_only = ON")
