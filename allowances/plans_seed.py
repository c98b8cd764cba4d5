"""The allocation plans as data: power 2019-2024 (DOMAIN.md sections 3-4, migration 0002), power 2025-26 and
the industrial sectors' 2024-26 plans (sectors-2025.md sections 1-4 and 6, migration 0006).

Kept as plain data (no models import) so the data migration and the tests read the same figures.
Confidence marks: [A] read in the official text, [B] secondary source, [C] widely reported only.
The 2021 balance values are not known: there is deliberately no row for them.
"""

from allowances.formulas import POWER_EXEMPTIONS as POWER_EXEMPTION_CODES  # pure Decimal module, no models

CATEGORIES = ("I", "II", "III", "IV")

# column -> (electricity I, II, III, IV), (heat coal, heat gas), confidence, note
COLUMNS = {
    "2019-20": (("0.877", "0.979", "1.146", "0.392"), ("0.126", "0.059"), "B",
                "2019-20 plan benchmarks as reported by ICAP [B]."),
    "2021": (("0.8218", "0.8773", "0.9350", "0.3920"), ("0.1111", "0.0560"), "C",
             "[C] widely reported 2021 benchmark, not confirmed against the 2021-22 plan's annex."),
    "2022": (("0.8177", "0.8729", "0.9303", "0.3901"), ("0.1105", "0.0557"), "C",
             "[C] widely reported 2022 benchmark, not confirmed against the 2021-22 plan's annex."),
    "2023-balance": (("0.7982", "0.8155", "0.8352", "0.3239"), ("0.1041", "0.0525"), "A",
                     "2023 balance value, 2023-24 plan annex [A]."),
    "2023": (("0.7950", "0.8090", "0.8285", "0.3305"), ("0.1038", "0.0536"), "A", "2023-24 plan annex [A]."),
    "2024": (("0.7910", "0.8049", "0.8244", "0.3288"), ("0.1033", "0.0533"), "A", "2023-24 plan annex [A]."),
    "2025": (("0.7902", "0.8017", "0.8162", "0.3288"), ("0.1027", "0.0533"), "A",
             "2025-26 power plan, consultation draft of July 2026 (S1) [A, draft]."),
    "2026": (("0.7894", "0.7985", "0.8080", "0.3288"), ("0.1021", "0.0533"), "A",
             "2025-26 power plan, consultation draft of July 2026 (S1) [A, draft]."),
}

SUPPLY_PLAN = {
    "activity_basis": "supply", "correction_scheme": "supply_corrections",
    "pre_allocation_basis": "previous_output", "vintage_rule": "any",
}
GENERATION_PLAN = {
    "activity_basis": "generation", "correction_scheme": "peak_factor",
    "pre_allocation_basis": "previous_emissions", "vintage_rule": "same_or_earlier",
}

# code -> (title, first, last, plan fields, [(year, column, kind)])
PLANS = {
    "2019-20": ("2019-2020年全国碳排放权交易配额总量设定与分配实施方案（发电行业）", 2019, 2020,
                {**SUPPLY_PLAN, "load_factor_for_chp": False, "borrowing_allowed": False, "confidence": "B",
                 "note": "Formula [B]; correction factor values [C]. Load-factor correction for pure-condensing "
                         "coal units only."},
                [(2019, "2019-20", "benchmark"), (2020, "2019-20", "benchmark")]),
    "2021": ("2021、2022年度全国碳排放权交易配额总量设定与分配实施方案（发电行业）: 2021", 2021, 2021,
             {**SUPPLY_PLAN, "load_factor_for_chp": True, "borrowing_allowed": True, "confidence": "C",
              "note": "[C] benchmark values widely reported, not confirmed against the annex; the 2021 balance "
                      "values are not known (no rows). Load-factor correction extended to coal CHP [B]. "
                      "Borrowing [B]."},
             [(2021, "2021", "benchmark")]),
    "2022": ("2021、2022年度全国碳排放权交易配额总量设定与分配实施方案（发电行业）: 2022", 2022, 2022,
             {**SUPPLY_PLAN, "load_factor_for_chp": True, "borrowing_allowed": True, "confidence": "C",
              "note": "[C] benchmark values widely reported, not confirmed against the annex. Load-factor "
                      "correction extended to coal CHP [B]. Borrowing [B]."},
             [(2022, "2022", "benchmark")]),
    "2023": ("2023、2024年度全国碳排放权交易发电行业配额总量和分配方案: 2023", 2023, 2023,
             {**GENERATION_PLAN, "load_factor_for_chp": True, "borrowing_allowed": False, "confidence": "A",
              "note": "2023-24 plan [A]: gross generation, peak-regulation factor for categories I and II only."},
             [(2023, "2023", "benchmark"), (2023, "2023-balance", "balance_value")]),
    "2024": ("2023、2024年度全国碳排放权交易发电行业配额总量和分配方案: 2024", 2024, 2024,
             {**GENERATION_PLAN, "load_factor_for_chp": True, "borrowing_allowed": False, "confidence": "A",
              "note": "2023-24 plan [A]: gross generation, peak-regulation factor for categories I and II only."},
             [(2024, "2024", "benchmark")]),
}

# ---- 2025 onwards (migration 0006). Later plans go here, never into PLANS (migration 0002 reads it). ----

S1 = ("S1: 《全国碳排放权交易市场2025、2026年度发电行业以及2026年度钢铁、水泥、铝冶炼行业配额总量和分配方案"
      "（征求意见稿）》, MEE, July 2026")
