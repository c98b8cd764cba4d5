"""The signed-in home page: each role's work queue (figures from ``compliance.home``)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone

from entities.selectors import entities_visible_to

from .home import home_for


@login_required
def home(request):
    user = request.user
    context = {
        "entity": user.entity if user.acting_entity_id else None,
        "entity_count": entities_visible_to(user).count() if user.is_regulator else None,
        "today": timezone.localdate(),
        **home_for(user, timezone.localdate()),
    }
    return render(request, "home.html", context)
