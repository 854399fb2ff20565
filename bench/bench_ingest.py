"""Ingest of a 1M-row (~200 MB) CSV to a queryable, desensitised version, against a bare DuckDB
CSV → Parquet conversion of the same file in the same run (target ≤ 3×, peak memory ≤ 1.5 GB).

The file has Chinese text and valid and invalid identifiers (5 % of ID numbers fail their check
digit, order numbers are 18 random digits), generated with a fixed seed into bench/data/ (not
timed; kept for the next run). Each measurement runs in a child process of its own, which
reports its wall time and its peak resident memory (``getrusage``); the parent also reads
``RUSAGE_CHILDREN``. Measured:

- ``duckdb``: ``COPY (SELECT * FROM read_csv(…)) TO '….parquet'``;
- ``pipeline``: ``kaifang ingest FILE --entry NAME --plan plan.json`` as the CLI and the
  scheduled pulls run it — one pass: read, validate, sample, mask (ID numbers, names, addresses)
  and pseudonymise (mobile numbers) into Parquet, detect sensitive columns, store the version and
  commit its row ("queryable"), then profile it ("job done");
- ``upload``: what an upload costs without the person: the checking job (read, validate, detect,
  suggest a plan), then the job applying the confirmed plan as above.

    .venv/bin/python -m bench.run bench_ingest
    .venv/bin/python -m bench.bench_ingest --rows 10000000 --only pipeline
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SEED = 20261122
CHUNK_ROWS = 200_000
PLAN = {"columns": {"身份证号": {"action": "mask", "kind": "resident_id"},
                    "姓名": {"action": "mask", "kind": "person_name"},
                    "手机号": {"action": "pseudonym"},
                    "地址": {"action": "mask", "kind": "address"}}}
HEADER = ["序号", "姓名", "身份证号", "手机号", "统一社会信用代码", "订单号", "地址", "登记日期", "金额", "备注"]
REGIONS = ("110105", "310115", "500103", "440305", "360426", "320582", "510104", "650102", "330106")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红"
PLACES = (("广东省", "深圳市", "南山区"), ("", "北京市", "海淀区"), ("浙江省", "杭州市", "西湖区"),
          ("", "重庆市", "渝中区"), ("江苏省", "苏州市", "姑苏区"), ("四川省", "成都市", "锦江区"))
ROADS = ("科技园路", "中关村大街", "文三路", "解放碑步行街", "人民路", "天府大道", "建设路", "中山路")
WORDS = ("申请", "办理", "登记", "变更", "注销", "补办", "窗口", "线上", "材料", "齐全", "待审核", "已办结",
         "社区", "街道", "服务", "中心", "咨询", "预约", "退回", "补正")


def _pools(rows: int, rng: random.Random) -> dict[str, list[str]]:
    from kaifang.identifiers import org_code_check_char, resident_id_check_char, uscc_check_char

    def resident_id() -> str:
        body = (rng.choice(REGIONS) + f"{rng.randint(1940, 2010)}{rng.randint(1, 12):02d}"
                f"{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}")
        check = resident_id_check_char(body)
        if rng.random() < 0.05:  # typos: the check digit fails
            check = "0" if check != "0" else "1"
        return body + check

    def uscc() -> str:
        body = "".join(rng.choice(string.digits) for _ in range(8))
        first17 = rng.choice("159") + rng.choice("123") + rng.choice(REGIONS) + body + org_code_check_char(body)
        return first17 + uscc_check_char(first17)

    unique = min(rows, 1_000_000)
    return {
        "身份证号": [resident_id() for _ in range(unique)],
        "手机号": [rng.choice(("138", "139", "150", "186", "177", "199")) + f"{rng.randint(0, 99_999_999):08d}"
                for _ in range(unique)],
        "订单号": ["".join(rng.choice(string.digits) for _ in range(18)) for _ in range(unique)],
        "统一社会信用代码": [uscc() for _ in range(50_000)],
        "姓名": [rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
               for _ in range(50_000)],
        "地址": ["".join(rng.choice(PLACES)) + f"{rng.choice(ROADS)}{rng.randint(1, 999)}号{rng.randint(1, 30)}栋"
               for _ in range(200_000)],
        "登记日期": [f"2024-{m:02d}-{d:02d}" for m in range(1, 13) for d in range(1, 29)],
        "金额": [f"{x / 100:.2f}" for x in range(0, 1_000_000, 997)],
        "备注": ["".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) for _ in range(20_000)],
    }


def generate(rows: int) -> Path:
    """The benchmark file (kept in bench/data/ and reused)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    path = DATA / f"ingest-{rows}.csv"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    pools = {name: pa.array(values) for name, values in _pools(rows, random.Random(SEED)).items()}
    schema = pa.schema([(name, pa.string()) for name in HEADER])
    partial = path.with_suffix(".partial")
    with pacsv.CSVWriter(partial, schema, write_options=pacsv.WriteOptions(quoting_style="needed")) as writer:
        for start in range(0, rows, CHUNK_ROWS):
            n = min(CHUNK_ROWS, rows - start)
            columns = {"序号": pa.array([str(i + 1) for i in range(start, start + n)])}
            for index, (name, pool) in enumerate(pools.items()):
                picks = pc.floor(pc.multiply(pc.random(n, initializer=SEED + 10 * start + index), len(pool)))
                columns[name] = pool.take(pc.cast(picks, pa.int64()))
            writer.write_table(pa.table({name: columns[name] for name in HEADER}, schema=schema))
    partial.rename(path)
    return path


