"""The 2025 carry-over scheme as published, seeded by a data migration and editable in the admin afterwards.

Source: 《2023、2024年度全国碳排放权交易发电行业配额总量和分配方案》 Annex 5 (结转), MEE 2024-10 [A]
(sectors-2025.md S5, section 5). Applying the same terms to steel, cement and aluminium holders is [C]: the
industrial plan has a carry-over section whose terms were not seen. The receipt date of the first batch is
not in the summary [C]: applications received by 2026-03-13 (ten working days before the batch's decision
date of 2026-03-27) go to batch 1, the rest (until 2026-06-10) to batch 2, decided by 2026-06-26.
"""

import datetime as dt
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")

SCHEMES = [
    {"code": "2025", "name": "2019-2024年度配额结转 Carry-over of 2019-2024 allowances into 2025",
     "first_vintage": 2019, "last_vintage": 2024, "target_vintage": 2025,
     "sales_from": dt.date(2024, 1, 1), "sales_to": dt.date(2025, 12, 31),
     "cutoff": dt.datetime(2025, 12, 31, 23, 59, 59, tzinfo=BEIJING), "base_tco2": 10_000, "multiplier": "1.5",
     "notices_by": dt.date(2026, 1, 31), "apply_until": dt.date(2026, 6, 10), "excluded_years": [2023, 2024],
     "issue_within_working_days": 5, "confidence": "A",
     "source": "2023-2024 power plan, Annex 5 (MEE 2024-10); batch 1 receipt date [C]",
     "batches": [(1, dt.date(2026, 3, 13), dt.date(2026, 3, 27)), (2, dt.date(2026, 6, 10), dt.date(2026, 6, 26))]},
]


def load_schemes(apps, schema_editor=None) -> None:
    Scheme = apps.get_model("compliance", "CarryOverScheme")
    Batch = apps.get_model("compliance", "CarryOverBatch")
    for row in SCHEMES:
        fields = {k: v for k, v in row.items() if k not in ("code", "batches")}
        scheme, _created = Scheme.objects.get_or_create(code=row["code"], defaults=fields)
        for number, receive_until, decide_by in row["batches"]:
            Batch.objects.get_or_create(scheme=scheme, number=number,
                                        defaults={"receive_until": receive_until, "decide_by": decide_by})
