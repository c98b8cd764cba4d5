"""Early-warning rules over monthly data, vectorised with pandas (no Django import).

Each rule takes the frame of current submissions (one row per unit-month, columns below) plus its
thresholds and returns findings: ``(submission_id or None, unit_id, entity_id, year, month, message,
details)``. ``mrv.early_warnings.warnings_run`` loads the frames, runs the enabled rules and stores the
findings as warnings. Thresholds come from the ``WarningRule`` table (tunable in the admin).

Submission frame columns: id, unit_id, entity_id, year, month, on_time, electricity_generated_mwh,
electricity_supplied_mwh, heat_supplied_gj, load_factor, fuel_heat_gj, emissions_tco2, is_chp, main_fuel,
category.
Fuel frame columns: submission_id, unit_id, entity_id, year, month, fuel, fuel_class, ncv, carbon_content,
oxidation_rate, test_report_id, sample_date, report_date.
"""

import numpy as np
import pandas as pd

Finding = tuple  # (submission_id, unit_id, entity_id, year, month, message, details)


def _findings(df: pd.DataFrame, message, details_cols: list[str]) -> list[Finding]:
    out = []
    for row in df.itertuples(index=False):
        details = {c: _plain(getattr(row, c)) for c in details_cols}
        out.append((_plain(row.id) if hasattr(row, "id") else _plain(getattr(row, "submission_id", None)),
                    int(row.unit_id), int(row.entity_id), int(row.year), int(row.month),
                    message(row) if callable(message) else message, details))
    return out


