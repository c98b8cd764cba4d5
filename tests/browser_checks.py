"""What every browser test checks on a page: nothing runs past the screen's right edge, no table cell hides
its text, and axe-core (vendored from npm under tests/vendor, never served) finds no serious or critical
accessibility violation. Also how a test hands a Django session to Chromium."""

from pathlib import Path

from django.test import Client

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"

# Elements wider than the viewport; a table scrolling inside its own box (overflow-x auto) is allowed.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = e => { for (; e && e !== document.body; e = e.parentElement) {
    if (['auto', 'scroll'].includes(getComputedStyle(e).overflowX)) return true; } return false; };
  const wide = [...document.querySelectorAll('body *')].filter(e => {
    if (scrolls(e)) return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > width + 1;
  }).map(e => e.tagName + '.' + e.className);
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
}"""

# Table cells whose text is cut off (wider than the cell, which hides the rest).
CLIPPED = """() => [...document.querySelectorAll('td, th')].filter(c => {
  const s = getComputedStyle(c);
  return c.scrollWidth > c.clientWidth + 1 && (s.overflow === 'hidden' || s.textOverflow === 'ellipsis');
}).map(c => c.innerText.slice(0, 40)).slice(0, 5)"""

AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
    .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
}"""


def session_cookie(client: Client, url: str) -> dict:
    """The session of a logged-in test client, as a cookie for Chromium on the live server."""
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}


def assert_fits(page, where: str) -> None:
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= found["width"] + 1 and not found["wide"], (where, found)
    clipped = page.evaluate(CLIPPED)
    assert not clipped, (where, "clipped table cells", clipped)


def accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the page (evaluated through the DevTools protocol, which
    the page's strict CSP does not govern; a script tag would be refused, as it should be)."""
    page.evaluate(AXE.read_text() + "\n;0")
    return page.evaluate(AXE_RUN)
