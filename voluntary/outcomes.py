"""Retirement and transfer of CCERs, described as a person needs to confirm them and to keep the receipt:
quantity, serial ranges, the holder's units of that instrument before and after, fees (none) and the registry
transaction. The portal previews them with ``cets.common.preview.dry_run`` (the same call, rolled back)."""

from django.db import transaction

from registry import selectors as registry_selectors

from . import ledger, services


def _available(actor, instrument_code: str) -> int:
    organisation, entity = services._holder_of(actor)
    account = ledger.holding_account(organisation=organisation, entity=entity, create=False)
    return registry_selectors.balance(account, ledger.ccer_instrument(instrument_code)).available


@transaction.atomic
def retire_done(*, actor, instrument_code: str, quantity: int, beneficiary: str, purpose: str,
                purpose_detail: str = "") -> dict:
    before = _available(actor, instrument_code)
    use = services.credit_retire(actor=actor, instrument_code=instrument_code, quantity=quantity,
                                 beneficiary=beneficiary, purpose=purpose, purpose_detail=purpose_detail)
    return {"instrument": instrument_code, "quantity": use.quantity, "serials": [r["range"] for r in use.serials],
            "before": before, "after": _available(actor, instrument_code), "code": use.code,
            "registry_ref": use.registry_ref, "beneficiary": use.beneficiary, "purpose": use.get_purpose_display()}


@transaction.atomic
def transfer_done(*, actor, instrument_code: str, to_account: str, quantity: int) -> dict:
    before = _available(actor, instrument_code)
    result = services.ccer_transfer(actor=actor, instrument_code=instrument_code, to_account=to_account,
                                    quantity=quantity)
    legs = registry_selectors.legs_of([result["transaction"]])
    return {"instrument": instrument_code, "quantity": quantity, "to_account": to_account,
            "serials": [leg.instrument.serial_range(leg.serial_start, leg.serial_end) for leg in legs],
            "before": before, "after": _available(actor, instrument_code), "transaction": result["transaction"],
            "status": result["status"], "not_before": result.get("not_before")}
