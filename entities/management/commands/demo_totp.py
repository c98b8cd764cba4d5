from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = ("Print a demo regulator's (or exchange staff's) current TOTP code and provisioning URI (for an "
            "authenticator app): the code is asked at /login/, /admin/ and at every four-eyes sign-off.")

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, username, **options):
        device = TOTPDevice.objects.filter(user__username=username, confirmed=True).first()
        if device is None:
            raise CommandError(f"{username} has no TOTP device")
        code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
        self.stdout.write(f"code now: {code:0{device.digits}d} (valid about 30 seconds; a sign-off accepts a code "
                          "given in the same session up to 5 minutes before)")
        self.stdout.write(f"authenticator URI: {device.config_url}")
