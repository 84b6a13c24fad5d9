"""Go's time.ParseDuration, so `timeout` accepts exactly what Orka accepts."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration string ("90s", "1h30m", "-1.5h"); ValueError with Go's message."""
    original = text
    if text in ("0", "+0", "-0"):
        return 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if not text:
        raise ValueError(f'time: invalid duration "{original}"')
    total, pos = 0.0, 0
    while pos < len(text):
        match = _PART.match(text, pos)
        if not match:
            if re.match(r"(\d+\.?\d*|\.\d+)$", text[pos:]):
                raise ValueError(f'time: missing unit in duration "{original}"')
            raise ValueError(f'time: invalid duration "{original}"')
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return sign * total
