"""The industrial sectors' portal pages in Chromium, at a laptop's and a phone's width (issue 15 point 4):
each page shows the sector's own figures and nothing runs past the right edge of the screen."""

import datetime as dt

import pytest
from django.test import Client

from mrv import services, uploads

from ..browser_checks import assert_fits, session_cookie
from ..test_browser import browser  # noqa: F401 (the shared Chromium fixture)
from .conftest import CEMENT_MONTH, STEEL_MONTH
from .test_sector_uploads import CEMENT_COLUMNS, _cement_rows, _csv

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1366, 390)


def _open(browser, user, url: str, width: int):  # noqa: F811
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 800})
    context.set_default_timeout(15000)
    client = Client()
    client.force_login(user)
    context.add_cookies([session_cookie(client, url)])
    return context


def test_cement_and_steel_pages_fit_at_both_widths(browser, live_server, cement_entity, steel_entity,  # noqa: F811
                                                   facility_user):
    today = dt.date(2025, 4, 20)
    cement_user, steel_user = facility_user(cement_entity), facility_user(steel_entity)
    cement_month = services.submission_submit(actor=cement_user, unit=cement_entity.units.get(), year=2025, month=3,
                                              inputs=CEMENT_MONTH, today=today)
    steel_month = services.submission_submit(actor=steel_user, unit=steel_entity.units.get(), year=2025, month=3,
                                             inputs=STEEL_MONTH, today=today)
    preview = uploads.upload_preview(actor=cement_user, content=_csv(CEMENT_COLUMNS, _cement_rows(month=2)).read(),
                                     filename="cement.csv", today=today)
    pages = [
        (cement_user, f"/mrv/submissions/{cement_month.pk}/", str(cement_month.emissions_tco2)),
        (cement_user, f"/mrv/entities/{cement_entity.pk}/?year=2025", cement_entity.units.get().code),
        (cement_user, f"/mrv/entities/{cement_entity.pk}/facility-month/", "clinker"),
        (cement_user, f"/mrv/uploads/{preview.pk}/", cement_entity.units.get().code),
        (cement_user, "/mrv/upload/", "type=\"file\""),
        (steel_user, f"/mrv/submissions/{steel_month.pk}/", str(steel_month.emissions_tco2)),
        (steel_user, f"/mrv/entities/{steel_entity.pk}/?year=2025", steel_entity.units.get().code),
    ]
    for width in WIDTHS:
        for user, path, expected in pages:
            context = _open(browser, user, live_server.url, width)
            page = context.new_page()
            response = page.goto(live_server.url + path)
            assert response.status == 200, path
            assert expected in page.content(), (path, expected)
            assert_fits(page, f"{path} at {width}px")
            context.close()
