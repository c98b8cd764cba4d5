"""Seed the CEA products by vintage with the national market's trading rules as data.

Rules from DOMAIN.md section 7: tick 0.01 yuan, lot 1 t, listed orders < 100,000 t, bulk >= 100,000 t,
bands +-10% listed / +-30% bulk, sessions 9:30-11:30 and 13:00-15:00 listed, 13:00-15:00 bulk.
Figures marked [C] (not confirmed against an official text; regulators correct them in the admin):
the fee rate per side, position limits and large-holder thresholds per participant kind, and the
previous closing prices a fresh system starts from (79.42, the 2023 year-end close, for every vintage).
"""

from decimal import Decimal

from django.db import migrations

LISTED = [["09:30", "11:30"], ["13:00", "15:00"]]
BULK = [["13:00", "15:00"]]
PRODUCTS = [("CEA19-20", 2020), ("CEA21", 2021), ("CEA22", 2022), ("CEA23", 2023), ("CEA24", 2024)]
# participant kind: (position limit t or None, large-holder threshold t)  [C]
LIMITS = {"entity": (None, 5_000_000), "institution": (2_000_000, 1_000_000), "exchange": (None, 10_000_000)}


def seed(apps, schema_editor):
    Product = apps.get_model("trading", "Product")
    ParticipantRule = apps.get_model("trading", "ParticipantRule")
    for code, vintage in PRODUCTS:
        product, _ = Product.objects.get_or_create(code=code, defaults={
            "name": f"{code} 全国碳排放配额", "vintage": vintage, "tick": Decimal("0.01"), "lot": 1,
            "bulk_min_quantity": 100_000, "listed_band_pct": Decimal("10"), "bulk_band_pct": Decimal("30"),
            "listed_sessions": LISTED, "bulk_sessions": BULK, "fee_rate": Decimal("0.0005"),
            "previous_close": Decimal("79.42")})
        for kind, (limit, threshold) in LIMITS.items():
            ParticipantRule.objects.get_or_create(product=product, participant_kind=kind, defaults={
                "position_limit": limit, "large_holder_threshold": threshold})


class Migration(migrations.Migration):
    dependencies = [("trading", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
