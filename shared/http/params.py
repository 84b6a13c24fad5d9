"""Query parameters shared by list endpoints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.errors import Invalid


def parse_limit(args: Mapping[str, str], *, default: int = 100, maximum: int = 500,
                zero_means_all: bool = False) -> int | None:
    """The `limit` parameter: default when absent, clamped to maximum, None for "no paging".

    Orka: a non-integer → 400 "invalid limit parameter: …"; below 1 → 400 "limit must be at least 1",
    except that tasks accept `limit=0` to mean no paging.
    """
    raw = args.get("limit")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"invalid limit parameter: {raw}") from None
    if value == 0 and zero_means_all:
        return None
    if value < 1:
        raise Invalid("limit must be at least 1")
    return min(value, maximum)


def string_map(value: Any) -> dict[str, str]:
    """Labels or annotations from a request body: a string→string map, else 400 "invalid request body"."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise Invalid("invalid request body")
    return dict(value)
