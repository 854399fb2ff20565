"""The JSON API of dataset versions: upload (raw or form), follow the job, confirm the plan, publish;
and every kind of bad input, through the API and the pages: a clear error, no version."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kaifang.app import create_app
from kaifang.auth.actions import do_create_token
from kaifang.datasets.models import DatasetVersion
from tests.functional.conftest import login
from tests.unit.datasets.helpers import HEADER, drain, make_world, write_csv

BASE = "/api/v1/datasets/registrations"


@pytest.fixture
def world(session, settings):
    return make_world(session, settings)


def _token(session, actor) -> dict[str, str]:
    _row, token = do_create_token(session, actor, "uploads", None)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_the_whole_flow_through_the_api(client, session, settings, world, tmp_path):
    auth = _token(session, world.staff)
    body = write_csv(tmp_path / "登记.csv", 40).read_bytes()
    response = client.post(f"{BASE}/uploads?filename=登记.csv", content=body, headers=auth)
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["kind"], job["status"], job["source"]["file_name"]) == ("stage", "queued", "登记.csv")
    drain(settings)
    checked = client.get(f"{BASE}/jobs/{job['id']}", headers=auth).json()
    assert checked["status"] == "succeeded" and checked["percent"] == 100.0
    suggested = checked["result"]["suggested_plan"]
    assert suggested["columns"]["手机号"]["action"] == "mask"

    plan = {"columns": {**suggested["columns"], "手机号": {"action": "pseudonym"}}}
    response = client.post(f"{BASE}/jobs/{job['id']}/plan", json=plan, headers=auth)
    assert response.status_code == 202
    drain(settings)
    applied = client.get(f"{BASE}/jobs/{response.json()['id']}", headers=auth).json()
    assert applied["status"] == "succeeded" and applied["version"] == 1
    version = client.get(f"{BASE}/versions/1", headers=auth).json()
    assert version["status"] == "draft" and version["rows"] == 40
    assert version["applied_plan"]["columns"]["手机号"]["action"] == "pseudonym"
    assert [c[0] for c in version["schema"]] == HEADER
    assert client.post(f"{BASE}/versions/1/publish", headers=auth).json()["status"] == "published"
    assert client.post(f"{BASE}/versions/1/withdraw", json={"reason": "错误"}, headers=auth).json()["status"] == \
        "withdrawn"
    assert [j["kind"] for j in client.get(f"{BASE}/jobs", headers=auth).json()] == ["apply", "stage"]


def test_a_form_upload_and_a_bad_plan(client, session, settings, world, tmp_path):
    auth = _token(session, world.staff)
    with write_csv(tmp_path / "a.csv", 20).open("rb") as fh:
        job = client.post(f"{BASE}/uploads", files={"file": ("a.csv", fh, "text/csv")}, headers=auth).json()
    drain(settings)
    response = client.post(f"{BASE}/jobs/{job['id']}/plan", json={"columns": {"x": {"action": "drop"}}},
                           headers=auth)
    assert response.status_code == 422 and "plan" in response.json()["error"]["fields"]
    response = client.post(f"{BASE}/jobs/{job['id']}/plan", json={"columns": {"姓名": {"action": "nonsense"}}},
                           headers=auth)
    assert response.status_code == 422


def test_others_get_404_and_cookies_need_the_csrf_header(client, session, settings, world, tmp_path):
    auth = _token(session, world.staff)
    job = client.post(f"{BASE}/uploads?filename=a.csv", content=write_csv(tmp_path / "a.csv", 5).read_bytes(),
                      headers=auth).json()
    for actor in (world.outsider, world.reviewer):
        other = _token(session, actor)
        assert client.get(f"{BASE}/versions", headers=other).status_code == 404
        assert client.get(f"{BASE}/jobs/{job['id']}", headers=other).status_code == 404
        assert client.post(f"{BASE}/uploads?filename=a.csv", content=b"a\n1\n", headers=other).status_code == 404
    assert client.get(f"{BASE}/versions").status_code == 401
    login(client, "staff")
    assert client.post(f"{BASE}/uploads?filename=a.csv", content=b"a\n1\n").status_code == 403


def _xlsx(path):
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.save(path)
    return path


def _bomb(path):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(40):
                member.write(b" " * (1 << 20))
    return path.read_bytes()


def _long_line():
    yield b"a,b\n1,"
    for _ in range(50):
        yield b"x" * (1 << 20)
    yield b"\n"


ENCRYPTED = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1528 + "EncryptionInfo".encode("utf-16-le")
             + b"\0" * 100 + "EncryptedPackage".encode("utf-16-le") + b"\0" * 2048)
# name, file name, body (bytes or a maker), error code, refused at once (no job)
BAD = [
    ("empty", "a.csv", lambda p: b"", "empty_file", "空文件", True),
    ("header only", "a.csv", lambda p: ",".join(HEADER).encode() + b"\n", "header_only", "只有表头", False),
    ("ragged", "a.csv", lambda p: b"a,b,c\n1,2,3\n4,5\n6,7,8\n", "ragged_rows", "各行列数不一致", False),
    ("undecodable", "a.csv", lambda p: b"a,b\n" + b"1,2\n" * 400_000 + b"3,\x81\xff\n", "undecodable",
     "无法识别的字符", False),
    ("corrupt xlsx", "a.xlsx", lambda p: _xlsx(p / "c.xlsx").read_bytes()[:400], "corrupt_xlsx", "表格文件已损坏",
     False),
    ("password xlsx", "a.xlsx", lambda p: ENCRYPTED, "encrypted_xlsx", "表格文件设有密码", True),
    ("zip bomb", "a.xlsx", lambda p: _bomb(p / "b.xlsx"), "zip_bomb", "可疑的压缩表格", False),
    ("50 MB line", "a.csv", lambda p: _long_line(), "line_too_long", "单行过长", False),
]


@pytest.mark.parametrize(("case", "file_name", "make", "code", "label", "at_once"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_gives_a_clear_error_and_no_version(client, session, settings, world, tmp_path, case, file_name,
                                                      make, code, label, at_once):
    auth = _token(session, world.staff)
    response = client.post(f"{BASE}/uploads?filename={file_name}", content=make(tmp_path), headers=auth)
    if at_once:
        assert response.status_code == 422
        assert response.json()["error"]["code"] == code and response.json()["error"]["message"]
    else:
        assert response.status_code == 202, response.text
        drain(settings)
        job = client.get(f"{BASE}/jobs/{response.json()['id']}", headers=auth).json()
        assert job["status"] == "failed" and job["error"]["code"] == code and job["error"]["message"]
        assert job["retryable"] is False
        login(client, "staff")
        page = client.get(f"/datasets/registrations/jobs/{job['id']}")
        assert f'data-code="{code}"' in page.text and label in page.text
        assert job["error"]["message"] in page.text.replace("&#39;", "'").replace("&#34;", '"')
    assert session.scalar(select(DatasetVersion)) is None


def test_over_the_size_limit(session, settings, world):
    app = create_app(settings.with_overrides(max_upload_bytes=1000))
    try:
        with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
            auth = _token(session, world.staff)
            declared = client.post(f"{BASE}/uploads?filename=a.csv", content=b"x" * 2000, headers=auth)
            assert declared.status_code == 413 and declared.json()["error"]["code"] == "too_large"
            streamed = client.post(f"{BASE}/uploads?filename=a.csv", headers=auth,
                                   content=(b"x" * 600 for _ in range(3)))
            assert streamed.status_code == 413
            login(client, "staff")
            page = client.get("/datasets/registrations/versions")
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            form = client.post("/datasets/registrations/uploads", files={"file": ("a.csv", b"x" * 5000)},
                               headers={"HX-Request": "true", "X-CSRF-Token": token})
            assert form.status_code == 413 and "文件过大" in form.text
    finally:
        app.state.engine.dispose()
    assert not any((settings.data_dir / "uploads").iterdir())