def _plain(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return round(float(value), 6)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def late_submission(subs: pd.DataFrame, fuels: pd.DataFrame, t: dict) -> list[Finding]:
    late = subs[~subs["on_time"].astype(bool)]
    return _findings(late, "Monthly data submitted after the 40-day deadline.", [])


def load_factor_range(subs, fuels, t) -> list[Finding]:
    low, high = float(t.get("low", 0.2)), float(t.get("high", 1.0))
    lf = subs["load_factor"].astype(float)
    bad = subs[lf.notna() & ((lf < low) | (lf > high))]
    return _findings(bad, lambda r: f"Load factor {r.load_factor:.4f} outside the plausible {low}-{high}.",
                     ["load_factor"])


def oxidation_range(subs, fuels, t) -> list[Finding]:
    low = float(t.get("low", 0.9))
    ox = fuels["oxidation_rate"].astype(float)
    bad = fuels[ox.notna() & (ox < low)]
    return _findings(bad, lambda r: f"Oxidation rate {r.oxidation_rate:.4f} of {r.fuel} below {low}.",
                     ["fuel", "oxidation_rate"])


def coal_carbon_per_heat(subs, fuels, t) -> list[Finding]:
    """Measured carbon / measured NCV of coal, in tC/TJ, outside the range for its coal type."""
    ranges = t.get("ranges_tc_per_tj", {})
    default = t.get("default_tc_per_tj", [24.0, 29.0])
    coal = fuels[(fuels["fuel_class"] == "coal") & fuels["carbon_content"].notna() & fuels["ncv"].notna()].copy()
    if coal.empty:
        return []
    coal["tc_per_tj"] = coal["carbon_content"].astype(float) / coal["ncv"].astype(float) * 1000
    low = coal["fuel"].map(lambda f: ranges.get(f, default)[0])
    high = coal["fuel"].map(lambda f: ranges.get(f, default)[1])
    bad = coal[(coal["tc_per_tj"] < low) | (coal["tc_per_tj"] > high)]
    return _findings(bad, lambda r: f"Coal carbon per heat {r.tc_per_tj:.2f} tC/TJ is implausible for {r.fuel}.",
                     ["fuel", "tc_per_tj", "carbon_content", "ncv"])


def gas_ranges(subs, fuels, t) -> list[Finding]:
    ncv_low, ncv_high = map(float, t.get("ncv", [285, 398.3]))
    c_low, c_high = map(float, t.get("carbon", [4.37, 6.10]))
    gas = fuels[fuels["fuel_class"] == "natural_gas"]
    ncv = gas["ncv"].astype(float)
    carbon = gas["carbon_content"].astype(float)
    bad = gas[(ncv.notna() & ((ncv < ncv_low) | (ncv > ncv_high)))
              | (carbon.notna() & ((carbon < c_low) | (carbon > c_high)))]
    return _findings(bad, "Natural gas NCV or carbon content outside the plausible range.",
                     ["ncv", "carbon_content"])


def energy_balance(subs, fuels, t) -> list[Finding]:
    """CHP: (MWh x 3.6 + GJ heat) / fuel heat < 1; pure condensing coal: MWh x 3.6 / fuel heat < 46%.

    The 46% bound is a coal-boiler bound (a gas combined cycle legitimately exceeds it), so pure
    condensing units are checked only for the fuels listed in ``condensing_fuels``.
    """
    chp_max, cond_max = float(t.get("chp_max", 1.0)), float(t.get("condensing_max", 0.46))
    cond_fuels = t.get("condensing_fuels", ["coal", "unconventional_coal"])
    s = subs[(subs["fuel_heat_gj"].astype(float) > 0)
             & (subs["is_chp"].astype(bool) | subs["main_fuel"].isin(cond_fuels))].copy()
    if s.empty:
        return []
    out_heat = s["electricity_generated_mwh"].astype(float) * 3.6
    s["ratio"] = np.where(s["is_chp"].astype(bool), out_heat + s["heat_supplied_gj"].astype(float), out_heat) / \
        s["fuel_heat_gj"].astype(float)
    limit = np.where(s["is_chp"].astype(bool), chp_max, cond_max)
    bad = s[s["ratio"] >= limit]
    return _findings(bad, lambda r: f"Energy balance implausible: output/fuel heat = {r.ratio:.3f}.", ["ratio"])


def month_jump(subs, fuels, t) -> list[Finding]:
    """Fuel heat per MWh generated changes by more than ``max_change`` from the unit's previous month."""
    max_change = float(t.get("max_change", 0.3))
    s = subs[subs["electricity_generated_mwh"].astype(float) > 0].copy()
    if s.empty:
        return []
    s["rate"] = s["fuel_heat_gj"].astype(float) / s["electricity_generated_mwh"].astype(float)
    s = s.sort_values(["unit_id", "year", "month"])
    s["period"] = s["year"] * 12 + s["month"]
    prev_rate = s.groupby("unit_id")["rate"].shift(1)
    prev_period = s.groupby("unit_id")["period"].shift(1)
    s["change"] = (s["rate"] - prev_rate).abs() / prev_rate
    bad = s[(s["period"] - prev_period == 1) & (s["change"] > max_change) & (prev_rate > 0)]
    return _findings(bad, lambda r: f"Fuel versus generation moved {r.change:.0%} from the previous month.",
                     ["rate", "change"])


def peer_intensity(subs, fuels, t) -> list[Finding]:
    """Robust z-score (median and MAD) of tCO2/MWh among units of the same category in the same month."""
    limit = float(t.get("z", 3.5))
    min_peers = int(t.get("min_peers", 5))
    s = subs[(subs["electricity_generated_mwh"].astype(float) > 0) & subs["category"].notna()].copy()
    if s.empty:
        return []
    s["intensity"] = s["emissions_tco2"].astype(float) / s["electricity_generated_mwh"].astype(float)
    group = s.groupby(["category", "year", "month"])["intensity"]
    s["median"] = group.transform("median")
    s["mad"] = (s["intensity"] - s["median"]).abs().groupby([s["category"], s["year"], s["month"]]).transform("median")
    s["peers"] = group.transform("size")
    s["z"] = 0.6745 * (s["intensity"] - s["median"]) / s["mad"].replace(0, np.nan)
    bad = s[(s["peers"] >= min_peers) & (s["z"].abs() > limit)]
    return _findings(bad, lambda r: f"Intensity {r.intensity:.4f} tCO2/MWh is far from category peers "
                                    f"(robust z = {r.z:.1f}).", ["intensity", "median", "z"])


def test_report_timing(subs, fuels, t) -> list[Finding]:
    """Report dated more than ``max_days`` after sampling; or one report used for different unit-months."""
    max_days = int(t.get("max_days", 40))
    f = fuels[fuels["test_report_id"].notna()].copy()
    if f.empty:
        return []
    f["days"] = (pd.to_datetime(f["report_date"]) - pd.to_datetime(f["sample_date"])).dt.days
    late = f[f["days"] > max_days]
    out = _findings(late, lambda r: f"Test report dated {r.days} days after sampling (more than {max_days}).",
                    ["test_report_id", "days"])
    f["period"] = f["unit_id"].astype(str) + ":" + f["year"].astype(str) + "-" + f["month"].astype(str)
    uses = f.groupby("test_report_id")["period"].transform("nunique")
    reused = f[uses > 1]
    out += _findings(reused, "The same test report is used for different units or months.", ["test_report_id"])
    return out


def carbon_without_report(subs, fuels, t) -> list[Finding]:
    f = fuels[fuels["carbon_content"].notna() & fuels["test_report_id"].isna()]
    return _findings(f, "Measured carbon content without a test report.", ["fuel"])


def generation_without_emissions(subs, fuels, t) -> list[Finding]:
    """Electricity generated with zero emissions: fuel data missing (e.g. a blank cell) or wrongly zero."""
    s = subs[(subs["electricity_generated_mwh"].astype(float) > 0) & (subs["emissions_tco2"].astype(float) == 0)]
    return _findings(s, lambda r: f"{r.electricity_generated_mwh:,.3f} MWh generated with zero emissions.",
                     ["electricity_generated_mwh", "emissions_tco2"])


RULES = {
    "late_submission": late_submission,
    "generation_without_emissions": generation_without_emissions,
    "load_factor_range": load_factor_range,
    "oxidation_range": oxidation_range,
    "coal_carbon_per_heat": coal_carbon_per_heat,
    "gas_ranges": gas_ranges,
    "energy_balance": energy_balance,
    "month_jump": month_jump,
    "peer_intensity": peer_intensity,
    "test_report": test_report_timing,
    "carbon_without_report": carbon_without_report,
}

from .sector_rules import RULES as SECTOR_RULES  # noqa: E402  (they reuse _findings above)

RULES.update(SECTOR_RULES)
