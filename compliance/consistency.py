"""The cross-app invariants ``manage.py check_consistency`` proves: the apps tell one story.

Each check returns a list of problems (empty when it holds), named after the invariant:

1. ``obligations``: per entity, compliance year and instrument, what the registry's surrenders and
   offset cancellations moved (net of their reversals) equals what the national surrender and CCER
   cancellation accounts' legs show, and equals compliance's surrender steps that still count; every
   use belongs to an obligation and stays within what it owes and, for CCERs, its cap.
2. ``allocations``: each allocation run's issued results (pre-allocation, true-up top-ups) equal the
   legs of its registry allocation, and its withdrawals the legs of its registry bulk withdrawal.
3. ``cash``: every cash journal balances and the cached cash balances equal their postings
   (``trading.selectors.cash_check``).
4. ``ccer_uses``: every CCER offset or retirement record names its registry cancellation (the same
   instrument, quantity and year, completed or later reversed), and every registry offset
   cancellation or retirement has its record.
5. ``carry_over``: per carry-over application, the units the registry retired into the national
   deletion account equal the units of the target vintage it issued, and both equal the application's
   quantity when approved (0 otherwise); no registry carry-over lacks its application.

Compliance is the only app allowed to read them all (the bottom of the import tree); each app's
data is read through its own selectors.
"""

from collections import defaultdict

from django.db.models import Sum

from allowances import selectors as allowances_selectors
from registry import selectors as registry_selectors
from trading import selectors as trading_selectors
from voluntary import selectors as voluntary_selectors

from .models import CarryOverApplication, Obligation, SurrenderStep
from .services import offset_cap_tco2


def check_obligations(limit: int = 50) -> list[str]:
    problems = []
    moved = {key: v["cea"] + v["ccer"] for key, v in registry_selectors.compliance_coverage(by_instrument=True).items()}
    legs = registry_selectors.compliance_legs()
    steps: dict[tuple, int] = defaultdict(int)
    for row in (SurrenderStep.objects.order_by()
                .filter(registry_transaction_id__in=registry_selectors.live_compliance_transaction_ids())
                .values("obligation__entity_id", "obligation__year", "instrument_code")
                .annotate(n=Sum("quantity"))):
        steps[(row["obligation__entity_id"], row["obligation__year"], row["instrument_code"])] += row["n"]
    for key in sorted(set(moved) | set(legs) | set(steps), key=str):
        entity, year, code = key
        n_tx, n_legs, n_steps = moved.get(key, 0), legs.get(key, 0), steps.get(key, 0)
        if n_tx != n_legs:
            problems.append(f"entity {entity} {year} {code}: transactions {n_tx:,} t, national account legs "
                            f"{n_legs:,} t")
        if n_tx != n_steps:
            problems.append(f"entity {entity} {year} {code}: registry {n_tx:,} t, compliance steps {n_steps:,} t")
    coverage = registry_selectors.compliance_coverage()
    obligations = {(o.entity_id, o.year): o for o in Obligation.objects.select_related("cycle")}
    for (entity, year), totals in sorted(coverage.items()):
        o = obligations.get((entity, year))
        if o is None:
            if totals["cea"] or totals["ccer"]:
                problems.append(f"entity {entity} {year}: {totals['cea'] + totals['ccer']:,} t surrendered or "
                                f"cancelled without an obligation")
            continue
        if totals["cea"] + totals["ccer"] > o.quantity_tco2:
            problems.append(f"obligation #{o.pk}: {totals['cea'] + totals['ccer']:,} t covered, "
                            f"{o.quantity_tco2:,} t owed")
        if totals["ccer"] > offset_cap_tco2(o):
            problems.append(f"obligation #{o.pk}: {totals['ccer']:,} t CCERs, above the cap of "
                            f"{offset_cap_tco2(o):,} t")
    return problems[:limit]


def check_allocations(limit: int = 50) -> list[str]:
    problems = []
    expected = allowances_selectors.run_registry_expectations()
    moved = registry_selectors.net_moved_by_reference(
        [r["allocation_reference"] for r in expected] + [r["withdrawal_reference"] for r in expected])
    for run in expected:
        for what, ref, want in (("issued", run["allocation_reference"], run["allocated_tco2"]),
                                ("withdrawn", run["withdrawal_reference"], run["withdrawn_tco2"])):
            got = moved.get(ref, 0)
            if got != want:
                problems.append(f"allocation run #{run['run']} ({run['kind']} {run['year']}): results {what} "
                                f"{want:,} t, registry {ref} {got:,} t")
    return problems[:limit]


def check_cash(limit: int = 50) -> list[str]:
    return trading_selectors.cash_check()[:limit]


def check_ccer_uses(limit: int = 50) -> list[str]:
    problems = []
    uses = voluntary_selectors.uses_with_registry_refs()
    kinds = {"offset": "ccer_cancellation", "retirement": "voluntary_retirement"}
    txs = registry_selectors.transactions_by_id({u["registry_transaction_id"] for u in uses} - {None})
    for use in uses:
        tx = txs.get(use["registry_transaction_id"])
        if tx is None:
            problems.append(f"CCER use {use['code']}: no registry transaction ({use['registry_ref'] or '-'})")
            continue
        facts = (tx.kind, tx.instrument.code, tx.quantity, tx.compliance_year if use["kind"] == "offset" else None)
        want = (kinds[use["kind"]], use["instrument_code"], use["quantity"], use["compliance_year"])
        if facts != want or tx.status not in ("completed", "reversed"):
            problems.append(f"CCER use {use['code']}: registry transaction #{tx.pk} is {tx.kind} {tx.status} "
                            f"{tx.quantity:,} {tx.instrument.code} {tx.compliance_year or ''}".rstrip())
    recorded = {u["registry_transaction_id"] for u in uses}
    for tx_id in registry_selectors.end_of_life_ccer_transaction_ids():
        if tx_id not in recorded:
            problems.append(f"registry transaction #{tx_id}: CCERs cancelled or retired without a use record")
    return problems[:limit]


def check_carry_over(limit: int = 50) -> list[str]:
    problems = []
    moved = registry_selectors.carry_over_moved()
    expected = {f"carryover:{pk}": (q if status == CarryOverApplication.Status.APPROVED else 0)
                for pk, q, status in CarryOverApplication.objects.values_list("pk", "quantity_tco2", "status")}
    for ref in sorted(set(moved) | set(expected)):
        got = moved.get(ref, {"retired": 0, "issued": 0})
        if ref not in expected:
            problems.append(f"registry {ref}: {got['retired']:,} t retired, {got['issued']:,} t issued without an "
                            f"application")
        elif got["retired"] != expected[ref] or got["issued"] != expected[ref]:
            problems.append(f"application {ref}: {expected[ref]:,} t carried over, registry retired "
                            f"{got['retired']:,} t and issued {got['issued']:,} t")
    return problems[:limit]


CHECKS = {"obligations": check_obligations, "allocations": check_allocations, "cash": check_cash,
          "ccer_uses": check_ccer_uses, "carry_over": check_carry_over}


def consistency_check(limit: int = 50) -> dict[str, list[str]]:
    """Run every invariant: ``{name: [problem, ...]}`` (all lists empty when the apps agree)."""
    return {name: check(limit) for name, check in CHECKS.items()}
