"""Browser test of the role homes: the entity's and a provincial regulator's, at desktop (1366 px) and phone
(390 px) widths, in Chinese, with no horizontal overflow and their queues in sight."""

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from mrv.models import MonthlySubmission
from tests.conftest import otp_login
from tests.test_browser import SCREENSHOTS, browser  # noqa: F401 (the shared Chromium fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _signed_in_page(browser, live_server, user, width):  # noqa: F811
    client = Client()
    otp_login(client, user)
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    return context


@pytest.mark.parametrize("width", [1366, 390])
def test_entity_and_provincial_homes_fit_the_screen(browser, live_server, entity, entity_user, hubei, width):  # noqa: F811
    MonthlySubmission.objects.create(
        entity=entity, unit=entity.units.first(), year=2025, month=3, emissions_tco2=Decimal("1000"),
        deadline=dt.date(2025, 5, 10), on_time=False, submitted_by=entity_user, submitted_at=timezone.now(),
        status=MonthlySubmission.Status.PROVINCIAL_REVIEW, review_due=dt.date(2025, 5, 20))
    for user, marker in ((entity_user, "position"), (hubei, "queues")):
        context = _signed_in_page(browser, live_server, user, width)
        page = context.new_page()
        page.goto(f"{live_server.url}/home/")
        assert page.locator(f"[data-testid={marker}]").count() == 1
        page.screenshot(path=str(SCREENSHOTS / f"cets_workqueue_{user.role}_{width}.png"), full_page=True)
        assert page.evaluate(OVERFLOW) <= 0, f"{user.role} home overflows at {width} px"
        if user == hubei:
            assert page.inner_text("[data-testid=queue-reviews] .queue-count") == "1"
            assert entity.name in page.inner_text("[data-testid=review-rows]")
        context.close()