POWER_EXEMPTIONS = list(POWER_EXEMPTION_CODES)
POWER_2025 = {**GENERATION_PLAN, "sector": "power", "method": "benchmark", "consultation_draft": True,
              "load_factor_for_chp": True, "borrowing_allowed": False, "confidence": "A",
              "pre_allocation_share": "0.50", "peak_formula": "gb21258_2024", "peak_threshold": "0.50",
              "exemptions": POWER_EXEMPTIONS}
POWER_NOTE = ("Consultation draft (S1) [A, draft]: gross generation; peak-regulation factor of GB 21258-2024 for "
              "conventional coal (I, II) below 50% load, applied as published (it steps from 1.10 to 1 at 50%, see "
              "formulas.peak_factor); pre-allocation at most 50% of the previous year's verified emissions; gas "
              "top-up and the 80% entity floor kept; A = verified emissions for biomass co-firing > 20%, own "
              "secondary energy > 10%, both > 20%, special fuels, own waste gas, coal-to-gas boilers, oil/IGCC/ICE, "
              "emergency backup and green hydrogen/ammonia > 20%.")

COMMON_EXEMPTIONS = ["new", "closed", "below_threshold"]
SECTOR_EXEMPTIONS = {
    "steel": ["hydrogen_furnace", *COMMON_EXEMPTIONS],
    "cement": ["white_clinker", "carbide_slag", "gypsum_acid", *COMMON_EXEMPTIONS],
    "aluminium": COMMON_EXEMPTIONS,
}
SECTOR_TITLES = {"steel": "钢铁", "cement": "水泥", "aluminium": "铝冶炼"}
INDUSTRY_2024 = {"method": "verified_emissions", "pre_allocation_share": "0", "pre_allocation_basis": "",
                 "vintage_rule": "same_or_earlier", "gas_relief": False, "entity_relief_floor": None,
                 "confidence": "B",
                 "note": "2024, the sectors' first year: allocation = verified 2024 emissions, no pre-allocation "
                         "[B] (ICAP 2025-11-16; MEE press conference 2025-11-28)."}
INDUSTRY_INTENSITY = {"method": "intensity", "pre_allocation_share": "0.50", "pre_allocation_basis":
                      "previous_emissions", "vintage_rule": "same_or_earlier", "gas_relief": False,
                      "entity_relief_floor": None, "intensity_band": "0.20", "intensity_slope": "0.15"}
CARBIDE_SLAG_2025_NOTE = (
    " Carbide-slag exemption threshold 30% [C]: the final 2025 plan was not read; a press summary quotes 15%, "
    "while S1 (an official text) gives 30% and says the 2025 method is unchanged, so 30% is seeded, editable.")

# code -> (title, sector, year, plan fields)
SECTOR_PLANS = {
    "2025": ("全国碳排放权交易市场2025年度发电行业配额总量和分配方案（征求意见稿）", "power", 2025,
             {**POWER_2025, "note": POWER_NOTE}),
    "2026": ("全国碳排放权交易市场2026年度发电行业配额总量和分配方案（征求意见稿）", "power", 2026,
             {**POWER_2025, "note": POWER_NOTE}),
}
for _sector, _name in SECTOR_TITLES.items():
    SECTOR_PLANS[f"{_sector}-2024"] = (f"2024年度{_name}行业配额分配（核定 = 2024年度核查排放量）", _sector, 2024,
                                       {**INDUSTRY_2024, "exemptions": SECTOR_EXEMPTIONS[_sector]})
    SECTOR_PLANS[f"{_sector}-2025"] = (
        f"2024、2025年度{_name}行业配额总量和分配方案: 2025", _sector, 2025,
        {**INDUSTRY_INTENSITY, "exemptions": SECTOR_EXEMPTIONS[_sector], "consultation_draft": False,
         "carbide_slag_threshold": "0.30" if _sector == "cement" else None,
         "confidence": "C" if _sector == "cement" else "B",
         "note": "Intensity-coefficient method [B]: the final 2024-25 plan was not read; S1 says the 2025 method "
                 "is kept unchanged in 2026. Pre-allocation ratio 50% [C] (not seen for 2025)."
                 + (CARBIDE_SLAG_2025_NOTE if _sector == "cement" else "")})
    SECTOR_PLANS[f"{_sector}-2026"] = (
        f"2026年度{_name}行业配额总量和分配方案（征求意见稿）", _sector, 2026,
        {**INDUSTRY_INTENSITY, "exemptions": SECTOR_EXEMPTIONS[_sector], "consultation_draft": True,
         "carbide_slag_threshold": "0.30" if _sector == "cement" else None, "confidence": "A",
         "note": f"Consultation draft (S1) [A, draft]: A = floor(E x (1 + alpha)), alpha = 0.15 X within +-20%, "
                 f"+-0.03 beyond; pre-allocation at most 50% of 2025 verified emissions. {S1}."})

# Published balance values: (plan code, year) -> (value, confidence, note). None found for 2025 (sectors-2025.md
# s. 8.4): unknown values have no row; ``services.balance_value_publish`` writes them once solved.
BALANCE_VALUES: dict[tuple[str, int], tuple[str, str, str]] = {}


def benchmark_rows(column: str):
    """(category, electricity, heat, confidence, note) for one column of the DOMAIN.md table."""
    electricity, (heat_coal, heat_gas), confidence, note = COLUMNS[column]
    for category, value in zip(CATEGORIES, electricity, strict=True):
        yield category, value, heat_gas if category == "IV" else heat_coal, confidence, note
