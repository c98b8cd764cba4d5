"""Two factors for the users with approval powers (``User.must_use_two_factor``): enrolment and API tokens.

- An authenticator is enrolled (or replaced) only from a session already verified by the user's
  authenticator, or with a one-time enrolment code an administrator issued: a password alone never
  binds a new authenticator to the account. Codes are stored hashed, expire, serve once, are audited.
- An API token of such a user is issued only from an OTP-verified session; how each token was issued is
  recorded (``ApiTokenIssue``) and token authentication refuses the others (``entities.authentication``).
"""

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from cets.common.audit import audit_record
from cets.common.errors import DomainError, Forbidden, NotFound
from cets.common.locks import lock_rows

from .models import ApiTokenIssue, EnrolmentCode, User

#: How long an enrolment code may wait to be used (a working week end to end, as EU registries' letters).
ENROLMENT_CODE_HOURS = 72
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone


def _normalised(code: str) -> str:
    return "".join(ch for ch in str(code).upper() if ch.isalnum())


def _hash(code: str) -> str:
    return hashlib.sha256(_normalised(code).encode()).hexdigest()


def may_issue_enrolment_codes(user) -> bool:
    """The administrators of user accounts: superusers and the national regulator."""
    return bool(user.is_superuser or getattr(user, "role", None) == User.Role.NATIONAL_REGULATOR)


@transaction.atomic
def enrolment_code_issue(*, actor: User, user: User, hours: int = ENROLMENT_CODE_HOURS) -> str:
    """Issue ``user`` a one-time enrolment code and return it (shown once; only its hash is kept).

    Earlier unused codes of the user end now: the latest letter is the only valid one.
    """
    if not may_issue_enrolment_codes(actor):
        raise Forbidden(_("Only an administrator issues authenticator enrolment codes."))
    if not user.must_use_two_factor:
        raise DomainError(_("This user signs in with a password only and needs no authenticator."),
                          "two_factor_not_required", "user")
    if not user.is_active:
        raise DomainError(_("This user is not active."), "inactive", "user")
    now = timezone.now()
    EnrolmentCode.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
    record = EnrolmentCode.objects.create(user=user, code_hash=_hash(code), issued_by=actor,
                                          expires_at=now + dt.timedelta(hours=hours))
    audit_record(actor=actor, action="totp.enrolment_code_issue", obj=record,
                 after={"user": user.pk, "expires_at": record.expires_at.isoformat()})
    return code


def _invalid_code() -> DomainError:
    return DomainError(_("This enrolment code is wrong, already used or expired: ask your administrator for a new "
                         "one."), "invalid_enrolment_code", "enrolment_code")


def enrolment_code_find(*, actor: User, code: str) -> EnrolmentCode:
    """The actor's usable enrolment code matching ``code`` (it is consumed only when an authenticator is confirmed)."""
    found = EnrolmentCode.objects.filter(user=actor, code_hash=_hash(code), used_at__isnull=True,
                                         expires_at__gt=timezone.now()).first()
    if found is None:
        raise _invalid_code()
    return found


def _refuse_unless_enrolling(actor: User, *, otp_verified: bool, enrolment_code: EnrolmentCode | None) -> None:
    if not actor.must_use_two_factor:
        raise Forbidden(_("Only users with approval powers sign in with an authenticator."))
    if otp_verified:
        return
    if enrolment_code is None or enrolment_code.user_id != actor.pk:
        # An authenticator bound with the password alone would defeat the second factor.
        raise Forbidden(_("Enter the enrolment code your administrator issued you, or sign in with your current "
                          "authenticator, to enrol an authenticator."), "enrolment_code_required", "enrolment_code")


