"""Portal forms of the user's own account."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .api_tokens import EXPIRY_DAYS
from .models import ApiToken


class TotpConfirmForm(forms.Form):
    """The 6-digit code an authenticator shows after scanning the QR code."""

    token = forms.RegexField(label=_("Code from your authenticator"), regex=r"^\s*\d{6}\s*$", max_length=12,
                             error_messages={"invalid": _("Enter the 6 digits your authenticator shows.")},
                             widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))

    def clean_token(self) -> str:
        return self.cleaned_data["token"].strip()


class EnrolmentCodeForm(forms.Form):
    """The one-time enrolment code an administrator issued (e.g. K7QP-3MZX-9TRA)."""

    enrolment_code = forms.CharField(label=_("Enrolment code from your administrator"), max_length=20,
                                     widget=forms.TextInput(attrs={"autocomplete": "off"}))


class ApiTokenForm(forms.Form):
    """A new named API token: what it is for, read or write, and when it stops working."""

    name = forms.CharField(label=_("Name"), max_length=80,
                           help_text=_("The system that will use it, e.g. “ERP export”."))
    access = forms.ChoiceField(label=_("Access"), choices=ApiToken.Access.choices, initial=ApiToken.Access.READ,
                               widget=forms.RadioSelect,
                               help_text=_("Read only refuses every request that changes something (HTTP 403)."))
    expires_in_days = forms.TypedChoiceField(
        label=_("Expires after"), coerce=int, initial=90,
        choices=lambda: [(days, ngettext("%(days)d day", "%(days)d days", days) % {"days": days})
                         for days in EXPIRY_DAYS])
