"""Where two factors are enforced at the doors, for users who must use them (``User.must_use_two_factor``).

- Portal: a session their authenticator has not verified reaches only log-in, log-out and the
  enrolment page (``TwoFactorRequiredMiddleware``, after django-otp's ``OTPMiddleware``).
- API: a session call needs an OTP-verified session; a token works only if it was issued from one
  (``entities.two_factor.api_token_issue`` records it). Both answer 403 with a code saying what to do.
"""

from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.authentication import SessionScheme, TokenScheme
from rest_framework import authentication, exceptions

from . import api_tokens
from .models import ApiTokenIssue


def is_otp_verified(user) -> bool:
    verified = getattr(user, "is_verified", None)
    return bool(verified and verified())


def _refusal(user) -> exceptions.PermissionDenied:
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return exceptions.PermissionDenied(
            _("You have no authenticator yet: enrol one at /account/two-factor/ with the enrolment code your "
              "administrator issues you."), "otp_enrolment_required")
    return exceptions.PermissionDenied(
        _("This session is not verified by your authenticator: log in at /login/ with your password and the code "
          "your authenticator shows."), "otp_required")


class OTPSessionAuthentication(authentication.SessionAuthentication):
    """Session authentication that refuses a session not verified by the user's authenticator."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None and result[0].must_use_two_factor and not is_otp_verified(result[0]):
            raise _refusal(result[0])
        return result


class OTPTokenAuthentication(authentication.TokenAuthentication):
    """Token authentication that accepts, for a user who must use two factors, only a token issued from a
    session verified by their authenticator; and the named, scoped tokens of the portal (``cets_...``, see
    ``entities.api_tokens``), refused on writes when read-only, and when expired or revoked."""

    def authenticate(self, request):
        auth = authentication.get_authorization_header(request).split()
        if len(auth) == 2 and auth[0].lower() == self.keyword.lower().encode():
            key = auth[1].decode(errors="replace")
            if api_tokens.is_scoped_key(key):
                try:
                    return api_tokens.api_token_authenticate(key=key, method=request.method)
                except api_tokens.TokenRefused as refused:
                    error = (exceptions.PermissionDenied if refused.status == 403 else exceptions.AuthenticationFailed)
                    raise error(refused.message, refused.code)
        return super().authenticate(request)

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if user.must_use_two_factor and not ApiTokenIssue.objects.filter(token=token, otp_verified=True).exists():
            raise exceptions.PermissionDenied(
                _("This token was not issued from a two-factor session: sign in with your authenticator code and "
                  "issue a new token at /api/v1/auth/token/."), "token_not_otp_issued")
        return user, token


class TwoFactorRequiredMiddleware:
    """Send a user who must use two factors, in a session their authenticator has not verified, to the
    enrolment page (which says what to do); only log-in, log-out and that page stay open. /admin/ asks for
    the code itself and the API answers its own 403."""

    OPEN_PREFIXES = ("/static/", "/i18n/", "/jsi18n/", "/admin/", "/api/", "/media/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and user.must_use_two_factor and not is_otp_verified(user)
                and not request.path.startswith(self.OPEN_PREFIXES)
                and request.path not in (reverse("login"), reverse("logout"), reverse("two-factor"))):
            return redirect("two-factor")
        return self.get_response(request)


class OTPSessionScheme(SessionScheme):
    """The OpenAPI description of ``OTPSessionAuthentication``: a session cookie, as DRF's."""

    target_class = OTPSessionAuthentication


class OTPTokenScheme(TokenScheme):
    """The OpenAPI description of ``OTPTokenAuthentication``: ``Authorization: Token <key>``, as DRF's."""

    target_class = OTPTokenAuthentication
