"""Which CEA vintages settle the obligations of which compliance year, as plain data (seeded by migration).

Allowances are labelled by year, never by sector: a vintage settles the obligation of any sector
(sectors-2025.md section 5). A vintage is named as compliance names it: 2019 stands for CEA19-20
(registry vintage 2020). Never a later vintage for an earlier year (no borrowing) [A] S5.

- 2019-2024: CEA19-20 and every vintage up to the year [A] (the 2019-20, 2021-22 and 2023-24 plans).
- 2025 and later: 2019-2024 allowances no longer count unless carried over (carried-over units are
  issued as CEA25); 2025 and 2026 allowances count for 2025, 2026 and later [A] S1 (2025-26 draft
  plan), S5 Annex 5 (carry-over). 2026 follows the July 2026 draft plan.
- Not seeded (a choice): S1 also lets 2025-2026 allowances settle 2019-2024 arrears; the registry
  keeps "never a later vintage for an earlier year" until the final plan confirms it.
"""

OLD_SOURCE = "2019-20, 2021-22 and 2023-24 allocation plans: a year's obligation may use that vintage or earlier"
NEW_SOURCE = ("2025-26 allocation plan (draft, July 2026, S1) and 2023-24 plan Annex 5 (S5): 2019-2024 allowances "
              "settle 2025+ obligations only once carried over into CEA25")

#: The last compliance year 2019-2024 vintages settle without carry-over (named in refusals).
LAST_YEAR_OF_OLD_VINTAGES = 2024

YEARS = {
    **{year: {"vintages": [2019] + list(range(2021, year + 1)), "confidence": "A", "source": OLD_SOURCE}
       for year in range(2019, 2025)},
    2025: {"vintages": [2025], "confidence": "A", "source": NEW_SOURCE},
    2026: {"vintages": [2025, 2026], "confidence": "A", "source": NEW_SOURCE + "; 2026 from the draft plan"},
}


def load_vintages(apps, schema_editor=None) -> None:
    SurrenderVintage = apps.get_model("registry", "SurrenderVintage")
    for year, row in YEARS.items():
        for vintage in row["vintages"]:
            SurrenderVintage.objects.get_or_create(year=year, vintage=vintage, defaults={
                "confidence": row["confidence"], "source": row["source"]})
