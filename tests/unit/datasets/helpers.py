"""Shared set-up of the dataset tests: a provider with an entry, sample files, and a queue runner."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from kaifang.auth.models import MembershipRole, Organisation, Role
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import principal_for
from kaifang.catalog.actions import do_create_entry
from kaifang.catalog.forms import DataItemInput
from kaifang.catalog.models import CatalogEntry
from kaifang.config import Settings
from kaifang.datasets.actions import do_confirm_plan, do_upload
from kaifang.datasets.jobs import run_job
from kaifang.datasets.models import IngestJob
from kaifang.datasets.queue import make_queue, register_ingest_task
from kaifang.datasets.receive import ReceivedFile, UploadSink
from kaifang.ingest import Plan
from tests.factories import make_org, make_user
from tests.unit.catalog.test_entries import entry_input
from tests.unit.ingest.labelled_columns import mobiles, names, order_numbers, valid_resident_ids, valid_usccs

HEADER = ["身份证号", "手机号", "姓名", "统一社会信用代码", "订单号", "登记日期"]


@dataclass
class World:
    provider: Organisation
    entry: CatalogEntry
    staff: Principal
    outsider: Principal
    reviewer: Principal


def make_world(session: Session, settings: Settings, *, items: bool = False) -> World:
    provider = make_org(session, "civil")
    other = make_org(session, "health")
    staff = make_user(session, settings, "staff", org=provider, membership=MembershipRole.STAFF)
    outsider = make_user(session, settings, "outsider", org=other)
    reviewer = make_user(session, settings, "reviewer", roles=(Role.AUTHORITY_REVIEWER,))
    declared = [DataItemInput(name, kind) for name, kind in zip(HEADER, ["string"] * 5 + ["date"], strict=True)]
    entry = do_create_entry(session, principal_for(session, staff), provider,
                            entry_input(name="registrations", items=declared if items else []))
    session.commit()
    return World(provider, entry, principal_for(session, staff), principal_for(session, outsider),
                 principal_for(session, reviewer))


def rows(n: int) -> list[list[str]]:
    ids = ["11010519491231002X", *valid_resident_ids(n - 1)]
    dates = [f"2024-{(i % 12) + 1:02d}-{(i % 28) + 1:02d}" for i in range(n)]
    return [list(r) for r in zip(ids, mobiles(n), names(n), ["91110000600037341L", *valid_usccs(n - 1)],
                                 order_numbers(n), dates, strict=True)]


def write_csv(path: Path, n: int = 200, encoding: str = "gbk") -> Path:
    text = ",".join(HEADER) + "\n" + "".join(",".join(r) + "\n" for r in rows(n))
    path.write_bytes(text.encode(encoding))
    return path


def drain(settings: Settings) -> list[str]:
    """Run every queued ingest job through the real queue storage, as a worker would."""
    huey = make_queue(settings)
    register_ingest_task(huey, settings)
    done = []
    while (task := huey.dequeue()) is not None:
        done.append(huey.execute(task))
    return done


def receive(settings: Settings, path: Path) -> ReceivedFile:
    """``path`` as if it had just been uploaded."""
    sink = UploadSink(Path(settings.data_dir), settings.max_upload_bytes)
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            sink.write(chunk)
    return sink.finish(path.name, {})


def stage(session: Session, settings: Settings, world: World, path: Path) -> IngestJob:
    """Upload ``path`` and run its check."""
    job = do_upload(session, world.staff, world.entry, receive(settings, path))
    session.commit()
    run_job(settings, job.id)
    session.expire_all()
    return job


def apply(session: Session, settings: Settings, world: World, stage_job: IngestJob, plan: Plan) -> IngestJob:
    job = do_confirm_plan(session, settings, world.staff, stage_job, plan)
    session.commit()
    run_job(settings, job.id)
    session.expire_all()
    return job
