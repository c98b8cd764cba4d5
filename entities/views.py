"""Portal pages: an entity's own profile and units; regulators' list of their jurisdiction; the log-in and the
authenticator enrolment of users with approval powers."""

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from cets.common.errors import DomainError, NotFound
from cets.common.export import export_response
from cets.common.forms import PortalLoginForm
from cets.common.stepup import step_up_record

from . import api_tokens, selectors
from . import two_factor as two_factor_services
from .authentication import is_otp_verified
from .forms import ApiTokenForm, EnrolmentCodeForm, TotpConfirmForm
from .models import EnrolmentCode


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
               "listings": selectors.sector_listings_visible_to(request.user).filter(entity=entity),
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
        rows = ((e.credit_code, e.name, e.province.name, e.city.name, str(e.sector), e.inclusion_year,
                 e.get_status_display()) for e in qs)
        return export_response("entities", ["credit_code", "name", "province", "city", "sector",
                                            "inclusion_year", "status"], rows, fmt)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "entities/list.html", {"page": page, "q": query})


class PortalLoginView(LoginView):
    """Password (and the authenticator code of users with approval powers); a session verified by the code also
    counts as a fresh step-up for the next 5 minutes."""

    template_name = "registration/login.html"
    authentication_form = PortalLoginForm

    def form_valid(self, form):
        response = super().form_valid(form)
        user = self.request.user
        if getattr(user, "otp_device", None) is not None:  # set by django-otp's login for a verified code
            step_up_record(self.request)
        elif user.must_use_two_factor:
            return redirect("two-factor")
        return response


ENROLMENT_SESSION_KEY = "cets_enrolment_code"


def _session_enrolment_code(request):
    pk = request.session.get(ENROLMENT_SESSION_KEY)
    return EnrolmentCode.objects.filter(pk=pk, user=request.user).first() if pk else None


@never_cache  # the page shows the TOTP secret
@login_required
def two_factor(request):
    """Enrol (or replace) an authenticator: from a session it verified, or with an administrator's enrolment
    code. The user scans the secret (QR code and otpauth URI) and confirms it with a current code; the session
    is then verified by it."""
    user = request.user
    if not user.must_use_two_factor:
        raise Http404
    verified = is_otp_verified(user)
    enrolled = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    grant = _session_enrolment_code(request)
    code_form = EnrolmentCodeForm(request.POST if "enrolment_code" in request.POST else None)
    if code_form.is_bound:
        if code_form.is_valid():
            try:
                grant = two_factor_services.enrolment_code_find(actor=user,
                                                                code=code_form.cleaned_data["enrolment_code"])
            except DomainError as exc:
                code_form.add_error("enrolment_code", str(exc.message))
            else:
                request.session[ENROLMENT_SESSION_KEY] = grant.pk
                return redirect("two-factor")
    replacing = request.GET.get("replace") == "1" or request.method == "POST"
    if (not verified and grant is None) or (verified and enrolled and not replacing):
        return render(request, "two_factor.html", {"enrolled": enrolled, "verified": verified,
                                                   "code_form": code_form, "step": "status"})
    form = TotpConfirmForm(request.POST if "token" in request.POST else None)
    if form.is_bound and form.is_valid():
        try:
            device = two_factor_services.totp_enrolment_confirm(actor=user, token=form.cleaned_data["token"],
                                                                otp_verified=verified, enrolment_code=grant)
        except DomainError as exc:
            form.add_error("token", str(exc.message))
        else:
            request.session.pop(ENROLMENT_SESSION_KEY, None)
            otp_login(request, device)
            step_up_record(request)
            messages.success(request, _("Your authenticator is confirmed: sign in with it from now on."))
            return redirect("admin:index" if user.is_staff else "home")
    device = two_factor_services.totp_enrolment_start(actor=user, otp_verified=verified, enrolment_code=grant)
    # segno draws the QR code as SVG paths (no script, no style attribute): allowed by the strict CSP.
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=5, dark="#000", light="#fff")
    return render(request, "two_factor.html", {"step": "scan", "form": form, "qr_svg": mark_safe(qr_svg),
                                               "otpauth_uri": device.config_url, "enrolled": enrolled})


def _token_holder(request):
    if not api_tokens.may_hold_api_tokens(request.user):
        raise Http404
    return request.user


NEW_TOKEN_SESSION_KEY = "cets_new_api_token"


@never_cache  # the page after a creation shows the secret
@login_required
def api_token_list(request):
    """An integrator's API tokens: create one (its secret shown once, on the page after the creation), list
    them with their scope, access, expiry and last use, and revoke them."""
    user = _token_holder(request)
    form = ApiTokenForm(request.POST or None)
    if form.is_bound and form.is_valid():
        try:
            created, secret = api_tokens.api_token_create(actor=user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            # Post/redirect/get: a reload never creates a second token. The secret waits in the session for the
            # one page that shows it, and is dropped from it there.
            request.session[NEW_TOKEN_SESSION_KEY] = {"pk": created.pk, "secret": secret}
            return redirect("api-tokens")
    fresh = request.session.pop(NEW_TOKEN_SESSION_KEY, None) if request.method == "GET" else None
    tokens = api_tokens.api_tokens_of(user=user)
    created = tokens.filter(pk=fresh["pk"]).first() if fresh else None
    return render(request, "entities/api_tokens.html", {
        "form": form, "created": created, "secret": fresh["secret"] if created else None,
        "scope": user.entity or user.organisation, "tokens": tokens, "now": timezone.now()})


@login_required
@require_http_methods(["GET", "POST"])
def api_token_revoke(request, pk: int):
    """Revoking says first what will stop (GET), then does it (POST) and says what it did."""
    user = _token_holder(request)
    token = api_tokens.api_tokens_of(user=user).filter(pk=pk).first()
    if token is None:
        raise Http404
    if request.method == "POST":
        try:
            token = api_tokens.api_token_revoke_named(actor=user, pk=pk)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Token “%(name)s” (%(prefix)s…) is revoked: every request "
                                        "with it is refused from now on.") % {"name": token.name,
                                                                                "prefix": token.prefix})
        return redirect("api-tokens")
    return render(request, "entities/api_token_revoke.html", {"token": token})
