"""Kubernetes ResourceRequirements (`{"requests": {...}, "limits": {...}}`) checked before they reach a Job.

The API server would refuse a bad quantity, or a request above its limit, only when the executor
creates the Job, failing the task long after the caller left. Checking at the edge turns that into a
400 naming the field. Quantities follow `resource.Quantity` (`500m`, `1Gi`, `2`, `1e3`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")
_SUFFIX = {"": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "k": 10**3, "M": 10**6,
           "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
           "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_NAME = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
SECTIONS = ("requests", "limits")


class BadResources(ValueError):
    """`field` (relative to the requirements object, e.g. `requests.cpu`) and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field, self.reason = field, reason


def parse_quantity(value: Any) -> Decimal:
    """A quantity's value (`"500m"` → 0.5); ValueError for anything Kubernetes would refuse."""
    wrong = ValueError("must be a quantity such as 500m or 1Gi")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise wrong
    if isinstance(value, str):
        match = _QUANTITY.match(value)
        if match is None:
            raise wrong
        mantissa, suffix = match.group(1), match.group(2) or ""
        try:
            scale = Decimal(10) ** int(suffix[1:]) if suffix[:1] in ("e", "E") else Decimal(_SUFFIX[suffix])
            number = Decimal(mantissa) * scale
        except ArithmeticError:
            raise wrong from None
    else:
        number = Decimal(str(value))
    if not number.is_finite():
        raise wrong
    if number < 0:
        raise ValueError("must not be negative")
    return number


def check_resources(value: Any) -> dict[str, dict[str, str]]:
    """The requirements with every quantity as a string; BadResources names what is wrong."""
    if not isinstance(value, dict):
        raise BadResources("", "must be an object")
    for key in value:
        if key not in SECTIONS:
            raise BadResources(key, "is not allowed (use requests and limits)")
    parsed: dict[str, dict[str, Decimal]] = {}
    out: dict[str, dict[str, str]] = {}
    for section in SECTIONS:
        if value.get(section) is None:
            continue
        if not isinstance(value[section], dict):
            raise BadResources(section, "must be an object")
        parsed[section], out[section] = {}, {}
        for name, quantity in value[section].items():
            if not _NAME.match(name):
                raise BadResources(f"{section}.{name}", "invalid resource name")
            try:
                parsed[section][name] = parse_quantity(quantity)
            except ValueError as exc:
                raise BadResources(f"{section}.{name}", str(exc)) from None
            out[section][name] = str(quantity)
    for name, request in parsed.get("requests", {}).items():
        limit = parsed.get("limits", {}).get(name)
        if limit is not None and request > limit:
            raise BadResources(f"requests.{name}", f"must be less than or equal to limits.{name}")
    return out
