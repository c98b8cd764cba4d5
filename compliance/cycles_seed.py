"""The compliance cycles as published, their sectors and dated steps, seeded by data migrations and
editable in the admin afterwards. Which vintages settle which year is the registry's data
(``registry.vintages_seed``), read by ``ComplianceCycle.vintages``.

Sources and confidence (DOMAIN.md sections 6 and 9; sectors-2025.md sections 0 and 5):
- 2019-2020: MEE notice on the first cycle's surrender (2021-10): 95% of each province's entities
  by 2021-12-15, all by 2021-12-31 [B]. Power only.
- 2021-2022: MEE notice (2023-07): 95% by 2023-11-15, all by 2023-12-31 [B]. Power only.
- 2023 and 2024: annual surrender under the 2023-24 plan, by 2024-12-31 and 2025-12-31 [C]. 2024 also
  settles steel, cement and aluminium, allocated their verified emissions with no pre-allocation [B],
  on the 2024-vintage timeline of S2 [A].
- 2025: all four sectors; industry pre-allocation by 2026-04-10, power by 2026-06-30, final allocation
  by 2026-09-20, surrender by 2026-12-31; carry-over applications until 2026-06-10 [A] S3, S5.
- 2026: all four sectors from the July 2026 draft plan (S1), marked draft; surrender by Dec 31 of the
  following year, S1's general rule [A, draft]; no work notice for the 2026 vintage yet.
CCER offsets up to 5% of the obligation in every cycle [A]. Penalty multiplier 5-10 (Art. 24) [A].
"""

import datetime as dt

D = dt.date
INDUSTRY = ("steel", "cement", "aluminium")
FOUR = ("power",) + INDUSTRY
S2 = "环办气候函〔2025〕140号 (2025 work notice, S2), 2024 vintage of the new sectors"
S3 = "2026 work notice (2026-01-27, S3), 2025 vintage"

CYCLES = [
    {"code": "2019-2020", "name": "第一个履约周期 First compliance cycle (2019-2020)", "first_year": 2019,
     "last_year": 2020, "milestone_pct": "95", "milestone_date": D(2021, 12, 15),
     "deadline": D(2021, 12, 31), "confidence": "B",
     "source": "MEE notice on the 2019-2020 surrender; CEA19-20 only"},
    {"code": "2021-2022", "name": "第二个履约周期 Second compliance cycle (2021-2022)", "first_year": 2021,
     "last_year": 2022, "milestone_pct": "95", "milestone_date": D(2023, 11, 15),
     "deadline": D(2023, 12, 31), "confidence": "B",
     "source": "MEE notice (2023-07) on the 2021-2022 surrender: 95% by 2023-11-15, all by 2023-12-31"},
    {"code": "2023", "name": "2023年度履约 Annual compliance 2023", "first_year": 2023, "last_year": 2023,
     "milestone_pct": None, "milestone_date": None, "deadline": D(2024, 12, 31), "confidence": "C",
     "source": "2023-24 allocation plan: annual surrender; deadline as widely reported"},
    {"code": "2024", "name": "2024年度履约 Annual compliance 2024", "first_year": 2024, "last_year": 2024,
     "milestone_pct": None, "milestone_date": None, "deadline": D(2025, 12, 31), "confidence": "C",
     "source": "2023-24 allocation plan: annual surrender; deadline as widely reported"},
]

#: Cycles added with the four sectors (loaded by ``load_years``; the first loader keeps its four rows).
CYCLES_FOUR_SECTORS = [
    {"code": "2025", "name": "2025年度履约 Annual compliance 2025 (four sectors)", "first_year": 2025,
     "last_year": 2025, "milestone_pct": None, "milestone_date": None, "deadline": D(2026, 12, 31),
     "confidence": "A", "source": S3 + ": surrender by 2026-12-31", "draft": False},
    {"code": "2026", "name": "2026年度履约 Annual compliance 2026 (draft plan)", "first_year": 2026,
     "last_year": 2026, "milestone_pct": None, "milestone_date": None, "deadline": D(2027, 12, 31),
     "confidence": "B", "draft": True,
     "source": "2025-26 power and 2026 industry allocation plan, draft of July 2026 (S1): surrender by Dec 31 of "
               "the following year"},
]

