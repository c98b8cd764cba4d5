"""The published power-sector plans, as DOMAIN.md section 3 and 4 give them (seeded by migration 0002).

Kept as plain data (no models import) so the data migration and the tests read the same figures.
Confidence marks: [A] read in the official text, [B] secondary source, [C] widely reported only.
The 2021 balance values are not known: there is deliberately no row for them.
"""

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


def benchmark_rows(column: str):
    """(category, electricity, heat, confidence, note) for one column of the DOMAIN.md table."""
    electricity, (heat_coal, heat_gas), confidence, note = COLUMNS[column]
    for category, value in zip(CATEGORIES, electricity, strict=True):
        yield category, value, heat_gas if category == "IV" else heat_coal, confidence, note
