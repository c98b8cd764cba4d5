"""Who reports without being allocated, per sector (sectors-2025.md section 0 and 2.1), seeded by migration into
``Sector.report_only_rules``. Plain data; a regulator edits the rows in the admin.

- Steel [A] S2, S3 Annex 1: the list covers long-process (BF-BOF) producers; independent EAF steelmakers and
  independent rolling mills (no ironmaking process) at or above the threshold report and are verified only.
- Cement [A] S2, S3 Annex 1: non-silicate clinker (sulphoaluminate, aluminate) producers reported for 2024 and
  join the list from the 2027 list; through data year 2026 they report only.
"""

REPORT_ONLY_RULES = {
    "steel": [
        {"attribute": "processes", "lacks": "ironmaking", "confidence": "A",
         "reason": "independent EAF steelmaker or rolling mill (no ironmaking): reports only (S2, S3 Annex 1)"},
    ],
    "cement": [
        {"attribute": "clinker_type", "in": ["sulphoaluminate", "aluminate"], "until_year": 2026, "confidence": "A",
         "reason": "non-silicate clinker: reports only until the 2027 list (S2, S3 Annex 1)"},
    ],
}
