"""Chinese by default, English on request, and the language switcher on every page."""

import re

import pytest
from django.test import Client

from cets.common.models import Job
from tests.conftest import otp_login

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(entity_user, entity):
    job = Job.objects.create(kind="upload", total=4, done=1, created_by=entity_user)
    return ["/", "/home/", "/entities/mine/", f"/entities/{entity.pk}/", f"/jobs/{job.pk}/"]


def _switcher(html: str) -> bool:
    return all(part in html for part in ('action="/i18n/setlang/"', 'data-testid="lang-en"',
                                         'data-testid="lang-zh-hans"'))


@pytest.fixture
def client():
    """A browser that states no language preference: it must get the default, Chinese."""
    return Client()


def test_login_page_defaults_to_chinese_and_switches(client):
    page = client.get("/login/").content.decode()
    assert '<html lang="zh-hans">' in page and "登录" in page and _switcher(page)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302 and response["Location"] == "/login/"
    english = client.get("/login/").content.decode()
    assert '<html lang="en">' in english and "Log in" in english and "登录" not in english


def test_every_portal_page_has_the_switcher_in_both_languages(client, entity_user, pages):
    client.force_login(entity_user)
    for url in pages:
        chinese = client.get(url, follow=True).content.decode()
        assert _switcher(chinese), url
        assert "退出登录" in chinese and "生态环境部" in chinese, url
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    for url in pages:
        english = client.get(url, follow=True).content.decode()
        assert _switcher(english), url
        assert "Log out" in english and "退出登录" not in english, url
        assert re.search(r'class="[^"]*\bactive\b[^"]*"[^>]*data-testid="lang-en"', english), url


def test_entity_page_labels_are_translated(client, entity_user, entity):
    client.force_login(entity_user)
    chinese = client.get(f"/entities/{entity.pk}/").content.decode()
    for text in ("统一社会信用代码", "额定功率（MW）", "燃煤", "水冷", "机组类别",
                 "常规燃煤，额定功率 660.00 MW ≥ 400 MW"):
        assert text in chinese
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get(f"/entities/{entity.pk}/").content.decode()
    for text in ("Unified social credit code", "Rated power (MW)", "Coal", "Water-cooled", "ETS category",
                 "conventional coal, rated power 660.00 MW &gt;= 400 MW"):
        assert text in english


def test_regulator_home_plural_in_chinese(client, hubei, entity):
    otp_login(client, hubei)
    assert "辖区内共有 1 家重点排放单位" in client.get("/home/").content.decode()


def test_admin_has_the_switcher_and_translated_title(client, admin_login, hubei):
    login = client.get("/admin/login/").content.decode()
    assert _switcher(login) and "CETS · 全国碳市场" in login
    admin_login(client, hubei)
    index = client.get("/admin/").content.decode()
    assert _switcher(index) and "全国碳市场管理" in index
    client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    assert "National carbon market administration" in client.get("/admin/").content.decode()


def test_api_errors_follow_accept_language(api, hubei, guangdong):
    from tests import factories as f

    payload = {"name": "测试", "credit_code": f.credit_code("420100"), "province": "42", "city": "420100",
               "inclusion_year": 2021}
    client = api(guangdong)
    client.credentials(HTTP_ACCEPT_LANGUAGE="zh-hans")
    response = client.post("/api/v1/entities/", payload, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "只有国家主管部门或本省主管部门可以登记重点排放单位。"
