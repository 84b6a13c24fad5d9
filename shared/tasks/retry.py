"""Retries per `spec.retryPolicy`: how long to wait before attempt N+1, or None when none is left.

retryPolicy: {maxRetries (0–10, default 0), backoff (Go duration, default 10s),
backoffMultiplier (default 2), maxBackoff (default 10m)}: exponential backoff, capped.
"""

from __future__ import annotations

from typing import Any

from shared.duration import parse_go_duration

DEFAULT_BACKOFF = 10.0
DEFAULT_MAX_BACKOFF = 600.0


def retry_delay(spec: dict[str, Any], attempts: int) -> float | None:
    """Seconds to wait before the next attempt after `attempts` failed ones; None when exhausted."""
    policy = spec.get("retryPolicy") or {}
    retries = int(policy.get("maxRetries", 0))
    if attempts < 1 or attempts > retries:
        return None
    base = parse_go_duration(policy["backoff"]) if policy.get("backoff") else DEFAULT_BACKOFF
    cap = parse_go_duration(policy["maxBackoff"]) if policy.get("maxBackoff") else DEFAULT_MAX_BACKOFF
    multiplier = float(policy.get("backoffMultiplier", 2))
    return min(cap, base * multiplier ** (attempts - 1))
