"""Portal and public pages of the carry-over (结转): the entity's quota and applications, public batch totals."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cets.common.errors import DomainError, NotFound
from entities.models import KeyEntity

from . import carryover_selectors as selectors
from . import carryover_services as services


class ApplicationForm(forms.Form):
    quantity = forms.IntegerField(label=gettext_lazy("Tonnes to carry over"), min_value=1)


def _scheme_or_404(code):
    try:
        return selectors.scheme_get(code)
    except NotFound:
        raise Http404


@login_required
def carry_over(request, code: str):
    """The entity's notice (net sales, holdings, quota), its applications, and the application form; a regulator
    sees its jurisdiction's applications (decisions are taken in the admin, four-eyes)."""
    scheme = _scheme_or_404(code)
    user = request.user
    if not user.acting_entity_id and not user.is_regulator:
        raise PermissionDenied
    form = ApplicationForm(request.POST or None)
    if request.method == "POST":
        if not user.acting_entity_id:
            raise PermissionDenied
        if form.is_valid():
            try:
                application = services.application_submit(
                    actor=user, entity=KeyEntity.objects.get(pk=user.acting_entity_id), scheme=scheme,
                    quantity=form.cleaned_data["quantity"])
            except DomainError as exc:
                form.add_error("quantity" if exc.field == "quantity" else None, str(exc.message))
            else:
                messages.success(request, _("Application for %(q)s t received in batch %(n)s.") % {
                    "q": f"{application.quantity_tco2:,}", "n": application.batch.number})
                return redirect("compliance:carry-over", code=scheme.code)
    return render(request, "compliance/carry_over.html", {
        "scheme": scheme, "form": form if user.acting_entity_id else None,
        "notices": selectors.notices_visible_to(user).filter(scheme=scheme).order_by("entity__name")[:200],
        "applications": selectors.applications_visible_to(user).filter(scheme=scheme)[:200]})


def carry_over_public(request, code: str):
    """Public: the scheme's rule and, per batch, the applications received, approved (tonnes) and rejected."""
    scheme = _scheme_or_404(code)
    return render(request, "compliance/carry_over_public.html", {"scheme": scheme,
                                                                 "batches": selectors.batch_totals(scheme)})
