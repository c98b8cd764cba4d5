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
