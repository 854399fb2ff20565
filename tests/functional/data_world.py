"""Published datasets for the data API tests, made once per module where the tests only read them,
and the plain Python meaning of filters and sorts to check the answers against."""

from __future__ import annotations

import datetime as dt
import functools
import random
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kaifang.app import create_app
from kaifang.config import Settings
from kaifang.db import make_engine, make_session_factory
from tests.conftest import PG_URL, _base_settings, _empty_tables
from tests.unit.access.helpers import DataWorld, make_data_world, publish_entry

FIRMS_HEADER = ["企业名称", "所在区", "注册资本", "员工数", "成立日期", "更新时间", "在营", "limit", "备注"]
FIRMS_TYPES = {"注册资本": "decimal", "员工数": "integer", "成立日期": "date", "更新时间": "datetime", "在营": "boolean"}
DISTRICTS = ["渝中区", "江北区", "南岸区", "沙坪坝区"]
NOTES = ["=1+2", "@SUM(A1)", "-2+3", "-12.5", "普通, 带逗号", '带"引号"', "plain"]
# Generous limits: the shared app serves every test of a module.
HIGH_LIMITS = {"api_rate_per_minute": 100_000, "api_daily_quota": 10_000_000,
               "api_anonymous_rate_per_minute": 100_000, "api_anonymous_daily_quota": 10_000_000}


def firm_rows(n: int, seed: int = 7) -> list[list[Any]]:
    """Typed rows with ties, empty values in every column but the name, and formula-like texts."""
    pick = random.Random(seed)
    rows = []
    for i in range(n):
        def maybe(value: Any, pick: random.Random = pick) -> Any:
            return None if pick.random() < 0.15 else value
        rows.append([
            f"企业{i:03d}", maybe(pick.choice(DISTRICTS)), maybe(float(pick.choice([10, 12.5, 100, 250.25, 3000]))),
            maybe(pick.randint(0, 9)), maybe(dt.date(2020, 1, 1) + dt.timedelta(days=pick.randint(0, 5))),
            maybe(dt.datetime(2024, 5, 1, 8) + dt.timedelta(minutes=pick.randint(0, 4))),
            maybe(pick.random() < 0.5), maybe(pick.choice(["x", "y"])), maybe(pick.choice(NOTES)),
        ])
    return rows


def records(rows: Sequence[Sequence[Any]], header: Sequence[str] = FIRMS_HEADER) -> list[dict[str, Any]]:
    return [dict(zip(header, row, strict=True)) for row in rows]


def as_json(value: Any) -> Any:
    """A value as the JSON API writes it."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def sort_rows(rows: list[dict[str, Any]], keys: Sequence[tuple[str, bool]]) -> list[dict[str, Any]]:
    """The platform's order: the keys (empty values last either way), then the file order."""
    position = {id(r): i for i, r in enumerate(rows)}

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for name, descending in keys:
            x, y = a[name], b[name]
            if x is None or y is None:
                if (x is None) != (y is None):
                    return 1 if x is None else -1
                continue
            if x != y:
                return (-1 if x < y else 1) * (-1 if descending else 1)
        return position[id(a)] - position[id(b)]
    return sorted(rows, key=functools.cmp_to_key(compare))


@contextmanager
def module_settings(template: str, folder: Path, **overrides: Any) -> Iterator[Settings]:
    """Settings over a database of the module's own (the per-test fixture empties PostgreSQL's
    tables after each test, so a module sharing data uses only this)."""
    if PG_URL:
        yield _base_settings(folder, template).with_overrides(**overrides)
        _empty_tables(template)
        return
    db_file = folder / "kaifang.db"
    shutil.copyfile(template, db_file)
    yield _base_settings(folder, f"sqlite:///{db_file}").with_overrides(**overrides)


@dataclass
class Shared:
    settings: Settings
    app: FastAPI
    client: TestClient
    world: DataWorld
    entry_ids: dict[str, str]

    def session(self) -> Session:
        return self.app.state.session_factory()


@contextmanager
def shared_world(template: str, folder: Path, datasets: dict[str, dict[str, Any]],
                 **overrides: Any) -> Iterator[Shared]:
    """An app over published datasets: ``{name: publish_entry keyword arguments}``."""
    with module_settings(template, folder, **{"access_log_flush_seconds": 0, **HIGH_LIMITS, **overrides}) as settings:
        engine = make_engine(settings.database_url)
        try:
            with make_session_factory(engine)() as session:
                world = make_data_world(session, settings)
                entry_ids = {name: publish_entry(session, settings, world, name, **spec).id
                             for name, spec in datasets.items()}
                for loaded in (world.provider, *(p.user for p in (world.staff, world.reviewer, world.citizen,
                                                                   world.other))):
                    session.refresh(loaded)  # readable (ids, names) once the session is closed
        finally:
            engine.dispose()
        app = create_app(settings)
        try:
            with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
                yield Shared(settings, app, client, world, entry_ids)
        finally:
            app.state.engine.dispose()


def holds(value: Any, op: str, target: Any) -> bool:
    """What ``column__op=target`` keeps, in Python (``ne`` keeps empty values)."""
    if op == "isnull":
        return (value is None) == target
    if op == "ne":
        return value is None or value != target
    if value is None:
        return False
    return {"eq": lambda: value == target, "lt": lambda: value < target, "lte": lambda: value <= target,
            "gt": lambda: value > target, "gte": lambda: value >= target, "in": lambda: value in target,
            "contains": lambda: target in value, "startswith": lambda: value.startswith(target)}[op]()


def kept(rows: list[dict[str, Any]], conditions: Sequence[tuple[str, str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if all(holds(r[column], op, target) for column, op, target in conditions)]
