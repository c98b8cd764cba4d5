"""Portal and public forms: shape of input only; every rule is checked by the services."""

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from entities.models import Organisation, Province

from .models import CreditUse, Document, Methodology


class ProjectForm(forms.Form):
    methodology = forms.ModelChoiceField(Methodology.objects.filter(is_active=True), label=_("Methodology"),
                                         to_field_name="code")
    validator = forms.ModelChoiceField(Organisation.objects.filter(kind=Organisation.Kind.VVB, is_active=True),
                                       label=_("Validating VVB"))
    title = forms.CharField(label=_("Title"), max_length=200)
    title_en = forms.CharField(label=_("English title"), max_length=200, required=False)
    description = forms.CharField(label=_("Description"), widget=forms.Textarea, required=False)
    province = forms.ModelChoiceField(Province.objects.all(), label=_("Province"))
    site = forms.CharField(label=_("Site"), max_length=200)
    capacity = forms.DecimalField(label=_("Capacity (MW or ha)"), max_digits=12, decimal_places=2)
    construction_start = forms.DateField(label=_("Construction start"), widget=forms.DateInput(attrs={"type": "date"}))
    crediting_start = forms.DateField(label=_("Crediting period start"),
                                      widget=forms.DateInput(attrs={"type": "date"}))
    crediting_end = forms.DateField(label=_("Crediting period end"), widget=forms.DateInput(attrs={"type": "date"}))
    parameters = forms.CharField(label=_("Project parameters (JSON)"), widget=forms.Textarea, initial="{}",
                                 help_text=_('e.g. {"grid_connected": true, "offshore_distance_km": 45}'))

    def clean_parameters(self):
        try:
            value = json.loads(self.cleaned_data["parameters"] or "{}")
        except ValueError:
            raise forms.ValidationError(_("Enter the parameters as a JSON object."))
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Enter the parameters as a JSON object."))
        return value

    def to_service(self) -> dict:
        data = dict(self.cleaned_data)
        data["province_id"] = data.pop("province").pk
        return data


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(choices=Document.Kind.choices, label=_("Kind"))
    file = forms.FileField(label=_("File (PDF, DOCX or XLSX)"))


class CommentForm(forms.Form):
    author_name = forms.CharField(label=_("Your name or organisation"), max_length=100)
    author_email = forms.EmailField(label=_("E-mail (not published)"), required=False)
    text = forms.CharField(label=_("Comment"), widget=forms.Textarea, max_length=5000)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea, max_length=2000)


class ValidateForm(forms.Form):
    positive = forms.TypedChoiceField(label=_("Conclusion"), coerce=lambda v: v == "1",
                                      choices=[("1", _("Positive: the project meets the rules")),
                                               ("0", _("Negative: return to the owner"))])
    conclusion = forms.CharField(label=_("Summary"), widget=forms.Textarea, required=False)


class ReportForm(forms.Form):
    verifier = forms.ModelChoiceField(Organisation.objects.filter(kind=Organisation.Kind.VVB, is_active=True),
                                      label=_("Verifying VVB"))
    period_start = forms.DateField(label=_("Period start"), widget=forms.DateInput(attrs={"type": "date"}))
    period_end = forms.DateField(label=_("Period end"), widget=forms.DateInput(attrs={"type": "date"}))
    net_export_mwh = forms.DecimalField(label=_("Net export to the grid (MWh)"), max_digits=14, decimal_places=3,
                                        required=False)
    reported_reductions = forms.IntegerField(label=_("Reductions (tCO2e)"), min_value=0, required=False)


class VerifyForm(forms.Form):
    verified_net_export_mwh = forms.DecimalField(label=_("Verified net export (MWh)"), max_digits=14,
                                                 decimal_places=3, required=False)
    verified_reductions = forms.IntegerField(label=_("Verified reductions (tCO2e)"), min_value=0, required=False)


class RetireForm(forms.Form):
    instrument = forms.CharField(label=_("Instrument (e.g. CCER-P2024000001-2024)"), max_length=60)
    quantity = forms.IntegerField(label=_("Quantity (tCO2e)"), min_value=1)
    beneficiary = forms.CharField(label=_("Beneficiary"), max_length=200)
    purpose = forms.ChoiceField(label=_("Purpose"),
                                choices=[c for c in CreditUse.Purpose.choices if c[0] != "compliance"])
    purpose_detail = forms.CharField(label=_("Purpose in detail"), max_length=300, required=False)


class TransferForm(forms.Form):
    instrument = forms.CharField(label=_("Instrument"), max_length=60)
    to_account = forms.CharField(label=_("Recipient account number"), max_length=24)
    quantity = forms.IntegerField(label=_("Quantity (tCO2e)"), min_value=1)


class VerifyCodeForm(forms.Form):
    code = forms.CharField(label=_("Certificate code"), max_length=24)