@transaction.atomic
def totp_enrolment_start(*, actor: User, otp_verified: bool = False,
                         enrolment_code: EnrolmentCode | None = None) -> TOTPDevice:
    """The user's unconfirmed authenticator (TOTP secret), created on the first visit: a reload shows
    the same secret, so a QR code already scanned stays valid until it is confirmed."""
    _refuse_unless_enrolling(actor, otp_verified=otp_verified, enrolment_code=enrolment_code)
    device = TOTPDevice.objects.filter(user=actor, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=actor, name=_("authenticator"), confirmed=False)
        audit_record(actor=actor, action="totp.enrol", obj=device, after={"name": device.name, "confirmed": False})
    return device


def totp_enrolment_confirm(*, actor: User, token: str, otp_verified: bool = False,
                           enrolment_code: EnrolmentCode | None = None) -> TOTPDevice:
    """Confirm the pending authenticator with a current code from it; it replaces any earlier one.

    The enrolment code (when that is the grant) is consumed in the same transaction, under a row lock:
    two confirmations racing with one code enrol once. A wrong TOTP code is committed as a failure
    (django-otp then makes each further try wait longer), so the refusal is raised only after the
    transaction: rolling it back would undo that throttle.
    """
    with transaction.atomic():
        _refuse_unless_enrolling(actor, otp_verified=otp_verified, enrolment_code=enrolment_code)
        grant = None
        if not otp_verified:
            grant = lock_rows(EnrolmentCode.objects.filter(pk=enrolment_code.pk, used_at__isnull=True,
                                                           expires_at__gt=timezone.now()))
            if not grant:
                raise _invalid_code()
        pending = lock_rows(TOTPDevice.objects.filter(user=actor, confirmed=False))
        if not pending:
            raise NotFound(_("Open the two-factor page first to get a secret to confirm."), "no_pending_device")
        device = pending[0]
        accepted = device.verify_token(token)
        if accepted:
            replaced = list(TOTPDevice.objects.filter(user=actor).exclude(pk=device.pk).values_list("pk", flat=True))
            TOTPDevice.objects.filter(pk__in=replaced).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            if grant:
                grant[0].used_at = timezone.now()
                grant[0].save(update_fields=["used_at"])
            audit_record(actor=actor, action="totp.confirm", obj=device,
                         after={"name": device.name, "confirmed": True, "replaced": replaced,
                                "grant": "enrolment_code" if grant else "otp_session",
                                "enrolment_code": grant[0].pk if grant else None})
    if not accepted:
        raise DomainError(_("This code is wrong or has expired: enter the 6 digits your authenticator shows now."),
                          "invalid_token", "token")
    return device


@transaction.atomic
def api_token_issue(*, actor: User, otp_verified: bool) -> Token:
    """A new API token for the actor (the previous one stops working), recording how it was issued.

    A user who must use two factors gets one only from a session their authenticator verified.
    """
    if actor.must_use_two_factor and not otp_verified:
        raise Forbidden(_("Sign in with your authenticator code first: API tokens of users with approval powers are "
                          "issued only from a two-factor session."), "otp_required")
    Token.objects.filter(user=actor).delete()
    token = Token.objects.create(user=actor)
    ApiTokenIssue.objects.create(token=token, otp_verified=otp_verified)
    audit_record(actor=actor, action="api_token.issue", object_type="authtoken.token", object_id=actor.pk,
                 after={"otp_verified": otp_verified})
    return token


@transaction.atomic
def api_token_revoke(*, actor: User, user: User) -> bool:
    """End ``user``'s API token at once (a leaked key, a person leaving): True if there was one.

    A user revokes their own; an administrator of user accounts revokes anyone's.
    """
    if actor.pk != user.pk and not may_issue_enrolment_codes(actor):
        raise Forbidden(_("Only the token's owner or an administrator revokes an API token."))
    deleted, _rows = Token.objects.filter(user=user).delete()
    if deleted:
        audit_record(actor=actor, action="api_token.revoke", object_type="authtoken.token", object_id=user.pk,
                     after={"user": user.pk})
    return bool(deleted)
