"""Small helpers shared by memories, proposals and sessions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.errors import Invalid

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def now_precise() -> str:
    """RFC 3339 with microseconds: newest-first ordering needs more than whole seconds."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def bool_param(args: Mapping[str, str], name: str) -> bool:
    """Go's strconv.ParseBool for a query parameter; absent or empty is false."""
    raw = args.get(name)
    if raw is None or raw == "":
        return False
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise Invalid(f"invalid {name} parameter: {raw}")


def csv_param(args: Mapping[str, str], name: str) -> list[str]:
    return [p.strip() for p in (args.get(name) or "").split(",") if p.strip()]


def normalize_tags(value: Any) -> list[str]:
    """Lower-cased, trimmed, de-duplicated (first occurrence wins); a comma string is accepted."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise Invalid("tags must be a list of strings")
    seen: list[str] = []
    for tag in value:
        tag = tag.strip().lower()
        if tag and tag not in seen:
            seen.append(tag)
    return seen


def optional_string(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{key} must be a string")
    return value


def reject_server_fields(body: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    for key in fields:
        if key in body:
            raise Invalid(f"{key} cannot be set by clients")

