"""``manage.py check_consistency``: prove the apps tell one story (exit 1 with a report if not)."""

import sys
import time

from django.core.management.base import BaseCommand

from compliance.consistency import consistency_check


class Command(BaseCommand):
    help = ("Check the cross-app invariants (obligations = registry surrenders and cancellations = national "
            "account legs; allocation results = registry allocations and withdrawals; cash journals balanced; every "
            "CCER use has its registry cancellation); exit non-zero with a report when one is broken.")

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=50, help="problems listed per invariant")

    def handle(self, *args, limit: int, **options):
        started = time.monotonic()
        report = consistency_check(limit=limit)
        elapsed = time.monotonic() - started
        broken = {name: problems for name, problems in report.items() if problems}
        if broken:
            self.stderr.write(self.style.ERROR(f"Consistency BROKEN: {', '.join(broken)}"))
            for name, problems in broken.items():
                self.stderr.write(f"{name}:")
                for problem in problems:
                    self.stderr.write(f"  - {problem}")
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"Consistent: {', '.join(report)} ({elapsed:.2f} s)."))
