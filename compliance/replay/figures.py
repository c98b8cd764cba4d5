"""The cycle's headline figures as the system computes them, beside the report's, and the cross-check.

``system_figures`` reads only what the apps stored (verifications, allocation runs, registry legs,
trades, compliance records), through their selectors where one exists. ``recompute`` derives the
same figures independently with pandas from the generator's raw frames (the monthly rows the
stages sent, and the stages' own logs of what they asked for), with its own vectorised
implementation of the accounting and allocation formulas (DOMAIN.md sections 4-5), not the apps'
code. ``compare`` lists every disagreement; the command fails on any.

The report's figures (progress-report-2024.txt chapters III-IV; DOMAIN.md section 6) are for 2,257
entities; for a smaller replay they are shown scaled by entities / 2,257 as well.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from allowances.plans_seed import COLUMNS

REPORT = {
    "allocated_tco2": {2021: 5_096_000_000, 2022: 5_104_000_000},
    "verified_tco2": {2021: 5_094_000_000, 2022: 5_091_000_000},
    "surplus_tco2": {2021: 1_470_000, 2022: 12_980_000},
    "surplus_share": {2021: 0.0003, 2022: 0.0025},
    "compliance_rate": {2021: 0.9961, 2022: 0.9988},
    "ccer_offsets_tco2": 3_720_000,
    "entities_helped_by_flexibility": 202,
    "entities_not_compliant_on_time": 80,
    "traded_tco2": 263_000_000,
    "traded_value_yuan": 17_260_000_000,
    "closing_price_range": [50, 82],
    "entities": 2257,
}
CO2_PER_C = 44 / 12


def _q(value) -> float:
    return float(value or 0)


def system_figures(ctx, years: list[int]) -> dict:
    """Each figure from the database; a figure whose app is absent is reported as not available."""
    from mrv.models import MonthlySubmission, Verification

    entity_ids = list(ctx.entity_ids.values())
    out: dict = {"per_year": {}}
    for year in years:
        row: dict = {}
        subs = MonthlySubmission.objects.filter(year=year, is_current=True, entity_id__in=entity_ids)
        row["reported_monthly_tco2"] = _sum(subs, "emissions_tco2")
        verifications = Verification.objects.filter(year=year, status=Verification.Status.CONFIRMED,
                                                    entity_id__in=entity_ids)
        row["verified_tco2"] = _sum(verifications, "verified_emissions_tco2")
        row["verified_entities"] = verifications.count()
        row.update(_allocation(ctx, year))
        out["per_year"][str(year)] = row
    out["registry"] = _registry(ctx, years)
    out.update(_compliance(years, out, entity_ids))
    out.update(_trading(ctx))
    return out


def report_sense_counts(cycle, entity_ids) -> dict:
    """The two entity counts of the report's chapter IV, from the obligations of ``entity_ids``.

    ``entities_not_compliant_on_time``: entities with an obligation of the cycle not covered in full by
    its deadline (what each obligation had covered on the deadline against what it owes), whether they
    completed later or never: the report's "80 key emitting entities failed to comply fully and on time".
    ``entities_helped_by_flexibility``: entities with borrowing or individual relief recorded on an
    obligation of the cycle: the report's "flexible compliance mechanisms helped 202 key emitting
    entities", which it names as borrowing for high deficits and tailored relief for public-welfare
    tasks (the plan's own relief, gas top-up and 20% cap, is in every allocation and not counted).
    """
    from django.db.models import F

    from compliance.models import FlexibleMechanism, Obligation
    from compliance.standing import coverage_expressions

    obligations = Obligation.objects.filter(cycle=cycle, entity_id__in=list(entity_ids))
    kinds = [FlexibleMechanism.Kind.BORROWING, FlexibleMechanism.Kind.INDIVIDUAL_RELIEF]
    helped = FlexibleMechanism.objects.filter(obligation__in=obligations, kind__in=kinds)
    on_time = obligations.annotate(on_time_now=coverage_expressions()["on_time"])
    return {"entities_not_compliant_on_time": on_time.filter(on_time_now__lt=F("quantity_tco2"))
            .values("entity_id").distinct().count(),
            "entities_helped_by_flexibility": helped.values("obligation__entity_id").distinct().count()}


def _compliance(years, out: dict, entity_ids) -> dict:
    """Rates, CCER used and entities helped from ``compliance.selectors.cycle_report`` (fresh database:
    the cycle's obligations are the replay's)."""
    try:
        from compliance.selectors import cycle_get, cycle_report
    except ImportError:
        return {}
    cycle = cycle_get("2021-2022")
    report = cycle_report(cycle)
    for year in years:
        figures = report["years"].get(year) or report["years"].get(str(year)) or {}
        if figures.get("obligation_tco2"):
            out["per_year"][str(year)]["compliance_rate"] = float(figures["compliance_rate_pct"]) / 100
            out["per_year"][str(year)]["obligation_tco2"] = float(figures["obligation_tco2"])
            out["per_year"][str(year)]["entities_failed"] = figures["entities_failed"]
    result = {"ccer_offsets_tco2": float(report["ccer_used_tco2"]),
              "entities_helped_any_mechanism": report["entities_helped"], "flexible_mechanisms": report["mechanisms"],
              "entities_failed_by_status": report["entities_failed"], "cycle_status": report["status"],
              **report_sense_counts(cycle, entity_ids)}
    return result if any(out["per_year"][str(y)].get("obligation_tco2") for y in years) else {}


def _trading(ctx) -> dict:
    """Volume and value of the trades between the replay's accounts; the range of daily closes."""
    try:
        from trading.models import DailyBar, Trade
    except ImportError:
        return {}
    from django.db.models import Max, Min, Sum

    trades = Trade.objects.filter(buyer__participant__entity_id__in=ctx.entity_ids.values())
    if not trades.exists():
        return {}
    agg = trades.aggregate(q=Sum("quantity"), v=Sum("value"))
    by_method = {m: _q(q) for m, q in trades.values_list("method").annotate(q=Sum("quantity"))}
    days = sorted({d.isoformat() for d in trades.values_list("trade_date", flat=True)})
    closes = DailyBar.objects.filter(date__in=days, product__vintage__in=ctx.years).aggregate(
        lo=Min("close"), hi=Max("close"))
    return {"traded_tco2": _q(agg["q"]), "traded_value_yuan": _q(agg["v"]), "traded_by_method_tco2": by_method,
            "trades": trades.count(),
            "closing_price_range": [_q(closes["lo"]), _q(closes["hi"])] if closes["lo"] is not None else None}


def _sum(qs, field: str) -> float:
    from django.db.models import Sum

    return _q(qs.aggregate(s=Sum(field))["s"])


def _allocation(ctx, year: int) -> dict:
    try:
        from allowances.models import AllocationRun, EntityAllocation
    except ImportError:
        return {"allocated_tco2": "not available"}
    runs = {r.kind: r for r in AllocationRun.objects.filter(year=year)}
    out = {}
    pre = runs.get("pre_allocation")
    true_up = runs.get("true_up")
    if pre:
        out["pre_allocated_tco2"] = _sum(EntityAllocation.objects.filter(run=pre), "allocation_tco2")
    if true_up:
        rows = EntityAllocation.objects.filter(run=true_up)
        out["allocated_tco2"] = _sum(rows, "allocation_tco2")
        out["relief_tco2"] = _sum(rows, "relief_tco2")
        out["borrowing_deducted_tco2"] = _sum(rows, "borrowing_deduction_tco2")
        out["entities_with_relief"] = rows.filter(relief_tco2__gt=0).count()
        out["allocation_entities"] = rows.count()
    else:
        out["allocated_tco2"] = "not available"
    return out


def _registry(ctx, years: list[int]) -> dict:
    """CEAs of each vintage held by or moved to the replay's entity accounts, from the ledger's legs."""
    try:
        from registry.models import Account, Instrument, TransactionLeg
    except ImportError:
        return {"status": "not available"}
    from django.db.models import Sum

    accounts = set(Account.objects.filter(entity_id__in=ctx.entity_ids.values()).values_list("pk", flat=True))
    out = {}
    for year in years:
        instrument = Instrument.objects.filter(kind="cea", vintage=year).first()
        if instrument is None:
            out[str(year)] = {"status": "no instrument"}
            continue
        legs = TransactionLeg.objects.filter(instrument=instrument)
        received = _q(legs.filter(to_account_id__in=accounts, transaction__kind="allocation")
                      .aggregate(s=Sum("quantity"))["s"])
        withdrawn = _q(legs.filter(from_account_id__in=accounts, transaction__kind="withdrawal")
                       .aggregate(s=Sum("quantity"))["s"])
        out[str(year)] = {"allocated_to_entities_tco2": received, "withdrawn_tco2": withdrawn,
                          "net_allocated_tco2": received - withdrawn, "issued_total_tco2": _q(
                              legs.filter(transaction__kind="issuance").aggregate(s=Sum("quantity"))["s"])}
    return out


# ---- the independent recomputation -----------------------------------------------------------------

def _emissions(months: pd.DataFrame) -> pd.Series:
    """E = FC x C_ar x OF x 44/12 per row, rounded half up to the kilogram (as the guideline's total)."""
    exact = months["consumption"].round(4) * months["carbon_content"].round(6) * months["oxidation_rate"] * CO2_PER_C
    return np.floor(exact * 1000 + 0.5) / 1000


def _factor_load(load: np.ndarray) -> np.ndarray:
    return np.where(load >= 0.85, 1.0, np.where(load >= 0.80, 1 + 0.0014 * (85 - 100 * load), np.where(
        load >= 0.75, 1.007 + 0.0016 * (80 - 100 * load), 1.015 ** (16 - 20 * load))))


def recompute(fleet, years: list[int], state: dict | None = None, entity_ids: dict | None = None) -> dict:
    """The figures from the raw frames and the stages' logs alone (numpy/pandas; no app code)."""
    months = fleet.months.copy()
    months["emissions"] = _emissions(months)
    units = fleet.units.set_index("code")
    out: dict = {"per_year": {}}
    for year in years:
        m = months[months["year"] == year]
        m = m.assign(cap_hours=m["operating_hours"].round(2) * m["unit"].map(units["capacity_mw"]))
        per_unit = m.groupby("unit").agg(emissions=("emissions", "sum"), gen=("generated_mwh", "sum"),
                                         supplied=("supplied_mwh", "sum"), heat=("heat_gj", "sum"),
                                         cap_hours=("cap_hours", "sum"), entity=("entity", "first"))
        per_unit = per_unit.join(units[["category", "cooling", "is_chp"]])
        # The load factor as a verifier derives it: generation over rated power x operating hours.
        per_unit["load"] = per_unit["gen"].round(3) / per_unit["cap_hours"]
        electricity, (heat_coal, heat_gas), *_ = COLUMNS[str(year)]
        b_e = per_unit["category"].map(dict(zip(("I", "II", "III", "IV"), map(float, electricity), strict=True)))
        b_h = np.where(per_unit["category"] == "IV", float(heat_gas), float(heat_coal))
        heat, gen = per_unit["heat"].round(3), per_unit["gen"].round(3)
        ratio = np.where(heat > 0, np.round(heat / (heat + gen * 3.6), 4), 0.0)
        gas = (per_unit["category"] == "IV").to_numpy()
        factors = np.where(gas, 1 - 0.6 * ratio, np.where(per_unit["cooling"] == "air", 1.05, 1.0)
                           * (1 - 0.22 * ratio) * _factor_load(per_unit["load"].round(4).to_numpy()))
        exact = per_unit["supplied"].round(3) * b_e * factors + heat * b_h
        base = np.floor(exact + 0.5)
        verified = per_unit["emissions"].round(3)
        gas_relief = np.where(gas, np.maximum(0, np.floor(verified + 0.5) - base), 0)
        entity = pd.DataFrame({"entity": per_unit["entity"], "a": base + gas_relief, "v": verified}).groupby(
            "entity").sum()
        floor = np.floor(np.floor(entity["v"] + 0.5) * 0.8 + 0.5)
        allocated = np.maximum(entity["a"], floor)
        out["per_year"][str(year)] = {
            "reported_monthly_tco2": float(m["emissions"].sum()), "verified_tco2": float(verified.sum()),
            "allocated_tco2": float(allocated.sum()), "units": int(len(per_unit)),
            "entities_with_relief": int(((allocated > entity["a"]) | pd.Series(gas_relief > 0).groupby(
                per_unit["entity"].to_numpy()).any()).sum()),
        }
    state = state or {}
    if state.get("trade_log"):
        trades = pd.DataFrame(state["trade_log"])
        out["traded_tco2"] = float(trades["quantity"].sum())
        out["traded_value_yuan"] = float((trades["quantity"] * trades["price"]).round(2).sum())
    if state.get("surrender_log") and entity_ids:
        steps = pd.DataFrame(state["surrender_log"])
        on_time = steps[steps["on_date"] <= DEADLINE].groupby(["entity", "year"])["quantity"].sum()
        pk = months["entity"].map(entity_ids)
        owed = months.assign(pk=pk).groupby(["pk", "year"])["emissions"].sum()
        owed = np.floor(owed + 0.5)
        for relief in state.get("relief_log", []):
            owed.loc[(relief["entity"], relief["year"])] -= relief["quantity"]
        for year in years:
            q = owed.xs(year, level="year")
            t = on_time.xs(year, level="year").reindex(q.index, fill_value=0) if year in on_time.index.get_level_values(
                "year") else pd.Series(0, index=q.index)
            out["per_year"][str(year)]["compliance_rate"] = float(np.minimum(q, t).sum() / q.sum())
    return out


DEADLINE = pd.Timestamp("2023-12-31").date()


def compare(system: dict, independent: dict) -> list[str]:
    """Disagreements between the system's figures and the recomputation (tolerances stated per figure).

    Emissions: 1 kg per unit-month (each row is rounded to the kilogram; sums of Decimals vs floats).
    Allocation: 1 t per unit (each unit is rounded half up to whole tonnes; float vs Decimal at .5).
    """
    problems = []
    for year, ind in independent["per_year"].items():
        sys_row = system["per_year"].get(year, {})
        checks = [("reported_monthly_tco2", 0.001 * ind["units"] * 12 + 1),
                  ("verified_tco2", 0.001 * ind["units"] * 12 + 1),
                  ("allocated_tco2", ind["units"] + 1),
                  ("compliance_rate", 0.0001)]
        for name, tolerance in checks:
            value = sys_row.get(name)
            if not isinstance(value, (int, float, Decimal)) or name not in ind:
                continue
            if abs(float(value) - ind[name]) > tolerance:
                problems.append(f"{year} {name}: system {float(value):,.3f} vs recomputed {ind[name]:,.3f} "
                                f"(tolerance {tolerance:,.3f})")
        allocated = sys_row.get("allocated_tco2")
        registry = system.get("registry", {}).get(year, {})
        net = registry.get("net_allocated_tco2")
        if isinstance(allocated, float) and isinstance(net, float):
            expected = allocated - float(sys_row.get("borrowing_deducted_tco2") or 0)
            if abs(net - expected) > 0.5:
                problems.append(f"{year} registry: net CEA{year} allocated to entities {net:,.0f} t vs allocation "
                                f"{expected:,.0f} t after borrowing deductions")
    for name, tolerance in (("traded_tco2", 0), ("traded_value_yuan", 0.01 * len(independent.get("trades", [])) + 1)):
        if name in independent and abs(float(system.get(name, 0)) - independent[name]) > tolerance:
            problems.append(f"{name}: system {float(system.get(name, 0)):,.2f} vs recomputed {independent[name]:,.2f}")
    return problems


def headline_table(system: dict, years: list[int], n_entities: int) -> list[tuple[str, str, str]]:
    """(figure, system, report [scaled]) rows for printing."""
    scale = n_entities / REPORT["entities"]
    rows = []

    def fmt(value, unit="t"):
        if isinstance(value, (int, float)):
            return f"{value / 1e6:,.2f} Mt" if unit == "t" else f"{value:.2%}" if unit == "%" else f"{value:,.0f}"
        return str(value)

    for year in years:
        row = system["per_year"][str(year)]
        y = int(year)
        for key, label in (("allocated_tco2", "CEAs allocated"), ("verified_tco2", "verified emissions")):
            report = REPORT[key].get(y)
            rows.append((f"{year} {label}", fmt(row.get(key)),
                         f"{report / 1e6:,.0f} Mt (x{scale:.3f}: {report * scale / 1e6:,.1f} Mt)" if report else "-"))
        allocated, verified = row.get("allocated_tco2"), row.get("verified_tco2")
        if isinstance(allocated, float) and isinstance(verified, float) and allocated:
            report = REPORT["surplus_tco2"].get(y)
            surplus = allocated - verified
            rows.append((f"{year} surplus", f"{surplus / 1e6:,.2f} Mt = {surplus / allocated:.2%}",
                         f"{report / 1e6:,.2f} Mt = {REPORT['surplus_share'][y]:.2%}" if report else "-"))
        rows.append((f"{year} compliance rate", fmt(row.get("compliance_rate", "not available"), "%"),
                     f"{REPORT['compliance_rate'][y]:.2%}" if y in REPORT["compliance_rate"] else "-"))
    for key, label, unit in (("ccer_offsets_tco2", "CCER offsets used", "t"),
                             ("entities_helped_by_flexibility", "entities helped (borrowing, indiv. relief)", "n"),
                             ("entities_not_compliant_on_time", "entities not compliant on time", "n"),
                             ("traded_tco2", "CEAs traded", "t"), ("traded_value_yuan", "traded value (yuan)", "n")):
        value = system.get(key, "not available")
        report = REPORT[key]
        rows.append((label, fmt(value, unit), f"{fmt(report, unit)} (x{scale:.3f}: {fmt(report * scale, unit)})"))
    rows.append(("closing price range (yuan)", str(system.get("closing_price_range", "not available")), "50-82"))
    return rows
