"""Opaque `continue` cursors: base64url of the JSON LastEvaluatedKey."""

from __future__ import annotations

import base64
import binascii
import json

from shared.errors import Invalid

# Longer than any key we issue (a 2048-byte partition key plus a 1024-byte sort key and an order
# value, as JSON, in base64): anything longer was not issued by us.
MAX_TOKEN_CHARS = 8192
_KEY_LIMITS = {"pk": 2048, "sk": 1024, "order": 1024}  # DynamoDB's key-attribute limits (UTF-8 bytes)


def encode_cursor(last_key: dict | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str | None, *, expect_pk: str | None = None,
                  attributes: tuple[str, ...] = ("pk", "sk")) -> dict | None:
    """The LastEvaluatedKey inside a cursor; 400 for anything we did not issue for this list.

    A cursor must decode to exactly the key `attributes` of the list, each a non-empty string
    within DynamoDB's key limits: a forged or truncated one is refused here, never sent to the
    store (where it would fail as a 500). The 400 names the query parameter that carried it
    (a `shared.http.params.PageToken` knows; `continue` otherwise).
    """
    if not token:
        return None
    try:
        if len(token) > MAX_TOKEN_CHARS:
            raise ValueError("too long")
        padded = token + "=" * (-len(token) % 4)
        key = json.loads(base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True))
        if not isinstance(key, dict) or sorted(key) != sorted(attributes):
            raise ValueError("not a key of this list")
        for name, value in key.items():
            if not (isinstance(value, dict) and list(value) == ["S"] and isinstance(value["S"], str)
                    and 0 < len(value["S"].encode()) <= _KEY_LIMITS.get(name, 1024)):
                raise ValueError(f"bad key attribute {name}")
        if expect_pk is not None and key["pk"] != {"S": expect_pk}:
            raise ValueError("cursor of another list")
    except (ValueError, TypeError, UnicodeError, binascii.Error, RecursionError):
        raise Invalid(f"invalid {getattr(token, 'param', 'continue')} token") from None
    return key
