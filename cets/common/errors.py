"""Domain errors: one class tree, one JSON shape ``{"error": {"code", "message", "field"}}``.

Services raise these when a business rule is broken; the API exception handler and the portal
render the same message, so a user sees the rule and the field whichever door they came in by.
"""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A broken business rule. ``field`` names the input at fault, when there is one."""

    status_code = 400
    default_code = "invalid"

    def __init__(self, message, code: str | None = None, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.code = code or self.default_code
        self.field = field

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": str(self.message), "field": self.field}}


class NotFound(DomainError):
    """The object does not exist or the user may not see it (we never say which)."""

    status_code = 404
    default_code = "not_found"


class Forbidden(DomainError):
    """The user may see the object but not do this to it (wrong role, tier or organisation)."""

    status_code = 403
    default_code = "forbidden"


class Conflict(DomainError):
    """The request clashes with the current state (already done, wrong status, duplicate)."""

    status_code = 409
    default_code = "conflict"


class Busy(Conflict):
    """A row lock could not be taken in time: nothing was changed, the client should retry."""

    default_code = "busy"

    def __init__(self, message=None, code: str | None = None, field: str | None = None):
        super().__init__(message or _("The system is busy with this record; nothing was changed, please retry."),
                         code, field)
