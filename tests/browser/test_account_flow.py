"""register → the authority verifies → log in → switch language → log out, as a person does it."""

from __future__ import annotations

from kaifang.auth.models import Role
from tests.browser.conftest import shot
from tests.factories import PASSWORD, make_user


def _login(page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#login", username)
    page.fill("#password", password)
    page.click("form[action='/login'] button[type=submit]")


def _logout(page) -> None:
    page.click("[data-testid=logout]")


def test_register_verify_login_language_logout(live_server, page, session, settings):
    make_user(session, settings, "reviewer", roles=(Role.AUTHORITY_REVIEWER,))
    session.commit()
    url = live_server.url

    page.goto(url)
    assert "查找、利用和申请本市公共数据" in page.content()
    shot(page, "01-home-zh")

    page.click("text=注册")
    page.check("input[value=natural_person]")
    page.fill("#username", "liuyong")
    page.fill("#email", "liuyong@example.test")
    page.fill("#display_name", "刘用")
    page.fill("#password", "a-long-pass-1")
    page.fill("#password_confirm", "a-long-pass-1")
    page.fill("#real_name", "刘用")
    page.fill("#id_number", "110105194912310021")  # wrong check digit first
    shot(page, "02-register-filled")
    page.click("form[action='/register'] button[type=submit]")
    assert page.locator("#id_number-error").inner_text().startswith("身份证号码校验码错误")
    shot(page, "03-register-error")

    page.fill("#password", "a-long-pass-1")
    page.fill("#password_confirm", "a-long-pass-1")
    page.fill("#id_number", "11010519491231002X")
    page.click("form[action='/register'] button[type=submit]")
    page.wait_for_url(f"{url}/account")
    assert page.locator("[data-testid=verification-status]").inner_text().count("待审核") == 1
    shot(page, "04-account-pending")
    _logout(page)

    _login(page, url, "reviewer", PASSWORD)
    page.goto(f"{url}/admin/verifications")
    row = page.locator("[data-testid=verification-liuyong]")
    assert "110105********002X" in row.inner_text()
    shot(page, "05-reviewer-queue")
    row.locator("button[value=approve]").click()
    assert "身份认证已通过" in page.content()
    _logout(page)

    _login(page, url, "liuyong", "a-long-pass-1")
    page.goto(f"{url}/account")
    assert "已认证" in page.locator("[data-testid=verification-status]").inner_text()
    shot(page, "06-account-verified-zh")

    page.click("a[data-lang=en]")
    page.wait_for_load_state()
    assert "Identity verification" in page.content()
    assert "Verified" in page.locator("[data-testid=verification-status]").inner_text()
    shot(page, "07-account-verified-en")

    _logout(page)
    assert "You have logged out." in page.content()
    page.goto(f"{url}/account")
    assert "/login" in page.url
    shot(page, "08-logged-out-en")


def test_phone_sized_screen(live_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(live_server.url)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways on a phone ({width}px)"
    shot(page, "09-home-phone")
    page.goto(f"{live_server.url}/register")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "10-register-phone")
    context.close()
