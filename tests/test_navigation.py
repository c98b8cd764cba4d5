"""Every role's navigation leads to pages that answer, and public links work for anonymous readers."""

import re

import pytest

from tests.conftest import otp_login

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<nav class="mainnav">(.*?)</nav>', re.S)
HREF = re.compile(r'href="([^"]+)"')


def _nav_links(client) -> list[str]:
    page = client.get("/", follow=True).content.decode()
    return HREF.findall(NAV.search(page).group(1))


@pytest.mark.parametrize("who", ["entity_user", "hubei", "national", "verifier"])
def test_each_roles_nav_links_answer(client, request, who):
    user = request.getfixturevalue(who)
    otp_login(client, user)
    links = _nav_links(client)
    assert "/api/docs/" in links
    for link in links:
        if link.startswith("/admin/"):
            continue  # the admin needs a TOTP-verified session (tests/common/test_admin.py)
        assert client.get(link, follow=True).status_code == 200, link


def test_entity_user_nav_has_its_doors(client, entity_user):
    client.force_login(entity_user)
    links = _nav_links(client)
    for door in ("/entities/mine/", "/mrv/", "/registry/", "/allowances/", "/trading/", "/compliance/"):
        assert any(link.startswith(door) for link in links), door
    assert not any(link.startswith("/admin/") for link in links)


def test_anonymous_sees_public_links_only(client, db):
    links = _nav_links(client)
    assert "/login/" in links
    for link in links:
        assert client.get(link, follow=True).status_code == 200, link


def test_trading_desk_without_an_account_says_so(client, other_entity_user):
    client.force_login(other_entity_user)
    response = client.get("/trading/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert b'data-testid="no-trading-account"' in response.content
