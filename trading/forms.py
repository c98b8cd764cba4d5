"""Portal forms: shape only; every rule is checked by the services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Side


class OrderForm(forms.Form):
    product = forms.CharField(label=_("Product"))
    side = forms.ChoiceField(label=_("Side"), choices=Side.choices)
    price = forms.CharField(label=_("Price (yuan/t)"))
    quantity = forms.CharField(label=_("Quantity (t)"))


class TakeForm(forms.Form):
    quantity = forms.CharField(label=_("Quantity (t)"))