#: Per cycle: {sector: (allocation basis, confidence, source)}.
SECTORS = {
    "2019-2020": {"power": ("plan", "A", "2019-2020 allocation plan")},
    "2021-2022": {"power": ("plan", "A", "2021-2022 allocation plan")},
    "2023": {"power": ("plan", "A", "2023-24 allocation plan (S5)")},
    "2024": {"power": ("plan", "A", "2023-24 allocation plan (S5)"),
             **{s: ("verified", "B", "2024 = verified emissions, no pre-allocation (S8, S9)") for s in INDUSTRY}},
    "2025": {s: ("plan", "A", "2025 method = the 2026 draft's, unchanged (S1); " + S3) for s in FOUR},
    "2026": {s: ("plan", "B", "2026 draft plan (S1), not final") for s in FOUR},
}

#: Per cycle: (kind, sector or None for all, due date, confidence, source).
MILESTONES = {
    "2024": [
        *[(kind, s, due, "A", S2) for s in INDUSTRY for kind, due in (
            ("lists", D(2025, 5, 10)), ("accounts", D(2025, 5, 15)), ("report", D(2025, 6, 30)),
            ("verification", D(2025, 8, 31)), ("final_allocation", D(2025, 9, 30)), ("issued", D(2025, 10, 20)))],
        ("surrender", None, D(2025, 12, 31), "A", S2 + "; power: 2023-24 plan"),
    ],
    "2025": [
        ("lists", None, D(2025, 10, 31), "A", S3),
        ("report", None, D(2026, 3, 31), "A", S3),
        *[("pre_allocation", s, D(2026, 4, 10), "A", S3) for s in INDUSTRY],
        ("pre_allocation", "power", D(2026, 6, 30), "A", S3),
        ("carry_over", None, D(2026, 6, 10), "A", "2023-24 plan Annex 5 (S5): applications until 2026-06-10"),
        ("verification", "power", D(2026, 6, 30), "A", S3),
        *[("verification", s, D(2026, 7, 31), "A", S3) for s in INDUSTRY],
        ("final_allocation", None, D(2026, 9, 20), "A", S3),
        ("issued", None, D(2026, 9, 30), "A", S3),
        ("surrender", None, D(2026, 12, 31), "A", S3),
    ],
    "2026": [
        ("lists", None, D(2025, 10, 31), "A", S3 + " (the 2026 list was due with the 2025 one)"),
        ("surrender", None, D(2027, 12, 31), "B", "S1 draft: Dec 31 of the following year"),
    ],
}


def _create_cycles(Cycle, rows) -> dict:
    fields = {f.name for f in Cycle._meta.concrete_fields}
    cycles = {}
    for row in rows:
        defaults = {k: v for k, v in row.items() if k != "code" and k in fields}
        cycles[row["code"]], _created = Cycle.objects.get_or_create(code=row["code"], defaults=defaults)
    return cycles


def load_cycles(apps, schema_editor=None) -> None:
    """The first four cycles (migration 0002; the vintages they list are the registry's rows since)."""
    _create_cycles(apps.get_model("compliance", "ComplianceCycle"), CYCLES)


def load_years(apps, schema_editor=None) -> None:
    """Every cycle with its sectors and milestones (migration 0005 and later reloads); never overwrites
    a row a regulator has edited."""
    cycles = _create_cycles(apps.get_model("compliance", "ComplianceCycle"), CYCLES + CYCLES_FOUR_SECTORS)
    CycleSector = apps.get_model("compliance", "CycleSector")
    CycleMilestone = apps.get_model("compliance", "CycleMilestone")
    for code, sectors in SECTORS.items():
        for sector, (basis, confidence, source) in sectors.items():
            CycleSector.objects.get_or_create(cycle=cycles[code], sector_id=sector, defaults={
                "allocation_basis": basis, "confidence": confidence, "source": source})
    for code, rows in MILESTONES.items():
        for kind, sector, due, confidence, source in rows:
            CycleMilestone.objects.get_or_create(cycle=cycles[code], kind=kind, sector_id=sector, defaults={
                "due_on": due, "confidence": confidence, "source": source})
