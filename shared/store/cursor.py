"""Opaque `continue` cursors: base64url of the JSON LastEvaluatedKey."""

from __future__ import annotations

import base64
import json

from shared.errors import Invalid


def encode_cursor(last_key: dict | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None, *, expect_pk: str | None = None) -> dict | None:
    """The LastEvaluatedKey inside a cursor; 400 for anything we did not issue for this list."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(key, dict) or "pk" not in key or "sk" not in key:
            raise ValueError("not a key")
        if expect_pk is not None and key["pk"] != {"S": expect_pk}:
            raise ValueError("cursor of another list")
    except (ValueError, TypeError, UnicodeDecodeError):
        raise Invalid("invalid continue token") from None
    return key
