"""``{% load names %}`` then ``{{ entity|localized }}`` or ``{{ sector|localized:"output_name" }}``."""

from django import template

from cets.common import names

register = template.Library()


@register.filter
def localized(obj, field: str = "name") -> str:
    return names.localized(obj, field) if obj is not None else ""
