"""Data access over a 1M-row enterprise register, against Datasette on the same data in the same run.

Targets (DESIGN.md): a filtered 100-row page with exact total at 16 concurrent clients ≥ 10×
Datasette's ``_shape=array&_nocount=1``; page 1000 (keyset) within 1.5× of page 1; GROUP BY
through the API p50 ≤ 30 ms; the full CSV export ≥ 100 MB/s with constant memory.

The register (fixed seed, ~190 MB) is ingested once through the real pipeline into a migrated
SQLite database, and loaded once with sqlite-utils for Datasette; both are kept in bench/data/.
Our server is ``kaifang serve`` (1 and 2 uvicorn workers, each a process of its own), Datasette
runs as ``datasette serve -i``; wrk (Debian package ``wrk``) is the load generator, driven by
bench/access_wrk.lua over one fixed list of filtered queries for every system.

    .venv/bin/python -m bench.run bench_access
    .venv/bin/python -m bench.bench_access --rows 100000 --seconds 5 --repeat 1
    .venv/bin/python -m bench.bench_access --only paging --only groupby
    .venv/bin/python -m bench.bench_access --profile          # where one request's time goes
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import httpx

from bench.access_data import (
    CAPITALS,
    DATA,
    DISTRICTS,
    ENTRY,
    INDUSTRIES,
    STATUSES,
    datasette_db,
    generate,
    load_datasette,
    load_platform,
    peer_tool,
    platform_env,
)
from bench.access_servers import RssSampler, Server, curl_download, datasette, ours, require_tools, wrk

PARTS = ("throughput", "paging", "groupby", "export")  # and "pyspy", with --py-spy
OURS_ROWS = f"/api/v1/datasets/{ENTRY}/rows"
DS_TABLE = f"/{ENTRY}/{ENTRY}.json"
Cond = tuple[str, str, str]  # column, operator, value

# ---- the query mixes ------------------------------------------------------------------------------


def fixed_mix(size: int = 160) -> list[list[Cond]]:
    """Filtered queries as people ask them: a district, a status (drawn as often as it occurs), an
    industry, a founding year, a capital range — in combinations, from a fixed seed."""
    rng = random.Random(7)
    districts = [d[0] for d in DISTRICTS]
    industries = [i[0] for i in INDUSTRIES]
    status_names, status_weights = [s[0] for s in STATUSES], [s[1] for s in STATUSES]

    def status() -> str:
        return rng.choices(status_names, status_weights)[0]

    shapes: list[Callable[[], list[Cond]]] = [
        lambda: [("所在区", "eq", rng.choice(districts)), ("登记状态", "eq", status())],
        lambda: [("所在区", "eq", rng.choice(districts)), ("登记状态", "eq", status()),
                 ("行业", "eq", rng.choice(industries[:8]))],
        lambda: [("行业", "eq", rng.choice(industries)), ("注册资本", "gte", rng.choice(CAPITALS[3:]))],
        lambda: [("所在区", "eq", rng.choice(districts)),
                 *_year(rng.randint(2000, 2024))],
        lambda: [("登记状态", "eq", status()), ("注册资本", "gte", rng.choice(CAPITALS[:4])),
                 ("注册资本", "lt", rng.choice(CAPITALS[5:]))],
        lambda: [("所在区", "eq", rng.choice(districts))],
    ]
    return [rng.choice(shapes)() for _ in range(size)]


def _year(year: int) -> list[Cond]:
    return [("成立日期", "gte", f"{year}-01-01"), ("成立日期", "lt", f"{year + 1}-01-01")]


def ours_query(conds: Sequence[Cond], total: bool = True) -> str:
    params = [(c if op == "eq" else f"{c}__{op}", v) for c, op, v in conds] + [("limit", "100")]
    return urlencode(params + ([("total", "true")] if total else []))


def datasette_query(conds: Sequence[Cond]) -> str:
    params = [(f"{c}__exact" if op == "eq" else f"{c}__{op}", v) for c, op, v in conds]
    return urlencode([*params, ("_shape", "array"), ("_nocount", "1"), ("_size", "100")])


def distinct_suffix(index: int) -> str:
    """A minimum capital made unique per request by wrk ("{n}": 8 digits after the point), so that
    every total is counted afresh; it selects the rows the round number (0, 10, 50, 100) would."""
    return f"&{quote('注册资本__gte')}={('0', '10', '50', '100')[index % 4]}.{{n}}"


def write_mixes(mix: list[list[Cond]]) -> dict[str, Path]:
    no_capital = [q for q in mix if not any(c == "注册资本" for c, _op, _v in q)]
    mixes = {
        "ours_total": [f"{OURS_ROWS}?{ours_query(q)}" for q in mix],
        "ours_no_total": [f"{OURS_ROWS}?{ours_query(q, total=False)}" for q in mix],
        "ours_distinct": [f"{OURS_ROWS}?{ours_query(q)}{distinct_suffix(i)}" for i, q in enumerate(no_capital)],
        "datasette": [f"{DS_TABLE}?{datasette_query(q)}" for q in mix],
        "datasette_distinct": [f"{DS_TABLE}?{datasette_query(q)}{distinct_suffix(i)}"
                               for i, q in enumerate(no_capital)],
    }
    files = {}
    for name, lines in mixes.items():
        files[name] = DATA / f"mix-{name}.txt"
        files[name].write_text("\n".join(lines) + "\n", encoding="ascii")
    return files


# ---- measuring helpers --------------------------------------------------------------------------

def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the processes (all their threads) so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / os.sysconf("SC_CLK_TCK")


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def warm(base: str, paths: Path, passes: int) -> None:
    """Every path of a mix ``passes`` times over 16 connections (each uvicorn worker has its own
    totals cache: several passes make it likely that every worker has seen every query)."""
    urls = [base + line for line in paths.read_text().split()] * passes
    with httpx.Client(timeout=120) as client, ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda u: client.get(u).status_code, urls))
    if set(statuses) != {200}:
        raise RuntimeError(f"warm-up of {paths.name}: statuses {sorted(set(statuses))}")


class Log:
    """Keeps every load average seen, so the report can say how busy the machine was."""

    loads: list[float] = []  # noqa: RUF012 - one run per process

    @classmethod
    def note(cls, text: str) -> None:
        cls.loads.append(load_average())
        print(f"  [{time.strftime('%H:%M:%S')} load {cls.loads[-1]:.2f}] {text}", flush=True)


# ---- 1. throughput -------------------------------------------------------------------------------

def throughput(servers: dict[str, Server], files: dict[str, Path], args: argparse.Namespace) -> None:
    ds = servers["datasette"]
    ours_servers = [s for name, s in servers.items() if name not in ("datasette", "1w-engine")]
    runs = [("Datasette, fixed mix", ds, "datasette", False)]
    for server in ours_servers:
        runs += [(f"ours {server.label}, fixed mix, total", server, "ours_total", False)]
    runs += [("Datasette, distinct mix", ds, "datasette_distinct", True)]
    for server in ours_servers:
        runs += [(f"ours {server.label}, distinct mix, total", server, "ours_distinct", True),
                 (f"ours {server.label}, fixed mix, no total", server, "ours_no_total", False)]
    Log.note("warm-up: every query of the fixed mixes several times, then wrk on each mix")
    warm(ds.base, files["datasette"], 1)
    for server in ours_servers:
        workers = int(server.label.split("w")[0])
        warm(server.base, files["ours_total"], 2 * workers + 1)
    salt = 0
    for _label, server, mix, distinct in runs:
        salt += 1_000_000
        wrk(server.base, files[mix], args.warmup, args.connections, salt if distinct else 0)
    results: dict[str, list[dict[str, Any]]] = {label: [] for label, *_ in runs}
    for rep in range(args.repeat):  # interleaved: a busy moment of the machine hits every line alike
        for label, server, mix, distinct in runs:
            salt += 1_000_000
            pids = server.pids()
            cpu = cpu_seconds(pids)
            result = wrk(server.base, files[mix], args.seconds, args.connections, salt if distinct else 0)
            result["cpu_ms"] = 1000 * (cpu_seconds(pids) - cpu) / max(1, result["requests"])
            result["load"] = load_average()
            results[label].append(result)
            Log.note(f"run {rep + 1}: {label}: {result['rps']:.1f} req/s, p50 {result['p50_ms']:.1f} ms, "
                     f"p95 {result['p95_ms']:.1f} ms, server CPU {result['cpu_ms']:.1f} ms/req, "
                     f"non-2xx {result['non_2xx']}")
    report_throughput(results, args)


def report_throughput(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    def med(label: str, key: str) -> float:
        return statistics.median(r[key] for r in results[label])

    base = {False: med("Datasette, fixed mix", "rps"), True: med("Datasette, distinct mix", "rps")}
    print(f"\n1. Filtered 100-row pages, {args.connections} clients (wrk), {args.seconds:g} s per run, median of "
          f"{args.repeat} interleaved runs (each run's req/s in brackets)")
    print("| system and mix | req/s | × Datasette (same mix) | p50 ms | p95 ms | server CPU ms/req | KB/resp |")
    print("|---|---|---|---|---|---|---|")
    for label, rs in results.items():
        rps = med(label, "rps")
        ratio = rps / base["distinct" in label]
        each = ", ".join(f"{r['rps']:.0f}" for r in rs)
        size = sum(r["bytes"] for r in rs) / max(1, sum(r["requests"] for r in rs)) / 1024
        bad = sum(r["non_2xx"] + r["timeouts"] for r in rs)
        errors = f" {bad} errors" if bad else ""
        print(f"| {label} | {rps:.1f} ({each}) | {ratio:.2f}× | {med(label, 'p50_ms'):.1f} | "
              f"{med(label, 'p95_ms'):.1f} | {med(label, 'cpu_ms'):.2f} | {size:.1f} |{errors}")


# ---- 2. deep pages -------------------------------------------------------------------------------

def _get(client: httpx.Client, url: str) -> tuple[float, Any]:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed, response


def walk(client: httpx.Client, url: str, pages: int, next_of: Callable[[Any], str | None]) -> tuple[str, float]:
    """The URL of page ``pages``, reached by following each page's next link; and the seconds."""
    started = time.perf_counter()
    for _ in range(pages - 1):
        following = next_of(client.get(url).json())
        if following is None:
            raise RuntimeError(f"fewer than {pages} pages at {url}")
        url = following
    return url, time.perf_counter() - started


