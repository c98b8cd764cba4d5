"""Portal pages: an entity's own profile and units; regulators' list of their jurisdiction; a regulator's
authenticator enrolment."""

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from cets.common.errors import DomainError, NotFound
from cets.common.export import export_response

from . import selectors, services
from .forms import TotpConfirmForm


@login_required
def entity_mine(request):
    if not request.user.acting_entity_id:
        raise Http404
    return redirect("entities:detail", pk=request.user.acting_entity_id)


@login_required
def entity_detail(request, pk: int):
    try:
        entity = selectors.entity_get(user=request.user, pk=pk)
    except NotFound:
        raise Http404
    context = {"entity": entity, "units": selectors.entity_summary(entity),
               "audit": selectors.entity_audit_trail(user=request.user, entity=entity)}
    return render(request, "entities/detail.html", context)


@login_required
def entity_list(request):
    if not request.user.is_regulator:
        raise Http404
    qs = selectors.entities_visible_to(request.user).order_by("province_id", "credit_code")
    query = request.GET.get("q", "").strip()
    if query:
        qs = qs.filter(name__icontains=query) | qs.filter(credit_code__icontains=query)
    fmt = request.GET.get("export")
    if fmt in ("csv", "xlsx"):
        rows = ((e.credit_code, e.name, e.province.name, e.city.name, e.get_sector_display(), e.inclusion_year,
                 e.get_status_display()) for e in qs)
        return export_response("entities", ["credit_code", "name", "province", "city", "sector",
                                            "inclusion_year", "status"], rows, fmt)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "entities/list.html", {"page": page, "q": query})


@never_cache  # the page shows the TOTP secret
@login_required
def two_factor(request):
    """A regulator without an authenticator gets a secret (QR code and otpauth URI), scans it and confirms it
    with a current code; the session is then verified by it, so /admin/ opens at once."""
    user = request.user
    if not user.is_regulator:
        raise Http404
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return render(request, "two_factor.html", {"enrolled": True})
    form = TotpConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.totp_enrolment_confirm(actor=user, token=form.cleaned_data["token"])
        except DomainError as exc:
            form.add_error("token", str(exc.message))
        else:
            otp_login(request, device)
            messages.success(request, _("Your authenticator is confirmed: sign in to the administration with it."))
            return redirect("admin:index")
    device = services.totp_enrolment_start(actor=user)
    # segno draws the QR code as SVG paths (no script, no style attribute): allowed by the strict CSP.
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#000", light="#fff")
    return render(request, "two_factor.html", {"enrolled": False, "form": form, "qr_svg": mark_safe(qr_svg),
                                               "otpauth_uri": device.config_url})
