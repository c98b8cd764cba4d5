from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from cets.common.audit import audit_seal_all, audit_verify
from cets.common.models import AuditEntry


class Command(BaseCommand):
    help = ("Seal the committed entries, then recompute the audit trail's hash chain; exit non-zero if any entry "
            "was edited or deleted. Then run check_consistency: an intact trail of an inconsistent record proves "
            "nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--skip-consistency", action="store_true",
                            help="check the audit chain only (check_consistency runs separately)")

    def handle(self, *args, skip_consistency: bool = False, **options):
        sealed = audit_seal_all()
        problems = audit_verify()
        if problems:
            for line in problems[:50]:
                self.stderr.write(line)
            raise CommandError(f"audit trail broken: {len(problems)} problem(s)")
        self.stdout.write(f"audit trail intact: {AuditEntry.objects.count()} entries ({sealed} sealed just now)")
        if skip_consistency:
            return
        try:  # by name: the command lives in compliance, which the common package does not import
            call_command("check_consistency", stdout=self.stdout, stderr=self.stderr)
        except SystemExit as exc:
            if exc.code:
                raise CommandError("cross-app consistency broken (see check_consistency above)") from None