def _token(url: str, name: str) -> str:
    return dict(parse_qsl(urlsplit(url).query))[name]


def paging(servers: dict[str, Server], args: argparse.Namespace) -> None:
    ours1, ds = servers[args.latency_server], servers["datasette"]
    filtered = urlencode([("登记状态", "存续")])
    # label, our query, Datasette's (walking Datasette's sorted pages, a full sort each, is left out)
    ds_filtered = urlencode([("登记状态__exact", "存续")])
    cases = [("no filter", "limit=100", "_size=100&_nocount=1"),
             ("登记状态=存续", f"{filtered}&limit=100", f"{ds_filtered}&_size=100&_nocount=1"),
             ("登记状态=存续, sort=-注册资本", f"{filtered}&sort=-{quote('注册资本')}&limit=100", "")]
    pages = args.deep_page
    timed: list[tuple[str, str, str]] = []  # label, page 1 URL, deep page URL
    with httpx.Client(timeout=120) as client:
        for label, ours_q, ds_q in cases:
            first = f"{ours1.base}{OURS_ROWS}?{ours_q}"
            deep, seconds = walk(client, first, pages, lambda body: body["next_url"])
            Log.note(f"ours: walked {pages} pages of {label} in {seconds:.1f} s")
            timed.append((f"ours {ours1.label}: {label}", first, f"{first}&next={_token(deep, 'next')}"))
            if ds_q:
                first = f"{ds.base}{DS_TABLE}?{ds_q}"
                deep, seconds = walk(client, first, pages, lambda body: body.get("next_url"))
                Log.note(f"Datasette: walked {pages} pages of {label} in {seconds:.1f} s")
                array = f"{first}&_shape=array"
                timed.append((f"Datasette: {label} (_next)", array, f"{array}&_next={_token(deep, '_next')}"))
        offset_sql = "select rowid, * from {t} where 登记状态 = '存续' limit 100 offset {o}"
        sql_url = f"{ds.base}/{ENTRY}.json?_shape=array&sql="
        timed.append(("Datasette SQL: 登记状态=存续, LIMIT/OFFSET (CKAN style)",
                      sql_url + quote(offset_sql.format(t=ENTRY, o=0)),
                      sql_url + quote(offset_sql.format(t=ENTRY, o=(pages - 1) * 100))))
        samples: dict[str, tuple[list[float], list[float]]] = {label: ([], []) for label, *_ in timed}
        for _round in range(args.repeat):
            for label, first, deep in timed:
                for _ in range(args.paging_samples):
                    samples[label][0].append(_get(client, first)[0])
                    samples[label][1].append(_get(client, deep)[0])
        Log.note("paging timed")
    print(f"\n2. Page 1 against page {pages} (100 rows a page, keyset tokens found by walking), one client, "
          f"{args.repeat * args.paging_samples} alternating requests of each")
    print(f"| query | page 1 p50 ms | page 1 p95 | page {pages} p50 ms | page {pages} p95 | ratio of p50s |")
    print("|---|---|---|---|---|---|")
    for label, (first_ms, deep_ms) in samples.items():
        ratio = statistics.median(deep_ms) / statistics.median(first_ms)
        print(f"| {label} | {statistics.median(first_ms):.2f} | {percentile(first_ms, 0.95):.2f} | "
              f"{statistics.median(deep_ms):.2f} | {percentile(deep_ms, 0.95):.2f} | {ratio:.2f}× |")


