"""Official names are Chinese; many records also carry an English one (``name_en``, ``output_name_en``...)."""

from django.utils.translation import get_language


def reading_english() -> bool:
    return (get_language() or "").startswith("en")


def localized(obj, field: str = "name") -> str:
    """The English name where the reader reads English and one is recorded, else the official (Chinese) one."""
    return (reading_english() and getattr(obj, f"{field}_en", "")) or getattr(obj, field)
