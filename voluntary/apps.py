from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoluntaryConfig(AppConfig):
    name = "voluntary"
    verbose_name = _("Voluntary market (CCER)")