def _child(kind: str, csv: Path, work: Path) -> dict[str, Any]:
    """Runs in the measuring child process."""
    if kind == "duckdb":
        import duckdb

        start = time.perf_counter()
        con = duckdb.connect()
        out = work / "duckdb.parquet"
        con.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{out}' (FORMAT parquet)")
        rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchall()[0][0]
        seconds = time.perf_counter() - start
        total = seconds
    else:
        seconds, total, rows = _pipeline(kind, csv, work)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": round(seconds, 2), "total": round(total, 2), "peak_mb": round(peak), "rows": rows}


def _pipeline(kind: str, csv: Path, work: Path) -> tuple[float, float, int]:
    import duckdb

    from kaifang.datasets import jobs
    from kaifang.datasets.command import ingest_cli
    from kaifang.datasets.storage import storage_for

    settings, entry = _platform(work)
    stored: list[float] = []
    store = jobs._Run.store

    def timed_store(run: Any, result: Any) -> str:
        # The version row is committed when store returns: from then on it can be queried.
        version_id = store(run, result)
        stored.append(time.perf_counter())
        return version_id

    setattr(jobs._Run, "store", timed_store)  # noqa: B010 - instrumenting for the measurement
    if kind == "pipeline":
        plan = work / "plan.json"
        plan.write_text(json.dumps(PLAN, ensure_ascii=False), encoding="utf-8")
        start = time.perf_counter()
        outcome = ingest_cli(settings, csv, entry, plan=str(plan))
    else:
        start = time.perf_counter()
        outcome = _upload_flow(settings, csv, entry)
    done = time.perf_counter()
    assert outcome.version is not None, outcome
    path = Path(settings.data_dir) / "versions" / storage_for(settings).files()[0].key
    rows = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
    return stored[0] - start, done - start, rows


def _platform(work: Path) -> tuple[Any, str]:
    """A migrated SQLite database with one provider and one entry (not timed)."""
    from kaifang.auth.models import Organisation
    from kaifang.catalog.models import CatalogEntry
    from kaifang.config import Environment, Settings
    from kaifang.db import make_engine, make_session_factory, unit_of_work
    from kaifang.migrate import upgrade_database

    settings = Settings(environment=Environment.TEST, database_url=f"sqlite:///{work / 'bench.db'}",
                        data_dir=work / "data", secret_key="bench-secret-key-0123456789-0123456789",
                        max_upload_bytes=1 << 40, log_json=False)
    upgrade_database(settings.database_url)
    engine = make_engine(settings.database_url)
    with unit_of_work(make_session_factory(engine)) as session:
        org = Organisation(slug="bench", name="基准测试局", kind="municipal_department")
        session.add(org)
        session.flush()
        session.add(CatalogEntry(name="bench", title="基准登记数据", provider_id=org.id, open_type="conditional",
                                 update_frequency="monthly"))
    engine.dispose()
    return settings, "bench"


