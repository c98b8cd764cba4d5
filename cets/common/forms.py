"""Log-in forms: a cache-based lockout against password guessing, for the portal and /admin/; the portal asks
users with approval powers for their authenticator code in the same form."""

import hashlib

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from django_otp.forms import OTPAuthenticationFormMixin
from django_otp.plugins.otp_totp.models import TOTPDevice


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


def single_totp_device(user):
    """The user's one confirmed authenticator, if they have exactly one (then there is nothing to choose)."""
    devices = list(TOTPDevice.objects.filter(user=user, confirmed=True)[:2])
    return devices[0] if len(devices) == 1 else None


class _PasswordAndCodeForm(OTPAuthenticationFormMixin, AuthenticationForm):
    """Password for everyone; the authenticator code too for a user who must use two factors and has one.

    Such a user without an authenticator is let in unverified: that session reaches only the enrolment
    page, where an administrator's enrolment code is needed (entities.authentication).
    """

    otp_error_messages = {
        **OTPAuthenticationFormMixin.otp_error_messages,
        "token_required": _("Regulators and exchange staff: enter the code your authenticator shows as well."),
        "invalid_token": _("This authenticator code is wrong or has expired: enter the code it shows now."),
    }
    otp_token = forms.CharField(label=_("Code from your authenticator (regulators and exchange staff)"),
                                required=False, max_length=12,
                                widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if getattr(user, "must_use_two_factor", False) and TOTPDevice.objects.filter(user=user,
                                                                                     confirmed=True).exists():
            self.clean_otp(user)
        return cleaned

    def _chosen_device(self, user):
        return single_totp_device(user)


class PortalLoginForm(LoginThrottleMixin, _PasswordAndCodeForm):
    """The portal's log-in: username and password, and the TOTP code of users with approval powers.

    A wrong or missing code counts as a failed log-in (lockout)."""
