"""`manage.py check --deploy` is clean with production-like variables (and only with them)."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "cets.mee.gov.cn",
    "CSRF_TRUSTED_ORIGINS": "https://cets.mee.gov.cn",
    "SECURE_SSL_REDIRECT": "1",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
    "SECURE_HSTS_SECONDS": "31536000",
}


def _check(extra: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "SESSION_", "CSRF_"))}
    env.pop("SECRET_KEY", None)
    env.update(extra)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_production_variables():
    result = _check(PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stderr.upper()


def test_check_deploy_flags_the_demo_defaults():
    result = _check({"DEBUG": "1", "ALLOWED_HOSTS": "127.0.0.1"})
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W009", "security.W012", "security.W016",
                    "security.W018"):
        assert warning in result.stderr


def _settings(extra: dict, *names: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "SESSION_", "CSRF_"))}
    env.update(extra, DJANGO_SETTINGS_MODULE="cets.settings")
    code = ("import django; django.setup(); from django.conf import settings; "
            f"print(*[getattr(settings, n) for n in {list(names)!r}])")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


NAMES = ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS",
         "SECURE_HSTS_INCLUDE_SUBDOMAINS")


def test_https_is_on_by_default_when_debug_is_off():
    """A deployment that sets only the essentials is HTTPS-only; check --deploy is clean."""
    essentials = {k: v for k, v in PRODUCTION.items() if not k.startswith(("SECURE_", "SESSION_", "CSRF_COOKIE"))}
    assert _settings(essentials, *NAMES) == ["True", "True", "True", "31536000", "True"]
    result = _check(essentials)
    assert result.returncode == 0, result.stdout + result.stderr


def test_https_defaults_are_off_with_debug_and_overridable():
    assert _settings({"DEBUG": "1"}, *NAMES) == ["False", "False", "False", "0", "False"]
    overridden = {"DEBUG": "0", "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "3600"}
    assert _settings(overridden, *NAMES) == ["False", "True", "True", "3600", "True"]
