import importlib
import os
import unicodedata

from django.core.management.base import BaseCommand
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from cets.celery import tasks_in_process
from cets.common.audit import audit_seal_all
from entities.demo import DEMO_PASSWORD
from entities.models import User

# Each app may add its part of the demo market in <app>/demo.py: seed(out, base) -> None.
APP_DEMOS = ["registry", "mrv", "allowances", "trading", "voluntary", "compliance"]


class Command(BaseCommand):
    help = ("Build (or top up) the demo market; safe to run again. Its jobs run in this process, "
            "also with a broker configured (no worker needed).")

    def handle(self, *args, **options):
        with tasks_in_process():  # each app's demo uses its jobs' results at once
            self._seed()

    def _seed(self):
        from entities import demo

        with transaction.atomic():
            base = demo.seed(self.stdout)
        for app in APP_DEMOS:
            try:
                module = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo":
                    raise
                continue
            module.seed(self.stdout, base)
        # The demo runs without beat: seal the audit trail it wrote, as the beat task would.
        self.stdout.write(f"Audit entries sealed into the hash chain: {audit_seal_all():,}")
        url = os.environ.get("DEMO_URL", "http://127.0.0.1:8000")
        self.stdout.write(self.style.SUCCESS(f"Demo market ready at {url}"))
        self.stdout.write(f"Every demo user's password: {DEMO_PASSWORD}")
        self.stdout.write("Regulators and exchange staff also type the code of `python manage.py demo_totp <user>` "
                          "at /login/, /admin/ and every sign-off. README.md: what to try first.")
        rows = []
        for user in User.objects.filter(is_active=True).select_related("entity", "organisation", "province", "city"):
            if user.must_use_two_factor:
                # Every user with approval powers gets a demo authenticator (the apps' demos create some users).
                TOTPDevice.objects.get_or_create(user=user, confirmed=True, defaults={"name": "demo authenticator"})
            ties = user.entity or user.organisation or user.city or user.province or "-"
            rows.append((ROLE_ORDER.index(user.role) if user.role in ROLE_ORDER else len(ROLE_ORDER),
                         user.get_username(), str(user.get_role_display()), str(ties),
                         "password + code" if user.must_use_two_factor else "password",
                         "/home/, /admin/" if user.is_staff else "/home/"))
        rows.sort()
        self.stdout.write(text_table(("user", "role", "acts for", "log-in", "starts at"), [row[1:] for row in rows]))


#: The table lists the users in the order a newcomer meets them: entities first, then their regulators.
ROLE_ORDER = [User.Role.ENTITY, User.Role.INTEGRATOR, User.Role.VERIFIER, User.Role.MUNICIPAL_REGULATOR,
              User.Role.PROVINCIAL_REGULATOR, User.Role.NATIONAL_REGULATOR, User.Role.EXCHANGE_STAFF,
              User.Role.PARTICIPANT, User.Role.PROJECT_OWNER, User.Role.VVB]


def _width(text: str) -> int:
    """Columns a terminal gives ``text``: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def text_table(header: tuple, rows: list) -> str:
    """A plain-text table whose columns line up in a terminal, Chinese text included."""
    widths = [max(_width(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells):
        return "  ".join(str(c) + " " * (w - _width(str(c))) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(header), line("-" * w for w in widths), *(line(row) for row in rows)])