# ---- 3. GROUP BY ---------------------------------------------------------------------------------

GROUP_BYS: list[tuple[list[tuple[str, str]], str]] = [  # our parameters, the same in SQL
    ([("group_by", "所在区"), ("measures", "count,avg:注册资本")],
     'select "所在区", count(*) as "count", avg("注册资本") as "avg:注册资本" from {t} group by 1 order by 1'),
    ([("group_by", "行业"), ("measures", "count,sum:注册资本")],
     'select "行业", count(*) as "count", sum("注册资本") as "sum:注册资本" from {t} group by 1 order by 1'),
    ([("group_by", "所在区,登记状态"), ("measures", "count")],
     'select "所在区", "登记状态", count(*) as "count" from {t} group by 1, 2 order by 1, 2'),
    ([("group_by", "登记状态"), ("measures", "count,min:成立日期,max:成立日期")],
     'select "登记状态", count(*) as "count", min("成立日期") as "min:成立日期", max("成立日期") as '
     '"max:成立日期" from {t} group by 1 order by 1'),
    ([("group_by", "行业"), ("measures", "count,avg:注册资本"), ("所在区", "渝中区")],
     'select "行业", count(*) as "count", avg("注册资本") as "avg:注册资本" from {t} where "所在区" = \'渝中区\' '
     'group by 1 order by 1'),
]


