"""Conditional access over HTTP: the dataset page's panel, the application form, the provider's
decision with its row-filter builder, the agreement's acceptance, the download it opens, the PDF,
the model agreement's versions, the compliance page and the JSON API."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest
from sqlalchemy import select

from kaifang.applications.models import AgreementTemplate, Application
from kaifang.auth.models import Role
from kaifang.auth.queries import principal_for
from kaifang.cases.clocks import china_today
from tests.factories import make_user
from tests.functional.conftest import login, post_form
from tests.unit.applications.helpers import accept_both, application_input, approved, unverified, world_with_entry

SHA = re.compile(r'name="sha256" value="([0-9a-f]{64})"')


@pytest.fixture
def world(session, settings):
    return world_with_entry(session, settings)


def _apply_form(**changes) -> list[tuple[str, str]]:
    data = application_input(columns=["company", "district", "capital", "industry", "founded"], **changes)
    fields = [("columns", c) for c in data.columns] + [("modes", m) for m in data.modes]
    return [*fields, ("purpose", data.purpose), ("scenario", data.scenario), ("security_measures", data.security_measures), ("use_from", data.use_from), ("use_until", data.use_until)]


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """A form with repeated fields (check boxes), as httpx sends them."""
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def _csrf(client, path):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def test_the_dataset_page_tells_each_visitor_how_to_get_conditional_data(client, new_client, session, settings, world):
    anonymous = client.get("/datasets/firms").text
    assert 'data-testid="login-hint"' in anonymous and 'data-testid="apply"' not in anonymous
    unverified(session, settings, "newcomer")
    newcomer = new_client()
    login(newcomer, "newcomer")
    assert 'data-testid="verify-hint"' in newcomer.get("/datasets/firms").text
    citizen = new_client()
    login(citizen, "citizen")
    assert 'href="/datasets/firms/apply"' in citizen.get("/datasets/firms").text
    staff = new_client()
    login(staff, "staff")
    page = staff.get("/datasets/firms").text
    assert 'data-testid="apply-refusal"' in page and 'href="/datasets/firms/apply"' not in page


def test_the_application_form_keeps_what_was_typed_and_submits_with_a_file(client, session, settings, world):
    login(client, "citizen")
    token = _csrf(client, "/datasets/firms/apply")
    fields = [f for f in _apply_form() if f[0] != "purpose"] + [("purpose", ""), ("csrf_token", token)]
    bad = client.post("/datasets/firms/apply", data=_multi(fields))
    assert bad.status_code == 422
    assert 'id="purpose-error"' in bad.text and "数据存放于内网加密服务器" in bad.text
    assert session.scalars(select(Application)).first() is None
    good = client.post("/datasets/firms/apply", data=_multi([*_apply_form(), ("csrf_token", token)]),
                       files=[("files", ("plan.txt", b"security plan", "text/plain"))])
    assert good.status_code == 303
    app_id = good.headers["location"].rsplit("/", 1)[1]
    page = client.get(f"/applications/{app_id}").text
    assert "plan.txt" in page and "研究本市小微企业" in page
    assert client.get(f"/cases/{app_id}").headers["location"] == f"/applications/{app_id}"
    assert app_id in client.get("/applications").text


def test_the_provider_approves_with_a_row_filter_built_on_the_page(client, new_client, session, settings, world):
    login(client, "citizen")
    response = client.post("/datasets/firms/apply",
                           data=_multi([*_apply_form(), ("csrf_token", _csrf(client, "/datasets/firms/apply"))]))
    app_id = response.headers["location"].rsplit("/", 1)[1]
    staff = new_client()
    login(staff, "staff")
    assert app_id in staff.get("/applications/received").text
    token = _csrf(staff, f"/applications/{app_id}")
    base = [("columns", "company"), ("columns", "district"), ("columns", "capital"), ("modes", "download"),
            ("valid_from", "2026-01-01"), ("valid_until", application_input().use_until),
            ("feedback_every_months", "3"), ("csrf_token", token)]
    blank = [(f"cond-{i}-{part}", "eq" if part == "op" else "") for i in (0, 1) for part in ("column", "op", "value")]
    more = staff.post(f"/applications/{app_id}/decision", data=_multi(base + blank + [("action", "add_condition")]))
    assert more.status_code == 200 and more.text.count('data-testid="condition-row"') == 3
    wrong = staff.post(f"/applications/{app_id}/decision", data=_multi([*base, ("cond-0-column", ""), ("cond-0-op", "eq"), ("cond-0-value", ""), ("cond-1-column", "capital"), ("cond-1-op", "gte"), ("cond-1-value", "很多")]))
    assert wrong.status_code == 422 and 'id="cond-1-error"' in wrong.text and "很多" in wrong.text
    done = staff.post(f"/applications/{app_id}/decision", data=_multi([*base, ("cond-0-column", "district"), ("cond-0-op", "eq"), ("cond-0-value", "渝中区"), ("cond-1-column", "capital"), ("cond-1-op", "gte"), ("cond-1-value", "100")]))
    assert done.status_code == 303
    page = staff.get(f"/applications/{app_id}").text
    assert 'data-testid="agreement-text"' in page and "「所在区县」等于「渝中区」" in page
    assert 'data-testid="accept-form"' in page


def test_both_parties_accept_and_the_download_holds_only_the_scope(client, new_client, session, settings, world):
    world_, entry = world
    app = approved(session, settings, world_, entry)
    staff, citizen = new_client(), new_client()
    login(staff, "staff")
    login(citizen, "citizen")
    page = staff.get(f"/applications/{app.id}").text
    sha = SHA.search(page).group(1)
    stale = post_form(staff, f"/applications/{app.id}/agreement/accept", {"sha256": "0" * 64}, f"/applications/{app.id}")
    assert stale.status_code == 409
    assert post_form(staff, f"/applications/{app.id}/agreement/accept", {"sha256": sha},
                     f"/applications/{app.id}").status_code == 303
    assert citizen.get("/api/v1/datasets/firms/download.csv").status_code == 403
    assert post_form(citizen, f"/applications/{app.id}/agreement/accept", {"sha256": sha},
                     f"/applications/{app.id}").status_code == 303
    page = citizen.get(f"/applications/{app.id}").text
    assert 'data-testid="download-csv"' in page
    body = citizen.get("/api/v1/datasets/firms/download.csv")
    assert body.status_code == 200
    rows = list(csv.reader(io.StringIO(body.content.decode("utf-8-sig"))))
    assert rows[0] == ["company", "district", "capital"]
    assert sorted(r[0] for r in rows[1:]) == sorted(["山城科技有限公司", "渝中餐饮有限公司", "解放碑商贸有限公司"])
    assert {r[1] for r in rows[1:]} == {"渝中区"}
    pdf = citizen.get(f"/applications/{app.id}/agreement.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert client.get(f"/applications/{app.id}/agreement.pdf").status_code in (303, 401)


def test_outsiders_see_no_application(client, new_client, session, settings, world):
    world_, entry = world
    app = approved(session, settings, world_, entry)
    login(client, "other")
    assert client.get(f"/applications/{app.id}").status_code == 404
    assert client.get(f"/api/v1/applications/{app.id}").status_code == 404
    assert post_form(client, f"/applications/{app.id}/agreement/accept", {"sha256": app.agreement.sha256}).status_code == 404


def test_the_authority_saves_a_new_version_of_the_model_agreement(client, new_client, session, settings, world):
    login(client, "reviewer")
    page = client.get("/admin/agreement-template").text
    assert 'data-testid="template-form"' in page
    token = _csrf(client, "/admin/agreement-template")
    broken = client.post("/admin/agreement-template", data={"title": "协议", "body": "只有{{ purpose }}", "note": "",
                                                             "csrf_token": token})
    assert broken.status_code == 422 and 'id="body-error"' in broken.text and "只有{{ purpose }}" in broken.text
    body = re.search(r'<textarea id="body"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    text = html.unescape(body).replace("第十一条", "第十一条（修订）")
    saved = client.post("/admin/agreement-template", data={"title": "数据利用协议（2026年修订）", "body": text,
                                                            "note": "争议解决条款修订", "csrf_token": token})
    assert saved.status_code == 303
    numbers = session.scalars(select(AgreementTemplate.number).order_by(AgreementTemplate.number)).all()
    assert numbers == [1, 2]
    assert "第十一条（修订）" in client.get("/admin/agreement-template/2").text
    auditor = make_user(session, settings, "auditor", roles=(Role.AUDITOR,))
    session.commit()
    reader = new_client()
    login(reader, auditor.username)
    view = reader.get("/admin/agreement-template").text
    assert 'data-testid="template-form"' not in view and "第十一条（修订）" in view
    assert post_form(reader, "/admin/agreement-template", {"title": "x", "body": text}).status_code == 403
    citizen = new_client()
    login(citizen, "citizen")
    assert citizen.get("/admin/agreement-template").status_code == 403
    assert citizen.get("/supervision/compliance").status_code == 403
    assert reader.get("/supervision/compliance").status_code == 200


def test_the_json_api_lists_my_applications_and_shows_one(client, session, settings, world):
    world_, entry = world
    app = approved(session, settings, world_, entry)
    login(client, "citizen")
    listed = client.get("/api/v1/applications").json()
    assert [a["id"] for a in listed] == [app.id] and listed[0]["state"] == "signing"
    one = client.get(f"/api/v1/applications/{app.id}").json()
    assert one["approved_columns"] == ["company", "district", "capital"]
    assert one["row_filter"] == [{"column": "district", "op": "eq", "value": "渝中区"}]
    assert one["agreement"]["sha256"] == app.agreement.sha256 and one["accepts_as"] == "applicant"
    assert principal_for(session, app.applicant).is_verified


def test_an_expiring_grant_is_offered_for_renewal_with_the_form_filled_in(client, session, settings, world):
    world_, entry = world
    soon = (china_today() + dt.timedelta(days=10)).isoformat()
    app = approved(session, settings, world_, entry, valid_until=soon)
    accept_both(session, settings, world_, app)
    login(client, "citizen")
    panel = client.get("/datasets/firms").text
    assert f'href="/datasets/firms/apply?renew={app.grant_id}"' in panel
    form = client.get(f"/datasets/firms/apply?renew={app.grant_id}").text
    assert 'data-testid="renewal"' in form and app.purpose in form
    assert 'value="industry" checked' not in form and 'value="capital" checked' in form
    next_day = (china_today() + dt.timedelta(days=11)).isoformat()
    assert f'name="use_from" value="{next_day}"' in form
    fields = [("columns", "company"), ("modes", "download"), ("purpose", app.purpose), ("scenario", app.scenario),
              ("security_measures", app.security_measures), ("use_from", next_day),
              ("use_until", (china_today() + dt.timedelta(days=200)).isoformat()), ("renews_grant_id", app.grant_id),
              ("csrf_token", _csrf(client, "/datasets/firms/apply"))]
    response = client.post("/datasets/firms/apply", data=_multi(fields))
    assert response.status_code == 303
    renewal = session.get(Application, response.headers["location"].rsplit("/", 1)[1])
    assert renewal.renews_grant_id == app.grant_id and renewal.id != app.id
