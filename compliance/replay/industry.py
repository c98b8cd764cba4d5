"""The four-sector replay's industrial fleets: steel, cement and aluminium entities, their facilities and
24 months of monthly key parameters (2024 and 2025), deterministic by seed.

Published: 232 steel, 962 cement and 97 aluminium entities in 2025, 3,378 with power's 2,087 (MEE,
sectors-2025.md S6 [A]); 8.194 Gt surrendered for 2024 across the four sectors [A]. Sector totals are not
published; the replay's are a reconstruction [C] that with power's ~5.1 Gt gives that order:

================  ==========================================================================================
sector            distributions (every draw seeded; sector totals solved by one scale per sector)
================  ==========================================================================================
steel (232)       one long-process (BF-BOF) works per entity (coking, sintering, ironmaking, BOF, rolling);
                  crude steel per year lognormal (median 3.5 Mt, sigma 0.75), scaled so the sector's
                  verified emissions reach ``TARGET_TCO2["steel"]`` (1.80 Gt, ~1.75 t CO2 per t);
                  carbon inputs per tonne x efficiency r ~ N(1.00, 0.05) clipped 0.85-1.20
cement (962)      1 clinker line (70%), 2 (25%) or 3 (5%) per entity, Portland clinker; clinker per line
                  per year lognormal (median 1.0 Mt, sigma 0.45), design capacity = output / 300 days;
                  sector total 1.17 Gt; fuel per tonne of clinker x r ~ N(1.00, 0.06) clipped 0.8-1.25
aluminium (97)    one potline facility per entity; liquid aluminium per year lognormal (median 350 kt,
                  sigma 0.55); sector total 0.12 Gt; net anode consumption N(0.40, 0.012) t/t
                  clipped 0.37-0.44; anode-effect minutes as the module's defaults
================  ==========================================================================================

Provinces follow power's unit weights (``fleet.PROVINCE_UNITS``, the heavy-industry provinces lead both),
drawn among the provinces the power fleet of the run uses (so every entity has its province's
regulators and agency). Each month carries 1/12 of the year x N(1, 0.04) (renormalised), the same in
both years but for a 2025 output trend of ``YEAR_TREND``. Monthly inputs are the MRV tests' realistic
months (``TEMPLATES``), scaled: what the system computes from them is the system's, not the generator's.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from . import fleet as power_fleet

COUNTS = {"steel": 232, "cement": 962, "aluminium": 97}
POWER_ENTITIES = 2087
PUBLISHED_TOTAL = POWER_ENTITIES + sum(COUNTS.values())  # 3,378
TARGET_TCO2 = {"steel": 1_800_000_000, "cement": 1_170_000_000, "aluminium": 120_000_000}
YEAR_TREND = {2024: 1.0, 2025: 0.99}
OUTPUT = {"steel": (3_500_000, 0.75), "cement": (1_000_000, 0.45), "aluminium": (350_000, 0.55)}
EFFICIENCY = {"steel": (1.0, 0.05, 0.85, 1.20), "cement": (1.0, 0.06, 0.80, 1.25),
              "aluminium": (0.40, 0.012, 0.37, 0.44)}
CEMENT_LINES = [(1, 0.70), (2, 0.25), (3, 0.05)]
STEEL_PROCESSES = ["coking", "sintering", "ironmaking", "bof", "rolling"]
# One month per template at the template's output; tCO2 per tonne of output below is what the sector
# modules compute from these (tests/mrv: steel 701,452 t for 400 kt crude steel, cement 77,234 t for 100 kt
# clinker, aluminium 84,731 t for 50 kt), used only to size outputs against the sector targets.
TEMPLATE_OUTPUT = {"steel": 400_000, "cement": 100_000, "aluminium": 50_000}
TEMPLATE_INTENSITY = {"steel": 1.7536, "cement": 0.7723, "aluminium": 1.6946}


@dataclasses.dataclass
class IndustryFleet:
    """``entities``: key, sector, province, name. ``units``: key, entity, sector, code, attributes.
    ``months``: one row per facility, year and month with ``output`` and ``r`` (the efficiency)."""

    seed: int
    entities: pd.DataFrame
    units: pd.DataFrame
    months: pd.DataFrame


def counts_for(total: int) -> dict:
    """Entities per sector for ``total`` entities in the published proportions (3,378 gives them exactly)."""
    published = {"power": POWER_ENTITIES, **COUNTS}
    whole = sum(published.values())
    out = {s: max(1, round(n * total / whole)) for s, n in published.items()}
    out["power"] = max(2, total - sum(v for s, v in out.items() if s != "power"))
    return out


def build(counts: dict, seed: int, provinces: list[str], first_key: int, years=(2024, 2025)) -> IndustryFleet:
    """Entities keyed from ``first_key`` (after the power fleet's), in ``provinces`` (English names)."""
    rng = np.random.default_rng(seed + 31)
    weights = np.array([power_fleet.PROVINCE_UNITS.get(p, 1) for p in provinces], dtype=float)
    entities, units, annual = [], [], []
    key = first_key
    for sector in ("steel", "cement", "aluminium"):
        n = counts.get(sector, 0)
        median, sigma = OUTPUT[sector]
        for i in range(n):
            province = provinces[int(rng.choice(len(provinces), p=weights / weights.sum()))]
            entities.append({"entity": key, "sector": sector, "province": province,
                             "name": f"Replay {sector} {i + 1}"})
            lines = 1 if sector != "cement" else int(rng.choice([c for c, _ in CEMENT_LINES],
                                                                  p=[p for _, p in CEMENT_LINES]))
            for n_line in range(1, lines + 1):
                output = float(rng.lognormal(np.log(median), sigma))
                mean, sd, low, high = EFFICIENCY[sector]
                r = float(np.clip(rng.normal(mean, sd), low, high))
                code = f"RP{seed}-{sector[0].upper()}{key:05d}-{n_line:02d}"
                units.append({"entity": key, "sector": sector, "code": code, "attributes": _attributes(sector, output)})
                annual.append({"unit": code, "entity": key, "sector": sector, "output": output, "r": r})
            key += 1
    annual = pd.DataFrame(annual, columns=["unit", "entity", "sector", "output", "r"])
    # Scale outputs so the sector reaches its target in proportion to its entities (a 12-entity replay
    # keeps the national averages per entity).
    for sector, group in annual.groupby("sector"):
        intensity = TEMPLATE_INTENSITY[sector] * (group["r"] if sector != "aluminium" else group["r"] / 0.40)
        target = TARGET_TCO2[sector] * counts[sector] / COUNTS[sector]
        annual.loc[group.index, "output"] = group["output"] * target / float((group["output"] * intensity).sum())
    months = []
    month_rng = np.random.default_rng(seed + 37)
    for year in years:
        shape = month_rng.normal(1, 0.04, (len(annual), 12))
        shares = shape / shape.sum(axis=1, keepdims=True)
        for m in range(12):
            months.append(annual.assign(year=year, month=m + 1,
                                        output=annual["output"] * YEAR_TREND[year] * shares[:, m]))
    return IndustryFleet(seed=seed, entities=pd.DataFrame(entities), units=pd.DataFrame(units),
                         months=pd.concat(months, ignore_index=True) if months else pd.DataFrame())


def _attributes(sector: str, output: float) -> dict:
    if sector == "steel":
        return {"processes": STEEL_PROCESSES}
    if sector == "cement":
        return {"clinker_type": "portland", "design_capacity_tpd": int(max(1000, output / 300))}
    return {"capacity_t": int(output * 1.1)}


def _q(value: float) -> str:
    return f"{value:.3f}"


def month_inputs(sector: str, output: float, r: float) -> dict:
    """A month's key parameters: the template scaled to ``output``, its carbon inputs by ``r``."""
    k = output / TEMPLATE_OUTPUT[sector]
    if sector == "cement":
        return {"fuels": [{"fuel": "bituminous", "consumption": _q(12500 * k * r), "ncv": "22.0"}],
                "clinker_t": _q(output)}
    if sector == "aluminium":
        return {"aluminium_t": _q(output), "net_anode_consumption": f"{r:.4f}"}
    return {"fuels": [{"fuel": "washed_coking_coal", "consumption": _q(220000 * k * r)},
                      {"fuel": "anthracite", "consumption": _q(70000 * k * r)}],
            "materials": [{"material": "limestone", "consumption": _q(30000 * k)}],
            "products": [{"product": "crude_steel", "quantity": _q(output)},
                         {"product": "tar", "quantity": _q(5000 * k)}],
            "processes": {"sintering": {"inputs": [{"fuel": "coke", "consumption": _q(20000 * k * r)}]},
                          "ironmaking": {"inputs": [{"fuel": "coke", "consumption": _q(150000 * k * r)}],
                                         "outputs": [{"fuel": "bf_gas", "consumption": _q(20000 * k)}]}},
            "ironmaking_output_t": _q(370000 * k), "sinter_t": _q(500000 * k)}
