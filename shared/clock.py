"""Timestamps in the RFC 3339 form the APIs use."""

from __future__ import annotations

from datetime import UTC, datetime


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_after(seconds: float) -> str:
    """The RFC 3339 time `seconds` from now (rounded up to the next whole second)."""
    from datetime import timedelta

    return (datetime.now(UTC) + timedelta(seconds=seconds + 0.999)).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime:
    """A timestamp written by this module (or any RFC 3339 UTC time) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
