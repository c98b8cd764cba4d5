"""Browser tests: Playwright driving Debian's Chromium against the live server (never downloads a browser).

An entity user logs in at the portal and a provincial regulator at /admin/ (password + TOTP); each sees
their home page in Chinese (the browser's locale) and, after pressing the language button, in English.
"""

import os
from pathlib import Path

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if os.path.exists(p)),
                "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
PASSWORD = "pass-word-123"
SCREENSHOTS = Path(os.environ.get("CETS_SCREENSHOTS", "/tmp"))


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make while
    # it runs (fixtures, the TOTP device) are still synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15000)
    yield context.new_page()
    context.close()


def _token(user) -> str:
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def test_entity_user_logs_in_and_sees_its_units_in_chinese_and_english(page, live_server, entity_user, entity):
    page.goto(f"{live_server.url}/login/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.fill("input[name=username]", entity_user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{live_server.url}/home/")
    assert "欢迎" in page.inner_text("[data-testid=home-title]")
    assert entity.name in page.inner_text("main")
    assert page.inner_text("[data-testid=home-units]").split() == ["机组:", "HB-WH-01", "HB-WH-02"]
    page.click("text=单位信息与机组")
    page.wait_for_url(f"{live_server.url}/entities/{entity.pk}/")
    units = page.inner_text("[data-testid=units-power]")
    assert "HB-WH-01" in units and "HB-WH-02" in units
    assert "额定功率（MW）" in units and "燃煤" in units
    assert "carbon-manager" in page.inner_text("[data-testid=who]")

    page.click("[data-testid=lang-en]")
    page.wait_for_selector("html[lang=en]")
    assert page.url == f"{live_server.url}/entities/{entity.pk}/"
    units = page.inner_text("[data-testid=units-power]")
    assert "HB-WH-01" in units and "Rated power (MW)" in units and "Coal" in units
    page.screenshot(path=str(SCREENSHOTS / "cets_entity_en.png"), full_page=True)
    page.click("text=Home")
    assert "Welcome" in page.inner_text("[data-testid=home-title]")
    assert page.inner_text("[data-testid=home-units]").split() == ["Units:", "HB-WH-01", "HB-WH-02"]

    page.click("[data-testid=lang-zh-hans]")
    page.wait_for_selector("html[lang=zh-hans]")
    assert "欢迎" in page.inner_text("[data-testid=home-title]")


def test_provincial_regulator_logs_in_to_admin_with_totp(page, live_server, hubei, entity):
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("input[name=username]", hubei.username)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=otp_token]", "000000" if _token(hubei) != "000000" else "111111")
    page.click("input[type=submit]")
    assert page.locator(".errornote, .errorlist").count() > 0
    assert "/admin/login/" in page.url
    # django-otp refuses any code for 2^(failures-1) seconds after a wrong one.
    page.wait_for_timeout(1100)

    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=otp_token]", _token(hubei))
    page.click("input[type=submit]")
    page.wait_for_load_state()
    assert page.url == f"{live_server.url}/admin/", page.inner_text("#content")
    content = page.inner_text("#content")
    assert "全国碳市场管理" in content and "重点排放单位" in content
    page.screenshot(path=str(SCREENSHOTS / "cets_admin_zh.png"), full_page=True)

    page.click("[data-testid=lang-en]")
    page.wait_for_selector("html[lang=en]")
    content = page.inner_text("#content")
    assert "National carbon market administration" in content and "Key emitting entities" in content
    page.goto(f"{live_server.url}/admin/entities/keyentity/")
    assert entity.credit_code in page.inner_text("#result_list")
