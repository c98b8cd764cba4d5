"""Browser test of the public portal: the ECharts chart draws on its canvas under the strict CSP, no violation."""

from datetime import date
from decimal import Decimal

import pytest

from tests.test_browser import SCREENSHOTS, browser, page  # noqa: F401 (the shared Chromium fixtures)
from trading.models import DailyBar, Product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Recorded before any page script runs (Playwright's init scripts are not subject to the page's CSP).
WATCH_CSP = """window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));"""


def test_portal_chart_renders_without_csp_violation(page, live_server):  # noqa: F811
    product = Product.objects.get(code="CEA23")
    for day, close, previous in ((1, "79.00", "79.42"), (2, "80.00", "79.00"), (3, "81.50", "80.00")):
        DailyBar.objects.create(product=product, date=date(2026, 12, day), close=Decimal(close),
                                previous_close=Decimal(previous), listed_volume=1000 * day, bulk_volume=100_000)
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(WATCH_CSP)

    page.goto(f"{live_server.url}/")
    page.wait_for_selector("[data-testid=price-chart][data-echart-ready='1'] canvas")
    size = page.eval_on_selector("[data-testid=price-chart] canvas", "c => [c.width, c.height]")
    assert size[0] > 300 and size[1] > 200
    # The canvas has been drawn on: not a blank image.
    drawn = page.eval_on_selector("[data-testid=price-chart] canvas", """c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i]) n++; } return n; }""")
    assert drawn > 1000
    assert page.inner_text("[data-testid=close]") == "81.50"
    assert page.locator("form input[name=password]").count() == 0
    page.hover("[data-testid=price-chart] canvas", position={"x": 400, "y": 150})  # the tooltip, on the canvas
    page.screenshot(path=str(SCREENSHOTS / "cets_portal.png"), full_page=True)
    assert page.evaluate("window.__csp") == []
    assert [e for e in errors if "Content Security Policy" in e or "Refused" in e] == []
    assert errors == []
