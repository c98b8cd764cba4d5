"""Portal forms: shape only; the rules are checked by ``compliance.services``."""

from django import forms
from django.utils.translation import gettext_lazy as _


class SurrenderForm(forms.Form):
    """One step: CEAs of a vintage, and/or CCERs of one instrument."""

    cea_vintage = forms.IntegerField(label=_("CEA vintage"), required=False, min_value=2000, max_value=2100)
    cea_quantity = forms.IntegerField(label=_("CEAs (t)"), required=False, min_value=1)
    ccer_instrument = forms.CharField(label=_("CCER instrument"), required=False, max_length=60)
    ccer_quantity = forms.IntegerField(label=_("CCERs (t)"), required=False, min_value=1)

    def items(self) -> list[dict]:
        data = self.cleaned_data
        items = []
        if data.get("cea_quantity"):
            items.append({"kind": "cea", "vintage": data.get("cea_vintage"), "quantity": data["cea_quantity"]})
        if data.get("ccer_quantity"):
            items.append({"kind": "ccer", "instrument": data.get("ccer_instrument"), "quantity": data["ccer_quantity"]})
        return items
