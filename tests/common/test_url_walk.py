"""Every route with a parameter answers a malformed id with 404, never 500 (nor a 400 about the body):
found by walking the URL resolver, so a new route is covered the day it is added.

Also allowed: 405 for a method the route does not serve, and for the entity user 403 on a route its
role may never use (the role is refused before any lookup, which tells nothing about the object)."""

import re

import pytest
from django.urls import URLResolver, get_resolver, resolve
from rest_framework.test import APIClient

from entities.models import User
from entities.two_factor import api_token_issue

from .. import factories as f
from ..conftest import otp_login

# Values no id, code or serial accepts: not a number, and a number beyond a 64-bit key.
BAD = ["x1", "9" * 20]
PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def _routes(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route)
        else:
            yield route


def _concrete(route: str, bad: str) -> str:
    """A path for ``route`` with every parameter set to ``bad``."""
    path = PARAM.sub(bad, route)
    return "/" + path.replace("^", "").replace("$", "").replace("\\.", ".").replace("/?", "/")


# The admin answers a missing object with a redirect and a message (Django's own behaviour).
ROUTES = sorted(r for r in _routes(get_resolver().url_patterns) if PARAM.search(r) and not r.startswith("admin/"))


def test_the_walk_covers_every_app():
    """The walk sees the API and the portal of every app (a broken walk would prove nothing)."""
    paths = [_concrete(r, "x1") for r in ROUTES]
    assert len(paths) > 100
    for app in ("registry", "mrv", "allowances", "trading", "voluntary", "compliance"):
        assert any(p.startswith(f"/api/v1/{app}/") for p in paths)
        assert any(p.startswith(f"/{app}/") for p in paths)
    # A well-formed id still reaches its view on every route (the walk's 404s are about the id).
    for route in ROUTES:
        if "(?P<pk>" in route or "<int:" in route:
            resolve(_concrete(route, "12").replace("/json/", "/").replace(".json", ""))


@pytest.fixture
def users(db, entity_user):
    national = f.regulator(User.Role.NATIONAL_REGULATOR, username="mee")
    return {"regulator": national, "entity": entity_user}


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("who", ["regulator", "entity"])
def test_a_malformed_id_answers_404_on_every_route(users, who, bad):
    user = users[who]
    portal = otp_login(APIClient(HTTP_ACCEPT_LANGUAGE="en"), user) if user.is_staff else APIClient()
    if not user.is_staff:
        portal.force_login(user)
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    token = api_token_issue(actor=user, otp_verified=user.must_use_two_factor)  # as issued from a verified session
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    portal.raise_request_exception = api.raise_request_exception = False
    wrong = []
    allowed = (404, 405, 403) if who == "entity" else (404, 405)
    for path in (_concrete(route, bad) for route in ROUTES):
        client = api if path.startswith("/api/") else portal
        for method in ("get", "post"):
            response = getattr(client, method)(path, {}, format="json") if method == "post" else client.get(path)
            if response.status_code not in allowed:
                wrong.append(f"{method.upper()} {path} -> {response.status_code}")
            elif path.startswith("/api/") and response["Content-Type"] != "application/json":
                wrong.append(f"{method.upper()} {path} -> {response.status_code} {response['Content-Type']}")
    assert not wrong, f"{len(wrong)} routes do not answer 404:\n" + "\n".join(wrong)
