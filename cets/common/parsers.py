"""Request parsers shared by the API."""

from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import exceptions, parsers

NUL = "\x00"
NUL_MESSAGE = ProhibitNullCharactersValidator.message
NUL_CODE = ProhibitNullCharactersValidator.code


def nul_path(value, path: str = "") -> str | None:
    """The path (``items[0].name``) of the first string or key in ``value`` that holds a NUL, or None."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                return name.replace(NUL, "\\0")
            found = nul_path(item, name)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser that refuses a NUL character anywhere in the body with a 400 naming the field.

    PostgreSQL cannot store NUL in text or jsonb (the insert fails: a 500 after validation). DRF's
    CharField already refuses it, but a DictField, JSONField or a body a view reads itself did not;
    refusing it at the parser covers every endpoint, whatever its serializer.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        path = nul_path(data)
        if path is not None:
            raise exceptions.ValidationError({path or "body": [exceptions.ErrorDetail(NUL_MESSAGE, NUL_CODE)]})
        return data
