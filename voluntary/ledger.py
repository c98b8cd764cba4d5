"""The voluntary market's calls into the registry: issue, transfer, cancel and retire CCERs.

One module so that every movement of a CCER goes through ``registry.services`` and the results come
back in one shape (instrument, serial ranges, transaction reference).

Issuance is four-eyes like every issuance in the registry: the system proposes it, with the verified
quantity the VVB certified (no person chooses the number), and the reviewer who registers the
reductions approves it; the registry then creates the serial range in the owner's account.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from cets.common.errors import DomainError
from registry import selectors as registry_selectors
from registry import services as registry


@dataclass(frozen=True)
class Issued:
    instrument_code: str
    serial_start: int
    serial_end: int
    serial_range: str
    reference: str


@dataclass(frozen=True)
class Cancelled:
    serials: list[dict]
    reference: str


def _tx_ref(tx) -> str:
    return f"TX{tx.pk}"


def _ranges(tx) -> list[dict]:
    instrument = tx.instrument
    return [{"start": leg.serial_start, "end": leg.serial_end,
             "range": instrument.serial_range(leg.serial_start, leg.serial_end)}
            for leg in tx.legs.order_by("serial_start")]


def holding_account(*, organisation=None, entity=None, create: bool = True):
    """The registry account CCERs of this holder live in (opened on demand for project owners)."""
    if entity is not None:
        account = registry.account_for_entity(entity=entity, create=create)
    else:
        account = registry.account_for_organisation(organisation=organisation, create=create)
    if account is None:
        raise DomainError(_("The holder has no registry account."), "no_account", "account")
    return account


def issue(*, actor, project, vintage: int, quantity: int, reference: str) -> Issued:
    """Issue ``quantity`` CCERs of the project's ``vintage`` into the owner's account."""
    instrument = registry.instrument_create_ccer(project_ref=project.ref, vintage=vintage)
    account = holding_account(organisation=project.owner)
    tx = registry.issuance_propose(actor=None, instrument=instrument, quantity=quantity, deliver_to=account)
    tx = registry.transaction_approve(actor=actor, transaction=tx)
    (leg,) = tx.legs.all()
    return Issued(instrument.code, leg.serial_start, leg.serial_end,
                  instrument.serial_range(leg.serial_start, leg.serial_end), _tx_ref(tx))


def ccer_instrument(code: str):
    """The registry instrument of a CCER code; a CEA is refused (``not_ccer``), an unknown code is not found."""
    instrument = registry_selectors.instrument_get(code)
    if instrument.kind != instrument.Kind.CCER:
        raise DomainError(_("This instrument is not a CCER."), "not_ccer", "instrument")
    return instrument


def transfer(*, actor, organisation, entity, instrument_code: str, to_account: str, quantity: int) -> dict:
    """A registry transfer (delayed by the registry's rules unless the recipient is trusted)."""
    source = holding_account(organisation=organisation, entity=entity, create=False)
    recipient = registry_selectors.account_by_number(to_account)
    tx = registry.transfer_create(actor=actor, from_account=source, to_account=recipient,
                                  instrument=ccer_instrument(instrument_code), quantity=quantity)
    return {"transaction": tx.pk, "status": tx.status, "not_before": tx.not_before, "from_account": source.number,
            "to_account": recipient.number, "instrument": instrument_code, "quantity": quantity}


def retire(*, actor, organisation, entity, instrument_code: str, quantity: int, beneficiary: str,
           purpose: str) -> Cancelled:
    account = holding_account(organisation=organisation, entity=entity, create=False)
    tx = registry.voluntary_retire(actor=actor, account=account, instrument=ccer_instrument(instrument_code),
                                   quantity=quantity, beneficiary=beneficiary, purpose=purpose)
    return Cancelled(_ranges(tx), _tx_ref(tx))


def cancel_for_offset(*, actor, entity, instrument_code: str, quantity: int, compliance_year: int) -> Cancelled:
    account = holding_account(entity=entity, create=False)
    tx = registry.ccer_cancel(actor=actor, account=account, instrument=ccer_instrument(instrument_code),
                              quantity=quantity, purpose="ETS offset", beneficiary=entity.name,
                              compliance_year=compliance_year)
    return Cancelled(_ranges(tx), _tx_ref(tx))