def groupby(servers: dict[str, Server], args: argparse.Namespace) -> None:
    ours1, ds = servers[args.latency_server], servers["datasette"]
    timed = []
    for params, sql in GROUP_BYS:
        label = "&".join(f"{k}={v}" for k, v in params)
        timed.append((label, f"{ours1.base}/api/v1/datasets/{ENTRY}/aggregate?{urlencode(params)}",
                      f"{ds.base}/{ENTRY}.json?{urlencode([('sql', sql.format(t=ENTRY)), ('_shape', 'array')])}"))
    ours_ms: dict[str, list[float]] = {label: [] for label, *_ in timed}
    ds_ms: dict[str, list[float]] = {label: [] for label, *_ in timed}
    with httpx.Client(timeout=120) as client:
        for label, ours_url, ds_url in timed:  # warm-up, and the two must agree on the groups
            ours_rows, ds_rows = _get(client, ours_url)[1].json()["rows"], _get(client, ds_url)[1].json()
            if len(ours_rows) != len(ds_rows):
                raise RuntimeError(f"{label}: {len(ours_rows)} groups here, {len(ds_rows)} in Datasette")
        for _round in range(args.repeat):
            for label, ours_url, ds_url in timed:
                ours_ms[label] += [_get(client, ours_url)[0] for _ in range(args.groupby_samples)]
                ds_ms[label].append(_get(client, ds_url)[0])
        Log.note("GROUP BY timed")
    print(f"\n3. GROUP BY over {args.rows:,} rows through the API (one client; ours {args.repeat}×"
          f"{args.groupby_samples} requests a query, Datasette's SQL endpoint {args.repeat})")
    print("| aggregate | ours p50 ms | ours p95 | Datasette SQL p50 ms | Datasette p95 |")
    print("|---|---|---|---|---|")
    for label, samples in ours_ms.items():
        print(f"| `{label}` | {statistics.median(samples):.1f} | {percentile(samples, 0.95):.1f} | "
              f"{statistics.median(ds_ms[label]):.0f} | {percentile(ds_ms[label], 0.95):.0f} |")
    every = [ms for samples in ours_ms.values() for ms in samples]
    every_ds = [ms for samples in ds_ms.values() for ms in samples]
    print(f"| all five | **{statistics.median(every):.1f}** | {percentile(every, 0.95):.1f} | "
          f"{statistics.median(every_ds):.0f} | {percentile(every_ds, 0.95):.0f} |")