def _upload_flow(settings: Any, csv: Path, entry_name: str) -> Any:
    """The checking job, then the applying job, as a provider's upload runs them."""
    from kaifang.catalog.models import CatalogEntry
    from kaifang.datasets.command import CliOutcome
    from kaifang.datasets.jobs import run_job
    from kaifang.datasets.models import IngestJob
    from kaifang.db import make_engine, make_session_factory, unit_of_work

    folder = Path(settings.data_dir) / "uploads" / "bench"
    folder.mkdir(parents=True)
    os.link(csv, folder / csv.name)  # as received: on the data disk, not copied
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        entry = session.query(CatalogEntry).filter_by(name=entry_name).one()
        stage = IngestJob(entry_id=entry.id, kind="stage", input_path=f"uploads/bench/{csv.name}",
                          source={"type": "upload", "file_name": csv.name})
        session.add(stage)
    run_job(settings, stage.id)
    with unit_of_work(factory) as session:
        checked = session.get(IngestJob, stage.id)
        assert checked is not None and checked.result is not None, "the check failed"
        suggested = checked.result["suggested_plan"]
        plan = {"columns": {**suggested["columns"], **PLAN["columns"]}}
        apply = IngestJob(entry_id=stage.entry_id, kind="apply", stage_job_id=stage.id, plan=plan,
                          input_path=stage.input_path, source=stage.source)
        session.add(apply)
    status = run_job(settings, apply.id)
    with factory() as session:
        done = session.get(IngestJob, apply.id)
        version = done.version if done else None
    engine.dispose()
    return CliOutcome(status, apply.id, version.number if version else None)


def measure(kind: str, csv: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=DATA, prefix=f"run-{kind}-") as work:
        command = [sys.executable, "-m", "bench.bench_ingest", "--child", kind, "--csv", str(csv),
                   "--work", work]
        done = subprocess.run(command, cwd=HERE.parent, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"{kind} failed:\n{done.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["children_peak_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return result


def machine() -> str:
    memory = subprocess.run(["free", "-h"], capture_output=True, text=True, check=False).stdout.split("\n")[1]
    return (f"{platform.platform()} · nproc {os.cpu_count()} · Python {platform.python_version()} · "
            f"Mem {' '.join(memory.split()[1:2])}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_ingest")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (medians are shown)")
    parser.add_argument("--only", choices=["duckdb", "pipeline", "upload"], action="append")
    parser.add_argument("--child", choices=["duckdb", "pipeline", "upload"])
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--work", type=Path)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.csv, args.work)))
        return 0
    started = time.perf_counter()
    csv = generate(args.rows)
    print(f"{machine()}\nfile: {csv.name}, {csv.stat().st_size / 1e6:.0f} MB "
          f"(ready in {time.perf_counter() - started:.0f} s, not timed)")
    kinds = args.only or ["duckdb", "pipeline", "upload"]
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for _ in range(args.repeat):  # interleaved, so that a busy moment hits every kind alike
        for kind in kinds:
            runs[kind].append(measure(kind, csv))
    report(runs)
    return 0


def report(runs: dict[str, list[dict[str, Any]]]) -> None:
    """Medians of the runs; the ratios are of medians against DuckDB's."""
    median = {kind: {key: statistics.median(r[key] for r in rs) for key in ("seconds", "total")}
              for kind, rs in runs.items()}
    base = median.get("duckdb", {}).get("seconds")
    print(f"median of {len(next(iter(runs.values())))} runs; queryable = version row committed, "
          "job done = profile written too")
    print("           queryable  ratio   job done  ratio   peak RSS  rows   (each run: queryable s)")
    for kind, rs in runs.items():
        m = median[kind]
        ratios = [f"{m[k] / base:5.2f}×" if base else "  —  " for k in ("seconds", "total")]
        peak = max(r["peak_mb"] for r in rs)
        each = ", ".join(f"{r['seconds']:.2f}" for r in rs)
        print(f"{kind:>9}: {m['seconds']:7.2f} s {ratios[0]}  {m['total']:7.2f} s {ratios[1]}  "
              f"{peak:5d} MB  {rs[0]['rows']:,}   ({each})")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
