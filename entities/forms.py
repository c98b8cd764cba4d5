"""Portal forms of the user's own account."""

from django import forms
from django.utils.translation import gettext_lazy as _


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
