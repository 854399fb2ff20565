"""The provider's data pages: upload → check → plan → version → publish, progress polling, and who
may see them."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from kaifang.datasets.models import DatasetVersion, IngestJob
from kaifang.datasets.storage import storage_for
from tests.factories import csrf_from
from tests.functional.conftest import login
from tests.unit.datasets.helpers import drain, make_world, write_csv


@pytest.fixture
def world(session, settings):
    return make_world(session, settings)


def upload(client, path, *, htmx=True, name="registrations"):
    token = csrf_from(client.get(f"/datasets/{name}/versions").text)
    headers = {"HX-Request": "true", "X-CSRF-Token": token} if htmx else {}
    with path.open("rb") as fh:
        return client.post(f"/datasets/{name}/uploads", headers=headers, data={"csrf_token": token},
                           files={"file": (path.name, fh, "text/csv")})


def test_upload_check_plan_publish(client, session, settings, world, tmp_path):
    login(client, "staff")
    response = upload(client, write_csv(tmp_path / "登记.csv"))
    assert response.status_code == 204, response.text
    job_url = response.headers["HX-Redirect"]
    waiting = client.get(job_url + "/progress")
    assert 'hx-trigger="every 1s"' in waiting.text and "HX-Refresh" not in waiting.headers
    assert drain(settings) == ["succeeded"]
    assert client.get(job_url + "/progress").headers["HX-Refresh"] == "true"

    page = client.get(job_url)
    assert 'data-column="身份证号" data-kind="resident_id"' in page.text
    assert 'data-column="订单号" data-kind=""' in page.text
    assert "110105********002X" in page.text  # a masked example, never the raw value
    form = {"csrf_token": csrf_from(page.text), "col-0-action": "mask", "col-0-kind": "resident_id",
            "col-1-action": "pseudonym", "col-2-action": "mask", "col-2-kind": "person_name",
            "kanon-qi": "登记日期", "kanon-k": "2"}
    response = client.post(job_url + "/plan", data=form)
    assert response.status_code == 303
    assert drain(settings) == ["succeeded"]
    assert 'data-testid="open-version"' in client.get(response.headers["location"]).text

    version = session.scalars(select(DatasetVersion)).one()
    assert version.applied_plan["k_anonymity"] == {"quasi_identifiers": ["登记日期"], "k": 2, "suppress": False}
    table = pq.read_table(storage_for(settings).open(version.storage_key))
    assert table.column("身份证号").to_pylist()[0] == "110105********002X"
    page = client.get("/datasets/registrations/versions/1")
    assert "110105********002X" in page.text and 'data-testid="preview"' in page.text
    response = client.post("/datasets/registrations/versions/1/publish", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 303
    hub = client.get("/datasets/registrations/versions")
    assert 'data-testid="version-1"' in hub.text and "当前版本" in hub.text
    session.expire_all()
    assert session.get(DatasetVersion, version.id).status == "published"


def test_a_plain_form_upload_works_without_scripts(client, session, settings, world, tmp_path):
    login(client, "staff")
    response = upload(client, write_csv(tmp_path / "a.csv", 20), htmx=False)
    assert response.status_code == 303 and "/jobs/" in response.headers["location"]
    assert session.scalars(select(IngestJob)).one().source["file_name"] == "a.csv"


def test_a_bad_plan_is_shown_on_the_form(client, session, settings, world, tmp_path):
    login(client, "staff")
    job_url = upload(client, write_csv(tmp_path / "a.csv", 20)).headers["HX-Redirect"]
    drain(settings)
    token = csrf_from(client.get(job_url).text)
    response = client.post(job_url + "/plan", data={"csrf_token": token, "col-5-action": "generalise",
                                                   "col-5-level": "band"})
    assert response.status_code == 422 and 'data-testid="plan-error"' in response.text
    assert 'value="generalise" selected' in response.text  # the provider's choice is kept
    assert session.scalar(select(DatasetVersion)) is None


def test_pages_do_not_exist_for_others(client, session, settings, world, tmp_path, new_client):
    login(client, "staff")
    job_url = upload(client, write_csv(tmp_path / "a.csv", 20)).headers["HX-Redirect"]
    paths = ["/datasets/registrations/versions", job_url, job_url + "/progress"]
    for username in ("outsider", "reviewer"):
        other = new_client()
        login(other, username)
        for path in paths:
            assert other.get(path).status_code == 404, (username, path)
        token = csrf_from(other.get("/register").text)
        posted = other.post(job_url + "/plan", data={"csrf_token": token})
        assert posted.status_code == 404
    anonymous = new_client()
    assert anonymous.get(paths[0]).headers["location"].startswith("/login")
