"""Backfill the vintage totals from what was determined before they existed: approved runs (their
positive differences) and approved borrowings. Registry caps follow at the vintage's next determination
(``allowances.vintage_totals.vintage_total_add``)."""

from django.db import migrations
from django.db.models import Sum


def backfill(apps, schema_editor):
    run_model = apps.get_model("allowances", "AllocationRun")
    borrowing_model = apps.get_model("allowances", "BorrowingApplication")
    total_model = apps.get_model("allowances", "VintageTotal")
    entry_model = apps.get_model("allowances", "VintageTotalEntry")
    entries = []
    for run in run_model.objects.filter(status__in=["issuing", "completed"]):
        quantity = run.entities.filter(difference_tco2__gt=0).aggregate(n=Sum("difference_tco2"))["n"] or 0
        entries.append((run.year, run.kind, quantity, f"allowances-run-{run.pk}"))
    for application in borrowing_model.objects.filter(status__in=["approved", "deducted"]):
        entries.append((application.year + 1, "borrowing", application.requested_tco2,
                        f"allowances-borrowing-{application.pk}"))
    for vintage, source, quantity, reference in entries:
        if quantity <= 0:
            continue
        total, _created = total_model.objects.get_or_create(vintage=vintage)
        entry_model.objects.create(total=total, source=source, quantity_tco2=quantity, reference=reference)
        total.total_tco2 += quantity
        total.save(update_fields=["total_tco2"])


class Migration(migrations.Migration):

    dependencies = [("allowances", "0008_vintage_total")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
