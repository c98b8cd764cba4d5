"""The compliance cycles as published, seeded by a data migration and editable in the admin afterwards.

Sources and confidence (DOMAIN.md section 6):
- 2019-2020: MEE notice on the first cycle's surrender (2021-10): 95% of each province's entities
  by 2021-12-15, all by 2021-12-31 [B]. Vintage CEA19-20 only.
- 2021-2022: MEE notice (2023-07): 95% by 2023-11-15, all by 2023-12-31 [B]. CEA19-20, CEA21, CEA22
  (a year never uses a later vintage).
- 2023 and 2024: annual surrender under the 2023-24 plan, by 2024-12-31 and 2025-12-31 [C]; a
  year's obligation may use that vintage or earlier [A].
CCER offsets up to 5% of the obligation in every cycle [A]. Penalty multiplier 5-10 (Art. 24) [A].
"""

import datetime as dt

CYCLES = [
    {"code": "2019-2020", "name": "第一个履约周期 First compliance cycle (2019-2020)", "first_year": 2019,
     "last_year": 2020, "milestone_pct": "95", "milestone_date": dt.date(2021, 12, 15),
     "deadline": dt.date(2021, 12, 31), "confidence": "B",
     "source": "MEE notice on the 2019-2020 surrender; CEA19-20 only"},
    {"code": "2021-2022", "name": "第二个履约周期 Second compliance cycle (2021-2022)", "first_year": 2021,
     "last_year": 2022, "milestone_pct": "95", "milestone_date": dt.date(2023, 11, 15),
     "deadline": dt.date(2023, 12, 31), "confidence": "B",
     "source": "MEE notice (2023-07) on the 2021-2022 surrender: 95% by 2023-11-15, all by 2023-12-31"},
    {"code": "2023", "name": "2023年度履约 Annual compliance 2023", "first_year": 2023, "last_year": 2023,
     "milestone_pct": None, "milestone_date": None, "deadline": dt.date(2024, 12, 31), "confidence": "C",
     "source": "2023-24 allocation plan: annual surrender; deadline as widely reported"},
    {"code": "2024", "name": "2024年度履约 Annual compliance 2024", "first_year": 2024, "last_year": 2024,
     "milestone_pct": None, "milestone_date": None, "deadline": dt.date(2025, 12, 31), "confidence": "C",
     "source": "2023-24 allocation plan: annual surrender; deadline as widely reported"},
]


def eligible_vintages(year: int) -> list[int]:
    """Vintages usable for ``year``: CEA19-20 (named 2019) and every later vintage up to ``year``."""
    return [2019] + [v for v in range(2021, year + 1)]


def load_cycles(apps, schema_editor=None) -> None:
    Cycle = apps.get_model("compliance", "ComplianceCycle")
    Vintage = apps.get_model("compliance", "EligibleVintage")
    for row in CYCLES:
        cycle, _created = Cycle.objects.get_or_create(code=row["code"], defaults={k: v for k, v in row.items()
                                                                                 if k != "code"})
        for year in range(cycle.first_year, cycle.last_year + 1):
            for vintage in eligible_vintages(year):
                Vintage.objects.get_or_create(cycle=cycle, year=year, vintage=vintage)
