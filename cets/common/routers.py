"""The one router every app's API registers its viewsets with."""

from rest_framework.routers import SimpleRouter


class ApiRouter(SimpleRouter):
    """DRF's router with two hardening choices.

    - A viewset looked up by ``pk`` or ``id`` matches up to 18 digits only (every 64-bit key), so
      ``/orders/abc/`` is a 404 from the resolver instead of reaching ``int("abc")`` in a service (a
      500) or validating a body first (a 400). A viewset looked up by a code
      (``lookup_field = "code"``) keeps DRF's ``[^/.]+``; a viewset may set its own ``lookup_value_regex``.
    - No format-suffix routes (``/orders.json/``): the API speaks JSON only, and those routes passed a
      ``format`` argument that actions and ``create`` overrides do not take (a 500 on every write).
    """

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        if getattr(viewset, "lookup_value_regex", None) is None and viewset.lookup_field in ("pk", "id"):
            kwarg = getattr(viewset, "lookup_url_kwarg", None) or viewset.lookup_field
            return f"(?P<{lookup_prefix}{kwarg}>[0-9]{{1,18}})"
        return super().get_lookup_regex(viewset, lookup_prefix)
