"""Data of the demo city's published datasets: generated with a fixed seed, written as the files a
provider would upload (one of them in GBK, as many Chinese systems export), and ingested through
the real pipeline (detection, desensitisation plan, Parquet, publication)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kaifang.config import Settings
from kaifang.datasets.command import ingest_cli
from kaifang.db import make_engine, make_session_factory
from kaifang.identifiers import org_code_check_char, uscc_check_char

SEED = 20261203
DISTRICTS = ("东湖区", "西湖区", "南山区", "北城区", "高新区", "江北区")
ROADS = ("人民路", "解放大道", "中山路", "建设路", "湖滨路", "科技大道", "沿江大道", "体育馆路", "学府路", "长江路")
Rows = tuple[list[str], list[list[Any]]]


def bus_stops(rng: random.Random) -> Rows:
    header = ["stop_id", "stop_name", "lines", "district", "shelter", "lng", "lat"]
    rows = []
    for i in range(1, 401):
        district = rng.choice(DISTRICTS)
        centre = DISTRICTS.index(district)
        lines = sorted(rng.sample(range(1, 120), rng.randint(1, 4)))
        rows.append([f"S{i:04d}", f"{rng.choice(ROADS)}{rng.choice(ROADS)[:2]}站", ";".join(f"{n}路" for n in lines),
                     district, rng.choice(("是", "是", "否")),
                     round(114.20 + centre * 0.04 + rng.uniform(0, 0.04), 6), round(30.52 + rng.uniform(0, 0.14), 6)])
    return header, rows


def _plate(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "鄂A" + rng.choice("DF") + "".join(rng.choice(letters + "0123456789") for _ in range(5))


def taxi_trips(rng: random.Random) -> Rows:
    header = ["trip_id", "plate_pseudonym", "pickup_time", "pickup_grid", "district", "distance_km", "fare"]
    plates = [_plate(rng) for _ in range(300)]
    start = dt.datetime(2026, 11, 1, 6, 0)
    rows = []
    for i in range(1, 3001):
        moment = start + dt.timedelta(minutes=rng.randint(0, 30 * 24 * 60))
        distance = round(rng.lognormvariate(1.6, 0.6), 1)
        rows.append([f"T{i:06d}", rng.choice(plates), moment.strftime("%Y-%m-%d %H:%M:%S"),
                     f"G-{rng.randint(1, 30):02d}-{rng.randint(1, 30):02d}", rng.choice(DISTRICTS), distance,
                     round(10 + max(0.0, distance - 3) * 2.3, 1)])
    return header, rows


def _uscc(rng: random.Random) -> str:
    body = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = "91" + "420100" + body + org_code_check_char(body)
    return first17 + uscc_check_char(first17)


def enterprises(rng: random.Random) -> Rows:
    header = ["uscc", "name", "district", "industry", "status", "capital", "founded"]
    industries = ("批发和零售业", "制造业", "信息传输、软件和信息技术服务业", "建筑业", "租赁和商务服务业",
                  "科学研究和技术服务业", "住宿和餐饮业", "交通运输、仓储和邮政业")
    words = ("华信", "东方", "长江", "恒通", "智联", "鼎盛", "嘉和", "新锐", "远航", "兴业", "博雅", "汇丰")
    statuses = ("存续",) * 12 + ("在业",) * 5 + ("吊销",) * 2 + ("注销",)
    rows = []
    for _ in range(5000):
        founded = dt.date(1995, 1, 1) + dt.timedelta(days=rng.randint(0, 11_000))
        kind = rng.choice(("科技", "贸易", "实业"))
        rows.append([_uscc(rng), f"示范市{rng.choice(words)}{rng.choice(words)}{kind}有限公司",
                     rng.choice(DISTRICTS), rng.choice(industries), rng.choice(statuses),
                     round(rng.lognormvariate(5, 1.2), 2), founded.isoformat()])
    return header, rows


# name → (generator, file encoding, desensitisation plan)
DATASETS: dict[str, tuple[Callable[[random.Random], Rows], str, dict[str, Any]]] = {
    "bus-stops": (bus_stops, "utf-8", {"columns": {}}),
    "taxi-trips": (taxi_trips, "gbk", {"columns": {"plate_pseudonym": {"action": "pseudonym"}}}),
    "enterprise-register": (enterprises, "utf-8", {"columns": {}}),
}


def _write(folder: Path, name: str, rows: Rows, encoding: str) -> Path:
    path = folder / f"{name}.csv"
    header, data = rows
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(data)
    return path


def _without_version(settings: Settings) -> set[str]:
    from sqlalchemy import select

    from kaifang.catalog.models import CatalogEntry
    from kaifang.catalog.vocab import EntryStatus
    from kaifang.datasets.models import DatasetVersion

    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            published = set(session.scalars(select(CatalogEntry.name).where(
                CatalogEntry.name.in_(list(DATASETS)), CatalogEntry.status == EntryStatus.PUBLISHED)))
            served = set(session.scalars(select(CatalogEntry.name).join(
                DatasetVersion, DatasetVersion.entry_id == CatalogEntry.id)))
    finally:
        engine.dispose()
    return published - served


def seed_versions(settings: Settings) -> list[str]:
    """Ingests and publishes a version of each demo dataset that has none (idempotent)."""
    folder = Path(settings.data_dir) / "demo-input"
    folder.mkdir(parents=True, exist_ok=True)
    done = []
    for name in sorted(_without_version(settings)):
        generate, encoding, plan = DATASETS[name]
        # Fictional data from a fixed seed: no secrecy needed, only repeatability.
        path = _write(folder, name, generate(random.Random(f"{SEED}:{name}")), encoding)  # noqa: S311
        plan_path = folder / f"{name}.plan.json"
        plan_path.write_text(json.dumps(plan), encoding="utf-8")
        outcome = ingest_cli(settings, path, name, plan=str(plan_path), publish=True)
        if outcome.error is None:
            done.append(name)
    return done
