"""`x-api-key` carries the token when there is no Authorization header (Orka; older Anthropic SDKs)."""

from __future__ import annotations

import pytest

from shared.auth.resolver import BAD_FORMAT, MISSING, bearer_token
from shared.errors import Unauthorized


def test_bearer_token_comes_from_authorization():
    assert bearer_token({"Authorization": "Bearer abc"}) == "abc"


def test_x_api_key_is_used_only_without_authorization():
    assert bearer_token({"x-api-key": " key-1 "}) == "key-1"
    assert bearer_token({"Authorization": "Bearer abc", "x-api-key": "key-1"}) == "abc"
    with pytest.raises(Unauthorized) as exc:  # a malformed Authorization is not rescued by x-api-key
        bearer_token({"Authorization": "Basic xyz", "x-api-key": "key-1"})
    assert exc.value.message == BAD_FORMAT


def test_neither_header_is_missing():
    for headers in ({}, {"x-api-key": "  "}, {"Authorization": ""}):
        with pytest.raises(Unauthorized) as exc:
            bearer_token(headers)
        assert exc.value.message == MISSING
