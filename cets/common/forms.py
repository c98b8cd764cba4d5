"""Log-in forms: a cache-based lockout against password guessing, for the portal and /admin/."""

import hashlib

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _


class LoginThrottleMixin:
    """Refuse a username from one address after ``LOGIN_FAILURE_LIMIT`` failures in the lockout window.

    Counted per (username, client address) in the shared cache, so one attacker cannot lock a
    regulator out from everywhere, and gunicorn workers share the count through Redis.
    """

    lockout_message = _("Too many failed log-in attempts. Please wait %(minutes)s minutes and try again.")

    def _throttle_key(self) -> str:
        username = (self.data.get("username") or "").strip().lower()
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        return "login-fail:" + hashlib.sha256(f"{username}|{address}".encode()).hexdigest()

    def clean(self):
        key = self._throttle_key()
        if cache.get(key, 0) >= settings.LOGIN_FAILURE_LIMIT:
            raise forms.ValidationError(self.lockout_message, code="locked_out",
                                        params={"minutes": settings.LOGIN_LOCKOUT_SECONDS // 60})
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if cache.add(key, 1, settings.LOGIN_LOCKOUT_SECONDS) is False:
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.set(key, 1, settings.LOGIN_LOCKOUT_SECONDS)
            raise
        cache.delete(key)
        return cleaned


class PortalLoginForm(LoginThrottleMixin, AuthenticationForm):
    """The portal's username and password form."""
