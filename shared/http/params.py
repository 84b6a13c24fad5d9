"""Request parameters every route shares: path arguments, `limit`, page tokens, stream positions."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from shared.config import get_settings
from shared.errors import Invalid

# ASCII digits only (str.isdigit admits "²", which int() refuses), at most 18: within int64 and
# DynamoDB's 38-digit numbers, far beyond any stream's length.
_SEQUENCE = re.compile(r"[0-9]{1,18}")


def check_path_args(args: Mapping[str, Any]) -> None:
    """400 naming the argument when a path argument holds a control character (NUL included) or is
    longer than SHOAL_MAX_PATH_PARAM_BYTES; run by the Api for every route before its handler.

    Path arguments become store keys, bucket keys and Kubernetes names: control characters are
    never valid there, and a long one exceeds DynamoDB's key limits (1024 bytes per sort key).
    """
    if not args:
        return  # no settings read: /healthz stays as cheap as a cold start allows
    limit = get_settings().max_path_param_bytes
    for name, value in args.items():
        if not isinstance(value, str):
            continue
        if any(unicodedata.category(ch) == "Cc" for ch in value):
            raise Invalid(f"path parameter {name} contains a control character")
        if len(value.encode("utf-8", "surrogatepass")) > limit:
            raise Invalid(f"path parameter {name} is longer than {limit} bytes")


class PageToken(str):
    """A page cursor from the request that remembers the query parameter carrying it, so a forged
    or truncated one is refused naming that parameter (shared.store.cursor)."""

    param: str

    def __new__(cls, value: str, param: str) -> PageToken:
        token = super().__new__(cls, value)
        token.param = param
        return token


def page_token(args: Mapping[str, str], *names: str) -> PageToken | None:
    """The first non-empty of the query parameters `names` (default `continue`), or None."""
    for name in names or ("continue",):
        value = args.get(name)
        if value:
            return PageToken(value, name)
    return None


def is_sequence(raw: str | None) -> bool:
    """True for a stream position: ASCII digits, at most 18 of them."""
    return isinstance(raw, str) and _SEQUENCE.fullmatch(raw) is not None


def parse_sequence(raw: str, message: str) -> int:
    """A stream position (`after`, `Last-Event-ID`, a numeric cursor); Invalid(message) otherwise."""
    if not is_sequence(raw):
        raise Invalid(message)
    return int(raw)


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


def limit_param(*, default: int, maximum: int, zero_means_all: bool = False) -> Any:
    """A query model's `limit` field: parse_limit's rules and messages, documented (shared.http.models).
    `zero_means_all`: `limit=0` is None, "no paging" (the tasks lists)."""
    from typing import Annotated

    from pydantic import BeforeValidator, Field

    least = 0 if zero_means_all else 1
    note = "; 0 means no paging" if zero_means_all else ""
    return Annotated[int | None if zero_means_all else int,
                     BeforeValidator(lambda raw: parse_limit({"limit": raw}, default=default, maximum=maximum,
                                                             zero_means_all=zero_means_all)),
                     Field(default, json_schema_extra={"minimum": least},
                           description=f"Page size, at least {least} (default {default}; values above {maximum} "
                                       f"are clamped to it{note})")]
