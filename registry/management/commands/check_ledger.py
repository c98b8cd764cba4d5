"""``manage.py check_ledger``: prove the registry neither lost nor created a tonne (exit 1 with a report if not)."""

import sys
import time

from django.core.management.base import BaseCommand

from registry.ledger import ledger_check


class Command(BaseCommand):
    help = "Check the registry ledger invariants; exit non-zero with a report when one is broken."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=20, help="problems listed per invariant")

    def handle(self, *args, limit: int, **options):
        started = time.monotonic()
        problems = ledger_check(limit=limit)
        elapsed = time.monotonic() - started
        if problems:
            self.stderr.write(self.style.ERROR(f"Registry ledger BROKEN: {len(problems)} problem(s)"))
            for problem in problems:
                self.stderr.write(f"  - {problem}")
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS(f"Registry ledger sound ({elapsed:.2f} s)."))
