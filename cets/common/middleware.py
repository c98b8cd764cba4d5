"""Request hardening shared by the portal and the API."""

from django.http import HttpResponseBadRequest, JsonResponse

from .parsers import NUL, NUL_CODE, NUL_MESSAGE


class NulQueryStringMiddleware:
    """A query parameter holding a NUL character is refused with a 400 naming it.

    Filters and searches pass query parameters to the database, and PostgreSQL refuses NUL in a
    text literal (a 500). JSON bodies are checked by ``cets.common.parsers.JSONParser``; portal forms
    by Django's own ``ProhibitNullCharactersValidator``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for key, values in request.GET.lists():
            if NUL in key or any(NUL in value for value in values):
                field = key.replace(NUL, "\\0")
                if request.path.startswith("/api/"):
                    return JsonResponse({"error": {"code": NUL_CODE, "message": str(NUL_MESSAGE), "field": field}},
                                        status=400)
                return HttpResponseBadRequest(f"{field}: {NUL_MESSAGE}", content_type="text/plain; charset=utf-8")
        return self.get_response(request)
