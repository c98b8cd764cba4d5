"""Portal forms: shape only; the rules are checked by ``compliance.services``."""

import re

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

    # (item kind, name in a service error's field) -> the form field the error belongs next to.
    _ERROR_FIELDS = {("cea", "quantity"): "cea_quantity", ("cea", "vintage"): "cea_vintage",
                     ("cea", "instrument"): "cea_vintage", ("ccer", "quantity"): "ccer_quantity",
                     ("ccer", "instrument"): "ccer_instrument"}

    def field_for(self, service_field: str | None) -> str | None:
        """The form field a service error's ``field`` points at (``items[0].quantity``; the registry's bare
        ``quantity`` when only one item was given), or None for an error about the whole form."""
        items = self.items()
        match = re.fullmatch(r"items\[(\d+)\]\.(\w+)", service_field or "")
        if match:
            index, name = int(match[1]), match[2]
        elif service_field in ("quantity", "instrument") and len(items) == 1:
            index, name = 0, service_field
        else:
            return None
        if index >= len(items):
            return None
        return self._ERROR_FIELDS.get((items[index]["kind"], name))
