"""Shared set-up of the data access tests: a provider, the authority, users, and public entries
whose versions are ingested from generated rows through the real pipeline."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kaifang.auth.models import MembershipRole, Organisation, Role
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import principal_for
from kaifang.catalog.actions import do_create_entry
from kaifang.catalog.forms import DataItemInput, EntryInput
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.review import do_review_step, do_submit_entry
from kaifang.config import Settings
from kaifang.datasets.command import ingest_cli
from tests.factories import make_org, make_user


@dataclass
class DataWorld:
    provider: Organisation
    staff: Principal
    reviewer: Principal
    citizen: Principal
    other: Principal


def make_data_world(session: Session, settings: Settings) -> DataWorld:
    provider = make_org(session, "market", name="市场监督管理局")
    users = {
        "staff": make_user(session, settings, "staff", org=provider, membership=MembershipRole.STAFF),
        "reviewer": make_user(session, settings, "reviewer", roles=(Role.AUTHORITY_REVIEWER,)),
        "citizen": make_user(session, settings, "citizen", verified=True),
        "other": make_user(session, settings, "other", verified=True),
    }
    session.commit()
    return DataWorld(provider, **{k: principal_for(session, u) for k, u in users.items()})


def entry_fields(name: str, open_type: str, items: Sequence[DataItemInput], **extra: Any) -> EntryInput:
    values: dict[str, Any] = {
        "name": name, "title": f"企业登记信息 {name}", "summary": "测试用的企业登记数据。", "domain_code": "market",
        "open_type": open_type, "update_frequency": "monthly", "access_modes": ["download", "api"],
        "formats": ["CSV", "JSON"], "items": list(items),
    }
    if open_type != "unconditional":
        values.update(open_conditions="实名认证并签订数据利用协议后使用。", legal_basis="《数据安全法》第二十一条")
    values.update(extra)
    return EntryInput(**values)


def publish_entry(session: Session, settings: Settings, world: DataWorld, name: str, header: Sequence[str],
                  rows: Sequence[Sequence[Any]], *, open_type: str = "unconditional",
                  types: dict[str, str] | None = None, plan: dict[str, Any] | None = None,
                  sensitivity: dict[str, str] | None = None, **extra: Any) -> CatalogEntry:
    """A published entry whose current version holds ``rows`` (ingested from a CSV file)."""
    types, sensitivity = types or {}, sensitivity or {}
    items = [DataItemInput(h, types.get(h, "string"), h, sensitivity=sensitivity.get(h, "none")) for h in header]
    entry = do_create_entry(session, world.staff, world.provider, entry_fields(name, open_type, items, **extra))
    do_submit_entry(session, settings, world.staff, entry)
    do_review_step(session, settings, world.reviewer, entry, "approve")
    do_review_step(session, settings, world.reviewer, entry, "publish")
    session.commit()
    add_version(settings, name, header, rows, plan)
    session.expire_all()
    return entry


def add_version(settings: Settings, name: str, header: Sequence[str], rows: Sequence[Sequence[Any]],
                plan: dict[str, Any] | None = None) -> int:
    folder = Path(settings.data_dir) / "test-input"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    plan_path = folder / f"{name}.plan.json"
    plan_path.write_text(json.dumps(plan or {"columns": {}}), encoding="utf-8")
    outcome = ingest_cli(settings, path, name, plan=str(plan_path), publish=True)
    assert outcome.error is None and outcome.version is not None, outcome
    return outcome.version
