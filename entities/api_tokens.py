"""Named API tokens that integrators create in the portal: one organisation, read or write, an expiry, revocable.

- The secret (``cets_`` + 40 random characters) is shown once; only its SHA-256 is stored, so a copy of the
  database gives no working key. The secret has 240 bits of entropy: a plain hash is enough, no slow KDF.
- A token acts as its creator, for the organisation (entity) the creator acted for when creating it; if the
  creator's ties change, the token stops (``api_token_authenticate``).
- A read token is refused on every unsafe method with 403 ``token_read_only``; an expired or revoked one
  answers 401 saying which.
"""

import datetime as dt
import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import DomainError, Forbidden, NotFound

from .models import ApiToken, User

PREFIX = "cets_"
#: Expiry choices offered in the portal (days); the API refuses anything longer than the last.
EXPIRY_DAYS = (30, 90, 180, 365)
MAX_ACTIVE_TOKENS = 20
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def is_scoped_key(key: str) -> bool:
    return key.startswith(PREFIX)


def token_scope_of(user: User) -> tuple[int | None, int | None]:
    """(entity id, organisation id): the one organisation a token of this user may act for."""
    if user.entity_id:
        return user.entity_id, None
    return None, user.organisation_id


def may_hold_api_tokens(user: User) -> bool:
    """Users acting for an entity or an organisation (integrators, entity users, traders, agencies)."""
    return user.is_authenticated and any(token_scope_of(user)) and not user.must_use_two_factor


def api_tokens_of(*, user: User):
    """The user's own tokens, newest first: nobody lists another person's tokens here."""
    return ApiToken.objects.filter(user=user).select_related("entity", "organisation")


@transaction.atomic
def api_token_create(*, actor: User, name: str, access: str, expires_in_days: int) -> tuple[ApiToken, str]:
    """A new token for ``actor``, scoped to the organisation it acts for; returns the row and the secret, which
    is never shown again."""
    if not may_hold_api_tokens(actor):
        raise Forbidden(_("Only users acting for an entity or an organisation create API tokens here."))
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the token a name, e.g. the system that will use it."), "required", "name")
    if access not in ApiToken.Access.values:
        raise DomainError(_("Access is read or write."), "invalid_choice", "access")
    if expires_in_days not in EXPIRY_DAYS:
        raise DomainError(_("A token expires after 30, 90, 180 or 365 days."), "invalid_choice", "expires_in_days")
    now = timezone.now()
    active = ApiToken.objects.filter(user=actor, revoked_at__isnull=True, expires_at__gt=now)
    if active.count() >= MAX_ACTIVE_TOKENS:
        raise DomainError(_("You have %(count)d active tokens, the most allowed: revoke one first.")
                          % {"count": MAX_ACTIVE_TOKENS}, "too_many_tokens", "name")
    key = PREFIX + secrets.token_urlsafe(30)
    entity_id, organisation_id = token_scope_of(actor)
    token = ApiToken.objects.create(
        user=actor, name=name, access=access, entity_id=entity_id, organisation_id=organisation_id,
        prefix=key[:10], key_hash=_hash(key), expires_at=now + dt.timedelta(days=expires_in_days))
    audit_record(actor=actor, action="api_token.create", obj=token,
                 after={"name": name, "access": access, "expires_at": token.expires_at.isoformat(),
                        "entity": entity_id, "organisation": organisation_id})
    return token, key


@transaction.atomic
def api_token_revoke_named(*, actor: User, pk: int) -> ApiToken:
    """Revoke one of the actor's tokens now. Another user's token is 'not found' (we never say whose)."""
    token = ApiToken.objects.select_for_update().filter(pk=pk, user=actor).first()
    if token is None:
        raise NotFound(_("No such API token."))
    if token.revoked_at is not None:
        raise DomainError(_("This token was already revoked on %(when)s.")
                          % {"when": timezone.localtime(token.revoked_at).strftime("%Y-%m-%d %H:%M")},
                          "already_revoked")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action="api_token.revoke", obj=token, after={"revoked_at": token.revoked_at.isoformat()})
    return token


class TokenRefused(Exception):
    """Why a scoped key was refused: ``status`` 401 (not valid) or 403 (valid, but not for this)."""

    def __init__(self, message, code: str, status: int):
        super().__init__(str(message))
        self.message, self.code, self.status = message, code, status


def api_token_authenticate(*, key: str, method: str) -> tuple[User, ApiToken]:
    """The user a scoped key acts as, if it is known, unrevoked, unexpired, still in its scope and allowed
    this method; raises ``TokenRefused`` otherwise. Marks the token used (at most once a minute)."""
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash(key)).first()
    if token is None or not token.user.is_active:
        raise TokenRefused(_("Invalid token."), "authentication_failed", 401)
    now = timezone.now()
    if token.revoked_at is not None:
        raise TokenRefused(_("This token was revoked: create a new one in the portal (API tokens)."),
                           "token_revoked", 401)
    if token.expires_at <= now:
        raise TokenRefused(_("This token expired on %(when)s: create a new one in the portal (API tokens).")
                           % {"when": timezone.localtime(token.expires_at).strftime("%Y-%m-%d")},
                           "token_expired", 401)
    if (token.entity_id, token.organisation_id) != token_scope_of(token.user):
        raise TokenRefused(_("This token's organisation is no longer the one you act for: create a new token."),
                           "token_scope_changed", 401)
    if token.access == ApiToken.Access.READ and method.upper() not in SAFE_METHODS:
        raise TokenRefused(_("This token is read-only: use a token with write access for %(method)s requests.")
                           % {"method": method.upper()}, "token_read_only", 403)
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token
