"""Request JSON within the input limits: the one parser for every route and dialect.

`parse_json` is `json.loads` plus the limits of docs/reliability.md ("Input limits"): nesting depth,
items per array or object, characters per string. Not-JSON stays json's own ValueError (each route
words that 400 its own way); a limit breached is `InputLimit`, a 400 naming the limit, in the
route's dialect. Deep nesting never reaches a RecursionError (a 500) anywhere downstream.
"""

from __future__ import annotations

import json
from typing import Any

from shared.config import get_settings
from shared.errors import Invalid


class InputLimit(Invalid):
    """A request beyond one of the input limits."""


def _limits() -> tuple[int, int, int]:
    settings = get_settings()
    return settings.max_json_depth, settings.max_json_items, settings.max_json_string_chars


def parse_json(raw: bytes | str) -> Any:
    """The JSON value of `raw`; ValueError when it is not JSON, InputLimit when it is beyond a limit."""
    depth, items, chars = _limits()
    try:
        value = json.loads(raw)
    except RecursionError:  # json's C scanner stops near the interpreter's limit: far beyond ours
        raise InputLimit(f"JSON nesting deeper than {depth} levels") from None
    if not _could_exceed(raw, depth, items, chars):
        return value
    check_value(value, depth=depth, items=items, chars=chars)
    return value


def _could_exceed(raw: bytes | str, depth: int, items: int, chars: int) -> bool:
    """False when `raw` is too short to breach any limit (most bodies): the walk is skipped."""
    square, curly = (b"[", b"{") if isinstance(raw, bytes) else ("[", "{")
    openers = raw.count(square) + raw.count(curly)
    # n items need 2n-1 bytes; a string of n characters at least n bytes; a depth of n, n openers.
    return openers > depth or len(raw) >= 2 * items or len(raw) > chars


def check_value(value: Any, *, depth: int, items: int, chars: int) -> None:
    """InputLimit when `value` nests deeper than `depth`, holds a container of more than `items`
    entries or a string (value or key) of more than `chars` characters. Iterative: no recursion."""
    if isinstance(value, str):
        _check_string(value, chars)
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if level > depth:
            raise InputLimit(f"JSON nesting deeper than {depth} levels")
        if len(node) > items:
            what = f"object with more than {items} members" if isinstance(node, dict) else \
                f"array longer than {items} items"
            raise InputLimit(f"JSON {what}")
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict):
            for key in node:
                _check_string(key, chars)
        for child in children:
            if isinstance(child, str):
                _check_string(child, chars)
            elif isinstance(child, dict | list):
                stack.append((child, level + 1))


def _check_string(value: str, chars: int) -> None:
    if len(value) > chars:
        raise InputLimit(f"JSON string longer than {chars} characters")
