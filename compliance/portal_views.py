"""The public information portal: the site's front page and its search (no log-in; log-in is a button)."""

from django.shortcuts import render

from . import portal


def home(request):
    """/: today's market with its chart, the disclosures, the policy library and the search box."""
    return render(request, "portal/home.html", portal.portal_context())


def search(request):
    return render(request, "portal/search.html", portal.search(request.GET.get("q", "")))
