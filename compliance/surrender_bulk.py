"""Many entities' CEA surrenders in a few database transactions (a batch of surrender instructions).

``surrender`` commits one database transaction per obligation; at the deadline the registry receives
thousands of them (3,378 entities in 2025), and the commits and the locks taken again and again cost more
than the work. ``surrender_bulk`` applies each request with exactly ``surrender``'s rules and movements
(``services.check_surrender_request`` and ``services.surrender_locked``: one registry transaction and one
step per item, the registry's and compliance's audit entries of each), ``BATCH`` obligations per database
transaction.
"""

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from cets.common.errors import DomainError
from cets.common.locks import lock_rows
from registry import services as registry
from registry.models import Transaction

from . import services
from .models import ComplianceCycle, Obligation, SurrenderStep

BATCH = 250


def surrender_bulk(*, requests: list[dict], key: str, on_date: dt.date | None = None, batch: int = BATCH) -> dict:
    """Apply each request ``{"actor", "obligation", "items"}`` (CEA items, as for ``surrender``).

    Per batch of obligations, one database transaction: the obligations are locked in pk order, then the
    entities' holding accounts with the national surrender account in pk order (the order ``surrender``
    takes them in: obligation, then accounts), and each request runs in a savepoint, so a refused one (any
    rule of ``surrender``: another entity's obligation, more than owed, a vintage that does not settle the
    year, units not held, a closed cycle) is reported and changes nothing while the others go through.

    Idempotent by ``key``: a request's registry transactions carry the reference
    ``compliance:<obligation>:<key>``, looked up after the obligation is locked; a request of a key already
    applied is not surrendered again but reported as replayed, with its steps (a retried batch, or the same
    batch sent twice at once: the second waits for the first's locks, then finds its steps).

    Returns ``{"surrendered": n, "replayed": n, "refused": [{obligation, code, field, message}], "steps":
    {obligation pk: [SurrenderStep]}}``.
    """
    key = str(key or "").strip()
    if not key or len(key) > 60:
        raise DomainError(_("A bulk surrender names its idempotency key (at most 60 characters)."), "required", "key")
    if not isinstance(requests, list):
        raise DomainError(_("Give a list of surrender requests."), "invalid", "requests")
    seen = set()
    for index, request in enumerate(requests):
        obligation = request.get("obligation") if isinstance(request, dict) else None
        if not isinstance(obligation, Obligation):
            raise DomainError(_("Each request names its obligation."), "required", f"requests[{index}].obligation")
        if obligation.pk in seen:
            raise DomainError(_("Obligation %(pk)s appears twice: one request per obligation in a batch.")
                              % {"pk": obligation.pk}, "duplicate_obligation", f"requests[{index}].obligation")
        seen.add(obligation.pk)
        for item in request.get("items") or []:
            if isinstance(item, dict) and item.get("kind") != SurrenderStep.Kind.CEA:
                raise DomainError(_("A bulk surrender moves CEAs only; CCERs offset one obligation at a time."),
                                  "ccer_not_allowed", f"requests[{index}].items")
    out = {"surrendered": 0, "replayed": 0, "refused": [], "steps": {}}
    ordered = sorted(requests, key=lambda r: r["obligation"].pk)
    for start in range(0, len(ordered), batch):
        _apply_batch(ordered[start:start + batch], key, on_date, out)
    return out


@transaction.atomic
def _apply_batch(requests: list[dict], key: str, on_date, out: dict) -> None:
    obligations = {o.pk: o for o in lock_rows(Obligation.objects.filter(pk__in=[r["obligation"].pk
                                                                                for r in requests]))}
    references = {pk: f"compliance:{pk}:{key}" for pk in obligations}
    done = _applied(references)
    cycles = ComplianceCycle.objects.in_bulk({o.cycle_id for o in obligations.values()})
    accounts = registry.surrender_accounts_lock(entity_ids={o.entity_id for o in obligations.values()})
    for request in requests:
        obligation = obligations.get(request["obligation"].pk)
        if obligation is None:
            out["refused"].append({"obligation": request["obligation"].pk, "code": "not_found",
                                   "field": "obligation", "message": _("No such obligation.")})
            continue
        if obligation.pk in done:
            out["replayed"] += 1
            out["steps"][obligation.pk] = done[obligation.pk]
            continue
        try:
            with transaction.atomic():
                services.check_surrender_request(actor=request["actor"], obligation=obligation,
                                                 items=request.get("items"))
                steps = services.surrender_locked(
                    actor=request["actor"], obligation=obligation, items=request["items"], on_date=on_date,
                    cycle=cycles[obligation.cycle_id], account=accounts.get(obligation.entity_id),
                    reference=references[obligation.pk])
        except DomainError as exc:
            out["refused"].append({"obligation": obligation.pk, "code": exc.code, "field": exc.field,
                                   "message": str(exc)})
            continue
        out["surrendered"] += 1
        out["steps"][obligation.pk] = steps


def _applied(references: dict[int, str]) -> dict[int, list]:
    """The steps of the requests already applied under these references (obligation pk -> steps)."""
    obligation_of = {ref: pk for pk, ref in references.items()}
    txs = dict(Transaction.objects.filter(kind=Transaction.Kind.SURRENDER, reference__in=list(obligation_of))
               .values_list("pk", "reference"))
    done: dict[int, list] = {}
    for step in SurrenderStep.objects.filter(registry_transaction_id__in=list(txs)).order_by("id"):
        done.setdefault(obligation_of[txs[step.registry_transaction_id]], []).append(step)
    return done
