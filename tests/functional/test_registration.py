"""Registration validates identity numbers with their check digits, in the user's language."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kaifang.auth.models import IdentityVerification, User
from tests.functional.conftest import csrf

BASE = {
    "username": "liuyong", "email": "liu@example.test", "display_name": "刘用",
    "password": "a-long-pass-1", "password_confirm": "a-long-pass-1", "real_name": "刘用",
}


def _register(client, **fields):
    data = {**BASE, "account_type": "natural_person", **fields}
    return client.post("/register", data={**data, "csrf_token": csrf(client)})


def test_accepts_valid_resident_id(client, session):
    response = _register(client, id_number="11010519491231002X")
    assert response.status_code == 303
    user = session.scalars(select(User).where(User.username == "liuyong")).one()
    claim = session.scalars(select(IdentityVerification).where(IdentityVerification.user_id == user.id)).one()
    assert claim.status == "pending"
    assert claim.number_masked == "110105********002X"
    # The full number is never stored.
    assert "11010519491231002X" not in repr(claim.__dict__)


def test_accepts_valid_credit_code_for_legal_person(client):
    response = _register(client, account_type="legal_person", id_number="91110000600037341L",
                         entity_name="示范科技有限公司")
    assert response.status_code == 303


@pytest.mark.parametrize(("fields", "zh", "en"), [
    ({"id_number": "110105194912310021"}, "身份证号码校验码错误", "check digit of the resident ID"),
    ({"id_number": "11010519491331002X"}, "出生日期不是有效日期", "birth date inside the resident ID"),
    ({"account_type": "legal_person", "entity_name": "某公司", "id_number": "91110000600037341M"},
     "统一社会信用代码校验码错误", "check character of the unified social credit code"),
])
def test_rejects_wrong_numbers_in_the_chosen_language(client, session, fields, zh, en):
    response = _register(client, **fields)
    assert response.status_code == 422
    assert zh in response.text
    client.get("/lang/en")
    response = _register(client, **fields)
    assert response.status_code == 422
    assert en in response.text
    assert session.scalar(select(User).where(User.username == "liuyong")) is None


def test_every_bad_field_is_named_and_nothing_saved(client, session):
    response = _register(client, account_type="x", username="a", email="nope", display_name="",
                         password="short", password_confirm="other", real_name="", id_number="")
    assert response.status_code == 422
    for field in ("account_type", "username", "email", "display_name", "password",
                  "password_confirm", "real_name", "id_number"):
        assert f'id="{field}-error"' in response.text or f"{field}-error" in response.text, field
    assert session.scalar(select(User)) is None
    # Passwords are never echoed back into the form.
    assert "short" not in response.text.split("<main", 1)[1]


def test_duplicate_username_and_email(client):
    assert _register(client, id_number="11010519491231002X").status_code == 303
    client.cookies.clear()
    response = _register(client, id_number="360426199101010071")
    assert response.status_code == 422
    assert "该用户名已被使用" in response.text
    assert "该电子邮箱已注册账号" in response.text