# ---- 4. CSV export -------------------------------------------------------------------------------

def export(servers: dict[str, Server], args: argparse.Namespace) -> None:
    ours1, ds = servers[args.latency_server], servers["datasette"]
    targets = [(f"ours {ours1.label}: download.csv", ours1, f"{ours1.base}/api/v1/datasets/{ENTRY}/download.csv"),
               ("Datasette: .csv?_stream=on", ds, f"{ds.base}/{ENTRY}/{ENTRY}.csv?_stream=on&_size=max")]
    runs: dict[str, list[tuple[int, float, float, tuple[float, float, float]]]] = {t[0]: [] for t in targets}
    for _round in range(args.repeat):
        for label, server, url in targets:
            with RssSampler(server.pids()) as rss:
                size, seconds, first = curl_download(url)
            runs[label].append((size, seconds, first, rss.busiest()))
            Log.note(f"{label}: {size / 1e6:.0f} MB in {seconds:.2f} s")
    print(f"\n4. Full CSV export of {args.rows:,} rows over HTTP (curl to /dev/null), {args.repeat} interleaved "
          "runs; resident memory of the serving process before / peak / after, from /proc")
    print("| export | MB | s (median) | MB/s (each run) | first byte s | RSS MB before → peak → after, each run |")
    print("|---|---|---|---|---|---|")
    for label, rs in runs.items():
        seconds = statistics.median(r[1] for r in rs)
        size = rs[0][0]
        each = ", ".join(f"{size / r[1] / 1e6:.0f}" for r in rs)
        memory = "; ".join(f"{r[3][0]:.0f} → {r[3][1]:.0f} → {r[3][2]:.0f}" for r in rs)
        print(f"| {label} | {size / 1e6:.0f} | {seconds:.2f} | **{size / seconds / 1e6:.0f}** ({each}) | "
              f"{statistics.median(r[2] for r in rs):.3f} | {memory} |")


# ---- py-spy under load ---------------------------------------------------------------------------

def pyspy(servers: dict[str, Server], files: dict[str, Path], args: argparse.Namespace) -> None:
    """wrk on the fixed mix (with total) against our first server while py-spy samples it: every
    Python thread (where the threads are, waiting for the GIL included), then only the thread
    holding the GIL (the Python work that one process does one request at a time)."""
    from bench.access_profile import pyspy_breakdown

    server = servers[args.latency_server]
    pid = server.pids()[-1]  # the worker (the only process with one worker)
    seconds = max(5.0, args.seconds)
    warm(server.base, files["ours_total"], 3)  # totals cached, and the start-up work done
    print(f"\n5. Our server {server.label} under the fixed mix (with total), sampled by py-spy")
    for gil in (False, True):
        out = DATA / f"pyspy-rows{'-gil' if gil else ''}.txt"
        command = [args.py_spy, "record", "--pid", str(pid), "--duration", f"{seconds - 2:.0f}", "--rate", "200",
                   "--format", "raw", "-o", str(out), *(["--gil"] if gil else [])]
        spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1)
        result = wrk(server.base, files["ours_total"], seconds, args.connections)
        _stdout, stderr = spy.communicate(timeout=60)
        if spy.returncode:
            raise RuntimeError(f"py-spy failed: {stderr.decode()[-500:]}")
        Log.note(f"py-spy{' --gil' if gil else ''}: {result['rps']:.1f} req/s while sampled; stacks in {out.name}")
        print(("only the thread holding the GIL — " if gil else "all Python threads — ") +
              pyspy_breakdown(out.read_text()))


# ---- the run -------------------------------------------------------------------------------------

