"""Portal pages: an entity's own profile and units; regulators' list of their jurisdiction."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render

from cets.common.errors import NotFound
from cets.common.export import export_response

from . import selectors


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
