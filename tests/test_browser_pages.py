"""The 25 main pages of the demo market as their users see them (issue 19 point 10): Chromium opens each in
Chinese and English at a laptop's (1366 px) and a phone's (390 px) width, takes a screenshot, and fails on
horizontal overflow, clipped table cells and axe-core's serious or critical accessibility violations.

One test on purpose: the demo market (``seed_demo``) is built once and every page is read from it."""

import io

import pytest
from django.core.management import call_command
from django.test import Client

from entities.models import User
from tests.browser_checks import accessibility_violations, assert_fits, session_cookie
from tests.conftest import otp_login
from tests.test_browser import SCREENSHOTS, browser  # noqa: F401 (the shared Chromium fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1366, 390)
LANGUAGES = {"zh-hans": "zh-CN", "en": "en-US"}
# (demo user or None for the public, path): the pages each kind of user starts from.
PAGES = [
    (None, "/"), (None, "/search/?q=2024"), (None, "/trading/public/"), (None, "/compliance/public/"),
    (None, "/registry/public/"), (None, "/voluntary/public/"), (None, "/voluntary/public/projects/"),
    (None, "/login/"),
    ("huaneng", "/home/"), ("huaneng", "/mrv/"), ("huaneng", "/mrv/upload/"), ("huaneng", "/registry/"),
    ("huaneng", "/registry/transactions/"), ("huaneng", "/allowances/"), ("huaneng", "/trading/"),
    ("huaneng", "/compliance/"), ("huaneng", "/entities/mine/"),
    ("ctg-owner", "/voluntary/"), ("verifier", "/mrv/verifications/"),
    ("hubei", "/home/"), ("hubei", "/mrv/"), ("hubei", "/mrv/warnings/"), ("hubei", "/compliance/cycles/2024/risk/"),
    ("hubei", "/allowances/runs/"), ("mee", "/admin/"),
]


def _session(username: str | None, language: str, url: str) -> list[dict]:
    client = Client()
    if username is not None:
        otp_login(client, User.objects.get(username=username))
    else:
        client.get("/")  # an anonymous session, so the language choice below has somewhere to live
    client.post("/i18n/setlang/", {"language": language, "next": "/"})
    cookies = [{"name": "django_language", "value": language, "url": url}]
    return cookies + ([session_cookie(client, url)] if "sessionid" in client.cookies else [])


def test_main_pages_fit_and_are_accessible_in_both_languages(browser, live_server):  # noqa: F811
    call_command("seed_demo", stdout=io.StringIO())
    assert len(PAGES) == 25
    problems = []
    for language, locale in LANGUAGES.items():
        for username in dict.fromkeys(user for user, _path in PAGES):
            # One browser per user and language; each page is loaded once and looked at in both widths.
            context = browser.new_context(locale=locale, viewport={"width": WIDTHS[0], "height": 900})
            context.set_default_timeout(15000)
            context.add_cookies(_session(username, language, live_server.url))
            page = context.new_page()
            for path in (path for user, path in PAGES if user == username):
                problems += _look_at(page, live_server.url, username, path, language)
            context.close()
    assert problems == [], "\n".join(problems)


def _look_at(page, url: str, username: str | None, path: str, language: str) -> list[str]:
    where = f"{username or 'public'} {path} {language}"
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    response = page.goto(url + path)
    if response.status != 200:
        return [f"{where}: HTTP {response.status}"]
    assert page.locator("html").get_attribute("lang") == language, where
    # axe once per page, in the default language (the markup is the same in both).
    problems = [f"{where}: {v}" for v in accessibility_violations(page)] if language == "zh-hans" else []
    name = f"{username or 'public'}{path}".strip("/").replace("/", "_").replace("?", "_")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENSHOTS / f"cets_{name}_{language}_{width}.png"), full_page=True)
        try:
            assert_fits(page, f"{where} {width}px")
        except AssertionError as exc:
            problems.append(str(exc))
    return problems