def versions() -> str:
    import duckdb
    import fastapi
    import uvicorn

    def tool(name: str) -> str:
        out = subprocess.run([str(peer_tool(name)), "--version"], capture_output=True, text=True, check=False)
        return out.stdout.strip()

    peer_sqlite = subprocess.run([str(peer_tool("python")), "-c", "import sqlite3; print(sqlite3.sqlite_version)"],
                                 capture_output=True, text=True, check=False).stdout.strip()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    memory = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout.split("\n")[1]
    return (f"{platform.platform()} · nproc {os.cpu_count()} · Mem {memory.split()[1]} total, "
            f"{memory.split()[-1]} available · Python {platform.python_version()} · DuckDB {duckdb.__version__} · "
            f"FastAPI {fastapi.__version__} · uvicorn {uvicorn.__version__} · {tool('datasette')} · "
            f"{tool('sqlite-utils')} · SQLite (Datasette) {peer_sqlite} · {wrk_version.strip()}")


def prepare(rows: int) -> None:
    started = time.perf_counter()
    csv_path = generate(rows)
    print(f"data: {csv_path.name}, {csv_path.stat().st_size / 1e6:.0f} MB ({time.perf_counter() - started:.0f} s)")
    seconds = load_platform(csv_path, rows)
    done = f"ingested in {seconds:.1f} s" if seconds else "ingested earlier"
    print(f"ours: {done} (bench/data/platform-{rows})")
    seconds = load_datasette(csv_path, rows)
    done = f"loaded with sqlite-utils in {seconds:.1f} s" if seconds else "loaded earlier"
    print(f"Datasette: {done} ({datasette_db(rows)})")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_access", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=[*PARTS, "pyspy"], action="append",
                        help="run only these parts (repeatable)")
    parser.add_argument("--seconds", type=float, default=10, help="length of each wrk run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of wrk on each mix before timing")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each measurement (medians)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent clients of the throughput runs")
    parser.add_argument("--workers", default="1,2", help="uvicorn worker counts of our server, comma-separated")
    parser.add_argument("--deep-page", type=int, default=1000, help="the deep page of the paging part")
    parser.add_argument("--paging-samples", type=int, default=10, help="requests of each page per round")
    parser.add_argument("--groupby-samples", type=int, default=10, help="our requests of each GROUP BY per round")
    parser.add_argument("--server-env", action="append", default=[], metavar="KAIFANG_X=VALUE",
                        help="extra settings of our servers, e.g. KAIFANG_QUERY_THREADS=1 (repeatable)")
    parser.add_argument("--profile", action="store_true", help="profile the rows path in-process, then stop")
    parser.add_argument("--py-spy", metavar="PATH", help="py-spy executable: also sample our server under load "
                        "(pip install --target /tmp/pyspy py-spy; then /tmp/pyspy/bin/py-spy)")
    args = parser.parse_args(argv)
    require_tools()
    print(versions())
    prepare(args.rows)
    mix = fixed_mix()
    if args.profile:
        from bench.access_profile import export_stages, profile_rows, stage_times

        urls = [f"{OURS_ROWS}?{ours_query(q)}" for q in mix]
        print(profile_rows(platform_env(args.rows), urls, 400))
        print(stage_times(urls))
        print(export_stages())
        return 0
    files = write_mixes(mix)
    workers = [int(w) for w in args.workers.split(",")]
    servers = {"datasette": datasette(datasette_db(args.rows))}
    env = {**platform_env(args.rows), **dict(item.split("=", 1) for item in args.server_env)}
    servers.update({f"{w}w": ours(f"{w}w", env, w) for w in workers})
    # Latencies (paging, GROUP BY, export) are the engine's: measured on a server whose cache of
    # open-data answers is off, since repeating one request would otherwise time the cache.
    servers["1w-engine"] = ours("1w-engine", {**env, "KAIFANG_API_CACHE_MB": "0"}, 1)
    args.latency_server = "1w-engine"
    parts = args.only or list(PARTS)
    if args.py_spy and "pyspy" not in parts:
        parts.append("pyspy")
    started = time.perf_counter()
    try:
        for server in servers.values():
            server.start()
        Log.note(f"servers up: {', '.join(f'{n} on {s.port}' for n, s in servers.items())}")
        for part in parts:
            {"throughput": lambda: throughput(servers, files, args), "paging": lambda: paging(servers, args),
             "groupby": lambda: groupby(servers, args), "export": lambda: export(servers, args),
             "pyspy": lambda: pyspy(servers, files, args)}[part]()
    finally:
        for server in servers.values():
            server.stop()
    print(f"\nload average during the run: min {min(Log.loads):.2f}, median {statistics.median(Log.loads):.2f}, "
          f"max {max(Log.loads):.2f}; {time.perf_counter() - started:.0f} s with the servers up")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
