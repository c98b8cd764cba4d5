"""Step-up: every four-eyes sign-off by a user with approval powers asks for a fresh authenticator code.

One rule for every door (API actions, admin actions, portal forms): the sign-off proceeds when the
request carries a current TOTP code (``otp_code`` form/body field or ``X-OTP-Code`` header), or, for a
browser session, when a code was verified in this session at most ``STEP_UP_SECONDS`` ago (5 minutes,
as the EU Union Registry re-asks for its SMS/app code before a transaction is signed). A token-
authenticated call has no session to remember a code: it must carry its own. Otherwise the door
answers 403 ``step_up_required`` naming the field ``otp_code`` and nothing changes.

Users who sign in with a password only (entity users approving a colleague's transfer) are not asked.
The check sits at the doors, before the service, so services keep their signatures.
"""

import functools
import time

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.helpers import ActionForm
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.utils import OpenApiParameter, extend_schema

from .errors import Forbidden

FIELD = "otp_code"
HEADER = "X-OTP-Code"
SESSION_KEY = "cets_step_up"


class StepUpRequired(Forbidden):
    """A sign-off without a fresh second factor: nothing was changed."""

    default_code = "step_up_required"

    def __init__(self, message=None, code=None):
        super().__init__(message or _("Enter a current code from your authenticator to sign this off: "
                                      "a code is valid for a sign-off for 5 minutes."), code, FIELD)


def _clock() -> float:
    """Seconds since the epoch (one place for tests to move the clock)."""
    return time.time()


def _step_up_seconds() -> int:
    return getattr(settings, "STEP_UP_SECONDS", 300)


def _submitted_code(request) -> str:
    code = request.headers.get(HEADER)
    if not code:
        data = getattr(request, "data", None)  # a DRF request's parsed body
        if data is None:
            data = request.POST
        code = data.get(FIELD) if hasattr(data, "get") else None
    return str(code or "").strip()


def step_up_record(request, user=None) -> None:
    """Remember in the session that ``user`` (the request's) has just given a valid code."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SESSION_KEY] = {"user": (user or request.user).pk, "at": _clock()}


def _session_is_fresh(request, user) -> bool:
    stamp = getattr(request, "session", {}).get(SESSION_KEY) or {}
    return stamp.get("user") == user.pk and 0 <= _clock() - stamp.get("at", 0) <= _step_up_seconds()


def step_up_check(request) -> None:
    """Pass when the request's user need not step up, gave a valid code now, or did so in this session at most
    5 minutes ago; otherwise raise ``StepUpRequired``. A valid code is remembered in the session."""
    user = request.user
    if not getattr(user, "must_use_two_factor", False):
        return
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is None:
        raise StepUpRequired(_("You have no authenticator: enrol one at /account/two-factor/ with the enrolment code "
                               "your administrator issues you."), "otp_enrolment_required")
    code = _submitted_code(request)
    if code:
        # django-otp verifies under a row lock, refuses a code already used and throttles repeated failures.
        if verify_token(user, device.persistent_id, code) is None:
            raise StepUpRequired(_("This authenticator code is wrong, already used or expired."),
                                 "invalid_otp_code")
        if getattr(request, "auth", None) is None:  # a browser or session call: later sign-offs reuse it
            step_up_record(request, user)
        return
    if getattr(request, "auth", None) is None and _session_is_fresh(request, user):
        return
    raise StepUpRequired()


STEP_UP_PARAMETER = OpenApiParameter(
    HEADER, str, OpenApiParameter.HEADER, required=False,
    description="A current authenticator code: required of regulators and exchange staff for a four-eyes sign-off "
                f"(or the body field `{FIELD}`; a session may reuse a code for 5 minutes)."
)


def step_up(view_method):
    """Decorate an API action (outside ``@idempotent``: a refused sign-off is not recorded as the key's answer)."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        step_up_check(request)
        return view_method(self, request, *args, **kwargs)

    return extend_schema(parameters=[STEP_UP_PARAMETER])(wrapper)


class StepUpActionForm(ActionForm):
    """The admin's action bar with a field for the authenticator code a sign-off action asks for."""

    otp_code = forms.CharField(label=gettext_lazy("Authenticator code (sign-offs)"), required=False, max_length=12,
                               widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                             "size": 7}))


def step_up_admin_action(action):
    """Decorate an admin action that signs off: without a fresh code it reports why and changes nothing."""

    @functools.wraps(action)
    def wrapper(modeladmin, request, queryset):
        try:
            step_up_check(request)
        except StepUpRequired as exc:
            modeladmin.message_user(request, f"{exc.message} ({FIELD})", messages.ERROR)
            return None
        return action(modeladmin, request, queryset)

    return wrapper
