"""Opening trading participants and their accounts; who may act for an account."""

from django.db import transaction
from django.utils.translation import gettext as _

from cets.common.audit import audit_record
from cets.common.errors import DomainError, Forbidden

from ..models import CashAccount, Participant, TradingAccount


def _check_staff(actor) -> None:
    if actor is not None and actor.role not in (actor.Role.EXCHANGE_STAFF, actor.Role.NATIONAL_REGULATOR):
        raise Forbidden(_("Only exchange staff open trading accounts."))


@transaction.atomic
def participant_open(*, actor, registry_account, entity=None, organisation=None,
                     kind: str | None = None, name: str = "") -> TradingAccount:
    """Open a participant with its trading account (linked to its registry account) and cash account.

    ``actor`` None is the system (demo seeding, migrations); people must be exchange staff.
    """
    _check_staff(actor)
    if (entity is None) == (organisation is None):
        raise DomainError(_("A participant is either a key emitting entity or an organisation."), "invalid", "entity")
    owner_filter = {"entity": entity} if entity is not None else {"organisation": organisation}
    if Participant.objects.filter(**owner_filter).exists():
        raise DomainError(_("This participant already has a trading account."), "duplicate", "entity")
    kind = kind or (Participant.Kind.ENTITY if entity is not None else Participant.Kind.INSTITUTION)
    participant = Participant.objects.create(kind=kind, entity=entity, organisation=organisation,
                                             name=name or str(entity or organisation))
    account = TradingAccount.objects.create(participant=participant, registry_account=registry_account,
                                            number=f"T{participant.pk:09d}")
    CashAccount.objects.create(account=account)
    audit_record(actor=actor, action="trading.participant_open", obj=account,
                 after={"number": account.number, "participant": participant.name, "kind": kind})
    return account


def account_of_user(user) -> TradingAccount | None:
    """The trading account a user acts for: its entity's, or its organisation's."""
    if user is None or not user.is_authenticated:
        return None
    if user.acting_entity_id:
        return TradingAccount.objects.filter(participant__entity_id=user.acting_entity_id).select_related(
            "participant", "registry_account").first()
    if user.role == user.Role.PARTICIPANT and user.organisation_id:
        return TradingAccount.objects.filter(participant__organisation_id=user.organisation_id).select_related(
            "participant", "registry_account").first()
    return None


def check_acts_for(user, account: TradingAccount) -> None:
    """Only the account's own users trade on it; an inactive account or participant cannot trade.

    Decided from the account's participant and the user's ties alone (no query on the hot path).
    """
    participant = account.participant
    acting_entity = getattr(user, "acting_entity_id", None)
    mine = bool(acting_entity and participant.entity_id == acting_entity) or bool(
        getattr(user, "role", None) == "participant" and user.organisation_id
        and participant.organisation_id == user.organisation_id)
    if not mine:
        raise Forbidden(_("You do not act for trading account %(n)s.") % {"n": account.number})
    if not account.is_active or not participant.is_active:
        raise DomainError(_("Trading account %(n)s is suspended.") % {"n": account.number},
                          "account_suspended", "account")
