"""Ingest jobs: the check of an upload, the plan applied into a version, numbering and publication."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from kaifang.audit.models import AuditEvent
from kaifang.datasets.actions import do_publish_version, do_retry, do_withdraw_version
from kaifang.datasets.models import DatasetVersion, IngestJob
from kaifang.datasets.queries import current_version, pseudonym_secret
from kaifang.datasets.storage import storage_for
from kaifang.errors import Conflict, NotFound, ValidationFailed
from kaifang.ingest import Kind, Plan, mask, pseudonym, pseudonym_value
from tests.unit.datasets.helpers import apply, make_world, rows, stage, write_csv

PLAN = Plan({"身份证号": mask(Kind.RESIDENT_ID), "手机号": pseudonym(), "姓名": mask(Kind.PERSON_NAME)})


@pytest.fixture
def world(session, settings):
    return make_world(session, settings, items=True)


def test_the_check_reports_detection_and_writes_nothing(session, settings, world, tmp_path):
    job = stage(session, settings, world, write_csv(tmp_path / "登记.csv"))
    assert job.status == "succeeded" and job.rows_processed == 200 and job.percent == 100.0
    result = job.result
    kinds = {c["column"]: c["kind"] for c in result["detection"]["columns"]}
    assert kinds == {"身份证号": "resident_id", "手机号": "mobile", "姓名": "person_name",
                     "统一社会信用代码": "uscc", "订单号": None, "登记日期": None}
    assert result["detection"]["open_type"] == "non_open"
    assert all("*" in e for e in result["detection"]["columns"][0]["examples"])
    assert result["suggested_plan"]["columns"]["身份证号"] == {"action": "mask", "kind": "resident_id",
                                                             "length": 16}
    assert dict(result["schema"])["登记日期"] == "date32[day]"  # typed by the declared items
    assert result["source"]["encoding"] == "gbk"
    assert session.scalar(select(DatasetVersion)) is None
    assert list(storage_for(settings).files()) == []


def test_the_plan_writes_a_draft_version(session, settings, world, tmp_path):
    checked = stage(session, settings, world, write_csv(tmp_path / "登记.csv"))
    job = apply(session, settings, world, checked, PLAN)
    assert job.status == "succeeded", job.error_message
    version = job.version
    assert (version.number, version.status, version.rows) == (1, "draft", 200)
    assert version.storage_key == f"{world.entry.id}/1.parquet"
    table = pq.read_table(storage_for(settings).open(version.storage_key))
    first = rows(1)[0]
    assert table.column("身份证号")[0].as_py() == "110105********002X"
    secret = pseudonym_secret(settings, world.entry.id)
    assert table.column("手机号")[0].as_py() == pseudonym_value(secret, first[1])
    assert table.column("订单号")[0].as_py() == first[4]  # order numbers are not identifiers
    assert version.applied_plan == PLAN.as_dict() and version.sha256 == job.result["sha256"]
    assert version.profile["rows"] == 200
    assert job.result["unprotected"] == []
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"dataset.upload", "dataset.plan_confirm", "dataset.version_create"} <= actions


def test_publishing_supersedes_the_current_version_at_once(session, settings, world, tmp_path):
    checked = stage(session, settings, world, write_csv(tmp_path / "a.csv"))
    first = apply(session, settings, world, checked, PLAN).version
    second = apply(session, settings, world, checked, Plan({"身份证号": mask(Kind.RESIDENT_ID)})).version
    assert (first.number, second.number) == (1, 2)
    do_publish_version(session, world.staff, first)
    session.commit()
    do_publish_version(session, world.staff, second)
    session.commit()
    session.expire_all()
    assert (session.get(DatasetVersion, first.id).status, current_version(session, world.entry.id).id) == \
        ("superseded", second.id)
    with pytest.raises(Conflict):
        do_publish_version(session, world.staff, session.get(DatasetVersion, second.id))
    with pytest.raises(ValidationFailed):
        do_withdraw_version(session, world.staff, session.get(DatasetVersion, second.id), " ")
    do_withdraw_version(session, world.staff, session.get(DatasetVersion, second.id), "错误数据")
    session.commit()
    assert current_version(session, world.entry.id) is None
    # Going back: an earlier version can be made current again.
    do_publish_version(session, world.staff, session.get(DatasetVersion, first.id))
    session.commit()
    assert current_version(session, world.entry.id).number == 1


def test_only_the_provider_side_acts(session, settings, world, tmp_path):
    checked = stage(session, settings, world, write_csv(tmp_path / "a.csv"))
    version = apply(session, settings, world, checked, PLAN).version
    for actor in (world.outsider, world.reviewer):
        with pytest.raises(NotFound):
            do_publish_version(session, actor, version)


def test_a_plan_is_checked_against_the_columns(session, settings, world, tmp_path):
    checked = stage(session, settings, world, write_csv(tmp_path / "a.csv"))
    with pytest.raises(ValidationFailed) as exc:
        apply(session, settings, world, checked, Plan({"没有这列": mask()}))
    assert "没有这列" in exc.value.fields["plan"][0]


def test_bad_input_fails_the_check_for_good(session, settings, world, tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("身份证号,手机号,姓名,统一社会信用代码,订单号,登记日期\n1,2,3\n", encoding="utf-8")
    job = stage(session, settings, world, path)
    assert (job.status, job.error_code, job.retryable) == ("failed", "ragged_rows", False)
    assert "2" in job.error_message
    assert not (settings.data_dir / job.input_path).exists()  # the upload cannot get better
    with pytest.raises(Conflict):
        do_retry(session, world.staff, job)


def test_missing_declared_items(session, settings, world, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("身份证号,备注\n11010519491231002X,x\n", encoding="utf-8")
    job = stage(session, settings, world, path)
    assert job.error_code == "missing_columns" and "手机号" in job.error_message


def test_messages_are_in_the_language_of_the_uploader(session, settings, world, tmp_path):
    from kaifang.i18n import reset_locale, set_locale

    path = tmp_path / "h.csv"
    path.write_text("身份证号,手机号,姓名,统一社会信用代码,订单号,登记日期\n", encoding="utf-8")
    token = set_locale("en")
    try:
        job = stage(session, settings, world, path)
    finally:
        reset_locale(token)
    assert job.locale == "en" and job.error_code == "header_only"
    assert job.error_message == "The file has a header row but no data rows."


def test_a_job_runs_once(session, settings, world, tmp_path):
    from kaifang.datasets.jobs import run_job

    job = stage(session, settings, world, write_csv(tmp_path / "a.csv"))
    assert run_job(settings, job.id) == "skipped"
    assert session.get(IngestJob, job.id).attempts == 1


def test_batches_keep_their_order_through_the_rule_threads(session, settings, world, tmp_path):
    import pyarrow.compute as pc

    path = tmp_path / "many.csv"
    block = rows(100)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("序号," + ",".join(["身份证号", "手机号", "姓名", "统一社会信用代码", "订单号", "登记日期"]) + "\n")
        for i in range(140_000):
            fh.write(f"{i}," + ",".join(block[i % 100]) + "\n")
    version = apply(session, settings, world, stage(session, settings, world, path), PLAN).version
    table = pq.read_table(storage_for(settings).open(version.storage_key), columns=["序号", "手机号"])
    numbers = pc.cast(table.column("序号"), "int64").to_pylist()
    assert numbers == list(range(140_000))
    assert table.column("手机号")[130_000].as_py() == pseudonym_value(pseudonym_secret(settings, world.entry.id),
                                                                    block[0][1])
    assert version.profile["rows"] == 140_000
