"""Request fields of one JSON type, each failing with one message that says what was expected
(`maxTokens: expected an integer`) rather than one per member of a pydantic union; null is allowed
(the field is optional). JSON has one number type: 16.0 is the integer 16, as JSON Schema reads it,
and a boolean is never a number. Used by the models of the flat request bodies (compat, chat).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema


def _json(check: Callable[[Any], bool], expected: str, schema: dict[str, Any]) -> Any:
    """A field of one JSON type (null allowed): one message naming what was expected, rather than
    one per member of a union."""
    def run(value: Any) -> Any:
        if value is None or check(value):
            return int(value) if schema.get("type") == ["integer", "null"] and isinstance(value, float) else value
        raise ValueError(f"expected {expected}")

    return Annotated[Any, BeforeValidator(run), WithJsonSchema(schema)]


def _is_int(value: Any) -> bool:  # JSON has one number type: 16.0 is the integer 16
    return not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, float) and value.is_integer()))


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


_OBJECT = {"type": "object", "additionalProperties": True}
_OBJECTS = {"type": "array", "items": _OBJECT}
Integer = _json(_is_int, "an integer", {"type": ["integer", "null"]})
Number = _json(_is_number, "a number", {"type": ["number", "null"]})
String = _json(lambda v: isinstance(v, str), "a string", {"type": ["string", "null"]})
Boolean = _json(lambda v: isinstance(v, bool), "a boolean", {"type": ["boolean", "null"]})
Strings = _json(_is_strings, "an array of strings", {"type": ["array", "null"], "items": {"type": "string"}})
Objects = _json(_is_objects, "an array of objects", {"type": ["array", "null"], "items": _OBJECT})
Object = _json(lambda v: isinstance(v, dict), "an object", {"type": ["object", "null"], "additionalProperties": True})
StringOrStrings = _json(lambda v: isinstance(v, str) or _is_strings(v), "a string or an array of strings",
                        {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}},
                                   {"type": "null"}]})
StringOrObject = _json(lambda v: isinstance(v, str | dict), "a string or an object",
                       {"anyOf": [{"type": "string"}, _OBJECT, {"type": "null"}]})
StringOrObjects = _json(lambda v: isinstance(v, str) or _is_objects(v), "a string or an array of objects",
                        {"anyOf": [{"type": "string"}, _OBJECTS, {"type": "null"}]})
