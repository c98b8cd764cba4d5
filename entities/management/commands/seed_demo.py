import importlib

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
        self.stdout.write(self.style.SUCCESS("Demo market ready at http://127.0.0.1:8000"))
        self.stdout.write(f"Every demo user's password: {DEMO_PASSWORD}")
        self.stdout.write("Regulators and exchange staff also type a code at /login/ and /admin/ and at every sign-off:"
                          " python manage.py demo_totp <username> prints it.")
        for user in User.objects.filter(is_active=True).order_by("role", "username"):
            name = user.get_username()
            if user.must_use_two_factor:
                # Every user with approval powers gets a demo authenticator (the apps' demos create some users).
                TOTPDevice.objects.get_or_create(user=user, confirmed=True, defaults={"name": "demo authenticator"})
                doors = "/login/ or /admin/" if user.is_staff else "/login/"
                door = f"{doors} (password + code: python manage.py demo_totp {name})"
            else:
                door = "/login/ (password)"
            self.stdout.write(f"  {name:<11} {user.get_role_display():<34} {door}")
