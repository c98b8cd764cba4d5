"""Base API views: read scoped through a selector, write through a service, one error shape."""

from rest_framework import mixins, viewsets


class ScopedReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and retrieve only what ``scoped_queryset(user)`` returns; everything else is a 404."""

    def scoped_queryset(self, user):  # pragma: no cover - each subclass says what its users see
        raise NotImplementedError

    def get_queryset(self):
        return self.scoped_queryset(self.request.user)
