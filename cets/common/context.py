"""Template context every page shares."""

from django.utils.functional import SimpleLazyObject

from .notifications import unread_count


def notifications(request) -> dict:
    """The navbar's unread count, counted only when a page shows it (one query, signed-in users only)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: unread_count(user))}
