"""Where one request of the rows API spends its time: the app is driven in-process, on one thread
(the threadpool hop of sync routes made inline, so that cProfile sees every frame), and the
inclusive time of each stage of the request is divided by the number of requests.

    .venv/bin/python -m bench.bench_access --rows 1000000 --profile
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import time
from collections.abc import Callable
from typing import Any

# (stage, function names as cProfile reports them: (file suffix, function)), in request order.
STAGES: list[tuple[str, list[tuple[str, str]]]] = [
    ("middleware: request id, locale, log line", [("http/middleware.py", "__call__")]),
    ("  of which the JSON log line", [("kaifang/logs.py", "format"), ("logging/__init__.py", "emit")]),
    ("session cookie (SessionMiddleware)", [("middleware/sessions.py", "__call__")]),
    ("principal (token or session)", [("http/access.py", "__call__")]),
    ("db session open and close (get_db)", [("http/deps.py", "get_db")]),
    ("rate limit and quota meter", [("http/data.py", "meter")]),
    ("access_data (the gate)", [("access/scope.py", "access_data")]),
    ("  entry lookup (SQLAlchemy)", [("access/scope.py", "_public_entry")]),
    ("  version lookup (SQLAlchemy)", [("access/scope.py", "_version")]),
    ("parse the query", [("access/query.py", "parse_rows")]),
    ("read_rows", [("access/reads.py", "read_rows")]),
    ("  DuckDB page query", [("access/engine.py", "fetchall")]),
    ("  exact total (cache or DuckDB)", [("access/reads.py", "count_rows")]),
    ("  next token", [("access/cursor.py", "encode")]),
    ("response body: dicts and orjson", [("api/data.py", "rows_body"), ("orjson", "dumps")]),
    ("access log (queued)", [("http/data.py", "record_access"), ("api/data.py", "rows_access")]),
]


def stage_times(urls: list[str], rounds: int = 3) -> str:
    """Each stage of the rows path called on its own, without a profiler: CPU and wall ms per call
    (medians of ``rounds`` passes over the URLs). Run after ``profile_rows`` set up the app."""
    from urllib.parse import parse_qsl

    import orjson

    from kaifang.access.engine import QueryEngine
    from kaifang.access.models import Channel
    from kaifang.access.query import parse_rows
    from kaifang.access.reads import RowsPage, read_rows
    from kaifang.access.scope import access_data
    from kaifang.auth.permissions import Principal
    from kaifang.cases.clocks import china_today
    from kaifang.config import Settings
    from kaifang.datasets.storage import storage_for
    from kaifang.db import make_engine, make_session_factory, utcnow
    from kaifang.http.ratelimit import ApiMeter

    settings = Settings()
    factory = make_session_factory(make_engine(settings.database_url))
    engine, meter, nobody = QueryEngine(settings, storage_for(settings)), ApiMeter(settings), Principal.anonymous()
    queries = [parse_qsl(u.split("?", 1)[1]) for u in urls]

    def gate(_i: int) -> Any:
        with factory() as session:
            return access_data(session, settings, nobody, "register", Channel.API, today=china_today())

    scope = gate(0)
    parsed = [parse_rows(q, scope.by_name, default_limit=100, max_limit=1000) for q in queries]
    pages: list[RowsPage] = [read_rows(engine, settings.secret_key, scope, p) for p in parsed]
    stages: list[tuple[str, Callable[[int], Any]]] = [
        ("rate limit and quota meter (ApiMeter.hit)", lambda i: meter.hit(None, None, "127.0.0.1", utcnow())),
        ("session + access_data (entry, version, columns)", gate),
        ("parse_rows", lambda i: parse_rows(queries[i], scope.by_name, default_limit=100, max_limit=1000)),
        ("read_rows: DuckDB page + cached total", lambda i: read_rows(engine, settings.secret_key, scope, parsed[i])),
        ("body: records() + orjson", lambda i: orjson.dumps({"rows": pages[i].records(), "total": pages[i].total})),
    ]
    lines = ["stages called on their own, no profiler (median of passes over the mix; ms per call):"]
    for label, stage in stages:
        cpu_runs, wall_runs = [], []
        for _ in range(rounds):
            started, cpu = time.perf_counter(), time.process_time()
            for i in range(len(urls)):
                stage(i)
            wall_runs.append((time.perf_counter() - started) * 1000 / len(urls))
            cpu_runs.append((time.process_time() - cpu) * 1000 / len(urls))
        cpu_ms, wall_ms = sorted(cpu_runs)[rounds // 2], sorted(wall_runs)[rounds // 2]
        lines.append(f"  {label:<50} CPU {cpu_ms:6.2f}  wall {wall_ms:6.2f}")
    engine.close()
    return "\n".join(lines)


def export_stages() -> str:
    """The full CSV export without HTTP, one stage added at a time (DuckDB's Arrow batches, the cast
    to the served types, formula neutralisation, CSV writing, the SHA-256 meter): MB/s of each."""
    from kaifang.access.downloads import RowCounter, arrow_schema, parse_download
    from kaifang.access.engine import QueryEngine
    from kaifang.access.exports import Meter, csv_stream
    from kaifang.access.models import Channel
    from kaifang.access.scope import access_data
    from kaifang.access.sql import compile_export
    from kaifang.auth.permissions import Principal
    from kaifang.cases.clocks import china_today
    from kaifang.config import Settings
    from kaifang.datasets.export import export_batches
    from kaifang.datasets.storage import storage_for
    from kaifang.db import make_engine, make_session_factory

    settings = Settings()
    engine = QueryEngine(settings, storage_for(settings))
    with make_session_factory(make_engine(settings.database_url))() as session:
        scope = access_data(session, settings, Principal.anonymous(), "register", Channel.DOWNLOAD,
                            today=china_today())
    wanted = parse_download("csv", [], scope)
    compiled = compile_export(scope.spec(engine.alias(scope.version)), wanted.fields, (), ())
    schema = arrow_schema(scope, wanted.fields)

    def batches() -> Any:
        return engine.batches(compiled)

    def cast() -> Any:
        return RowCounter().cast(batches(), schema)

    def as_csv() -> Any:
        return csv_stream(cast(), wanted.fields)

    size = sum(len(chunk) for chunk in as_csv())
    stages: list[tuple[str, Callable[[], Any]]] = [
        ("DuckDB → Arrow batches", batches), ("+ cast to served types", cast),
        ("+ neutralise formulas", lambda: export_batches(cast())), ("+ CSV writing (= csv_stream)", as_csv),
        ("+ SHA-256 and byte count (Meter)", lambda: Meter().wrap(as_csv())),
    ]
    lines = [f"CSV export stages in-process, {size / 1e6:.0f} MB of CSV (MB/s of that size; CPU s, all threads):"]
    for label, make in stages:
        started, cpu = time.perf_counter(), time.process_time()
        for _ in make():
            pass
        seconds = time.perf_counter() - started
        lines.append(f"  {label:<36} {seconds:6.2f} s  {size / seconds / 1e6:6.0f} MB/s  CPU "
                     f"{time.process_time() - cpu:6.2f} s")
    engine.close()
    return "\n".join(lines)


def _inclusive(stats: pstats.Stats, wanted: list[tuple[str, str]]) -> float:
    total = 0.0
    for (file, _line, name), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if any(file.endswith(suffix) and name == fn for suffix, fn in wanted) or \
                any(suffix == "orjson" and "orjson" in name and fn in name for suffix, fn in wanted):
            total += ct
    return total


def _asgi_get(app: Any, path: str, query: str) -> Callable[[], Any]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"127.0.0.1"), (b"user-agent", b"bench")], "client": ("127.0.0.1", 50000),
             "server": ("127.0.0.1", 80)}

    async def call() -> int:
        status = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(dict(scope), receive, send)
        return status

    return call


def profile_rows(env: dict[str, str], urls: list[str], requests: int) -> str:
    """The per-request breakdown of ``requests`` GETs cycling through ``urls`` (path?query)."""
    import anyio.to_thread

    os.environ.update(env)
    os.environ["KAIFANG_LOG_JSON"] = "true"

    async def inline(func: Callable[..., Any], *args: Any, **_kw: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = inline  # type: ignore[assignment]
    from kaifang.app import create_app
    from kaifang.config import Settings

    app = create_app(Settings())
    devnull = open(os.devnull, "w")  # noqa: SIM115 - the log lines are formatted and written, not kept
    import logging

    for handler in logging.getLogger().handlers:
        handler.setStream(devnull)  # type: ignore[attr-defined]
    calls = [_asgi_get(app, *u.split("?", 1)) for u in urls]
    loop = asyncio.new_event_loop()
    for call in calls * 2:  # warm: replica attached, totals cached, code paths hot
        assert loop.run_until_complete(call()) == 200
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(requests):
        loop.run_until_complete(calls[i % len(calls)]())
    plain = (time.perf_counter() - started, time.process_time() - cpu)
    profiler = cProfile.Profile()
    started, cpu = time.perf_counter(), time.process_time()
    profiler.enable()
    for i in range(requests):
        loop.run_until_complete(calls[i % len(calls)]())
    profiler.disable()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    stats = pstats.Stats(profiler)
    per = 1000 / requests
    lines = [f"{requests} requests in-process, one thread: {plain[0] * per:.2f} ms wall, {plain[1] * per:.2f} ms CPU "
             f"per request; under cProfile {wall * per:.2f} ms wall, {cpu * per:.2f} ms CPU (profiling adds its "
             "own overhead to Python code: read the shares)"]
    total = _inclusive(stats, [("http/middleware.py", "__call__")]) or 1.0
    for stage, wanted in STAGES:
        ms = _inclusive(stats, wanted) * per
        lines.append(f"  {stage:<44} {ms:6.2f} ms  {100 * ms / (total * per):5.1f} %")
    lines.append("top functions by own time:")
    stats.sort_stats("tottime")
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:15]  # type: ignore[attr-defined]
    for (file, line, name), (_cc, nc, tt, _ct, _callers) in rows:
        lines.append(f"  {tt * per:6.3f} ms  {nc // requests:4d}×  {name} ({file.rsplit('/', 2)[-1]}:{line})")
    loop.close()
    return "\n".join(lines)


# Categories of py-spy samples of a server under load: the deepest frame naming one wins.
SPY_CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("DuckDB page query", ("read_rows (kaifang/access/reads.py",)),
    ("  watchdog lock (per query)", ("Watchdog.watch", "Watchdog.done")),
    ("exact total", ("count_rows (",)),
    ("access_data: entry lookup", ("_public_entry (",)),
    ("access_data: version lookup", ("_version (kaifang/access/scope.py",)),
    ("access_data: rest", ("access_data (",)),
    ("new SQLite connections (pool overflow, PRAGMAs)", ("_sqlite_pragmas", "_ConnectionRecord.__init__")),
    ("principal (token or session)", ("resolve_principal", "Access.__call__")),
    ("rate limit meter", ("meter (kaifang/http/data.py", "ApiMeter.hit")),
    ("access log", ("record_access (", "AccessLogWriter", "rows_access (")),
    ("parse the query", ("parse_rows (",)),
    ("response body", ("rows_body (", "RowsPage.records", "field_dicts")),
    ("request log line", ("kaifang/logs.py", "StreamHandler.emit")),
    ("db session close", ("get_db (", "Session.close")),
    ("threadpool hand-off (anyio)", ("run_sync_in_worker_thread", "to_thread.py")),
    ("FastAPI / Starlette / uvicorn", ("fastapi/", "starlette/", "uvicorn/", "anyio/")),
]
IDLE_LEAVES = ("Condition.wait", "Event.wait", "Queue.get", "select (selectors")


def pyspy_breakdown(raw: str) -> str:
    """Shares of the busy samples of a ``py-spy record --format raw`` file, by category."""
    from collections import Counter

    shares: Counter[str] = Counter()
    idle = 0
    for line in raw.splitlines():
        stack, _sep, count = line.rpartition(" ")
        frames = stack.split(";")
        if not stack or frames[-1].startswith(IDLE_LEAVES):
            idle += int(count or 0)
            continue
        if frames[-1].startswith("Runner.run (asyncio"):  # uvloop's own C code: sockets, or waiting
            shares["event loop in C (uvloop: I/O or idle)"] += int(count)
            continue
        category = next((name for frame in reversed(frames) for name, marks in SPY_CATEGORIES
                         if any(mark in frame for mark in marks)), "other")
        shares[category] += int(count)
    busy = sum(shares.values()) or 1
    lines = [f"py-spy samples of the server under load: {busy} busy, {idle} idle (threads waiting); "
             "shares of the busy ones:"]
    lines += [f"  {100 * n / busy:5.1f} %  {name}" for name, n in shares.most_common()]
    return "\n".join(lines)
