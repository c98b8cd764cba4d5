from django.core.management.base import BaseCommand, CommandError

from cets.common.audit import audit_seal_all, audit_verify
from cets.common.models import AuditEntry


class Command(BaseCommand):
    help = ("Seal the committed entries, then recompute the audit trail's hash chain; exit non-zero if any entry "
            "was edited or deleted.")

    def handle(self, *args, **options):
        sealed = audit_seal_all()
        problems = audit_verify()
        if problems:
            for line in problems[:50]:
                self.stderr.write(line)
            raise CommandError(f"audit trail broken: {len(problems)} problem(s)")
        self.stdout.write(f"audit trail intact: {AuditEntry.objects.count()} entries ({sealed} sealed just now)")
