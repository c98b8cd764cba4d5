"""Early-warning rules of the industrial sectors: sector plausibility over monthly data (pandas, no Django).

Same contract as ``mrv.rules`` (which lists them in ``RULES``): a rule takes the frame of current
submissions and its thresholds and returns findings. The frame's sector columns: ``sector``, ``output_t``,
``intensity_emissions_tco2``, ``intensity_output_t``, ``inputs`` (the month's key parameters) and ``gases``
(tCO2e per gas). Ranges are ``PlausibilityRange`` rows, handed in by ``mrv.early_warnings.warnings_run`` as
``t["_ranges"]`` = {parameter: {code: (low, high)}}; a rule's own ``low``/``high`` thresholds apply only
where no row exists (a regulator tunes either in the admin). Missing and late months of every sector are
power's rules (``missing_month``, ``late_submission``), which read every facility.
"""

import pandas as pd

from .rules import _findings


def _range(t: dict, parameter: str, code: str = "") -> tuple[float, float] | None:
    ranges = t.get("_ranges", {}).get(parameter, {})
    found = ranges.get(code) or ranges.get("")
    if found is not None:
        return float(found[0]), float(found[1])
    if "low" in t and "high" in t:
        return float(t["low"]), float(t["high"])
    return None


def _outside(frame: pd.DataFrame, value: pd.Series, bounds: pd.Series | tuple) -> pd.DataFrame:
    low, high = bounds if isinstance(bounds, tuple) else (bounds.str[0], bounds.str[1])
    return frame[value.notna() & ((value < low) | (value > high))]


def _sector(subs: pd.DataFrame, code: str) -> pd.DataFrame:
    if "sector" not in subs.columns:
        return subs.iloc[0:0]
    return subs[subs["sector"] == code].copy()


def _input(frame: pd.DataFrame, name: str) -> pd.Series:
    return pd.to_numeric(frame["inputs"].map(lambda d: (d or {}).get(name)), errors="coerce")


def clinker_factor_range(subs, fuels, t) -> list:
    """A measured clinker factor (tCO2/t clinker) outside the range for the line's clinker type."""
    s = _sector(subs, "cement")
    if s.empty:
        return []
    s["clinker_factor"] = _input(s, "clinker_factor")
    s["clinker_type"] = s["inputs"].map(lambda d: (d or {}).get("clinker_type", ""))
    s["bounds"] = s["clinker_type"].map(lambda c: _range(t, t.get("parameter", "clinker_factor"), c))
    s = s[s["bounds"].notna()]
    if s.empty:
        return []
    bad = _outside(s, s["clinker_factor"], s["bounds"])
    return _findings(bad, lambda r: f"Clinker factor {r.clinker_factor:.4f} tCO2/t is outside the plausible "
                                    f"{r.bounds[0]}-{r.bounds[1]} for {r.clinker_type} clinker.",
                     ["clinker_factor", "clinker_type"])


def net_anode_consumption_range(subs, fuels, t) -> list:
    """Net anode consumption (t anode per t aluminium) outside the plausible range."""
    s = _sector(subs, "aluminium")
    bounds = _range(t, t.get("parameter", "net_anode_consumption"))
    if s.empty or bounds is None:
        return []
    s["net_anode_consumption"] = _input(s, "net_anode_consumption")
    bad = _outside(s, s["net_anode_consumption"], bounds)
    return _findings(bad, lambda r: f"Net anode consumption {r.net_anode_consumption:.4f} t/t Al is outside the "
                                    f"plausible {bounds[0]}-{bounds[1]}.", ["net_anode_consumption"])


def pfc_per_tonne(subs, fuels, t) -> list:
    """PFC emissions (CF4 + C2F6, tCO2e) per tonne of aluminium liquid outside the plausible range."""
    s = _sector(subs, "aluminium")
    bounds = _range(t, t.get("parameter", "pfc_per_t_al"))
    if s.empty or bounds is None:
        return []
    pfc = s["gases"].map(lambda g: sum(float(v) for gas, v in (g or {}).items() if gas != "CO2"))
    s["pfc_per_t"] = pfc / s["output_t"].where(s["output_t"] > 0)
    bad = _outside(s, s["pfc_per_t"], bounds)
    return _findings(bad, lambda r: f"PFC {r.pfc_per_t:.4f} tCO2e per t aluminium is outside the plausible "
                                    f"{bounds[0]}-{bounds[1]}.", ["pfc_per_t"])


def steel_carbon_balance(subs, fuels, t) -> list:
    """The enterprise carbon balance per tonne of crude steel (tCO2/t) outside the plausible range."""
    s = _sector(subs, "steel")
    bounds = _range(t, t.get("parameter", "steel_carbon_balance_per_t"))
    if s.empty or bounds is None:
        return []
    s["per_t_crude_steel"] = s["emissions_tco2"] / s["output_t"].where(s["output_t"] > 0)
    bad = _outside(s, s["per_t_crude_steel"], bounds)
    return _findings(bad, lambda r: f"Carbon balance {r.per_t_crude_steel:.4f} tCO2 per t crude steel is outside "
                                    f"the plausible {bounds[0]}-{bounds[1]}.", ["per_t_crude_steel"])


def sector_intensity(subs, fuels, t) -> list:
    """The allocation intensity (intensity emissions over intensity output) outside its sector's range;
    ``t["parameters"]`` names the range of each sector (e.g. cement: clinker_intensity)."""
    out = []
    for sector, parameter in (t.get("parameters") or {}).items():
        s = _sector(subs, sector)
        bounds = _range({"_ranges": t.get("_ranges", {})}, parameter)
        if s.empty or bounds is None:
            continue
        s["intensity"] = s["intensity_emissions_tco2"] / s["intensity_output_t"].where(s["intensity_output_t"] > 0)
        bad = _outside(s, s["intensity"], bounds)
        out += _findings(bad, lambda r, b=bounds, p=parameter: f"Intensity {r.intensity:.4f} ({p}) is outside the "
                                                               f"plausible {b[0]}-{b[1]}.", ["intensity"])
    return out


RULES = {
    "clinker_factor_range": clinker_factor_range,
    "net_anode_consumption_range": net_anode_consumption_range,
    "pfc_per_tonne": pfc_per_tonne,
    "steel_carbon_balance": steel_carbon_balance,
    "sector_intensity": sector_intensity,
}
