"""Tool spec helpers without the store: endpoints never carry secrets."""

from __future__ import annotations

import pytest

from shared.catalog.tool_spec import safe_endpoint


@pytest.mark.parametrize("url,expected", [
    ("https://api.example.com/search?api_key=abc#frag", "https://api.example.com/search"),
    ("http://user:pw@10.0.0.5:8080/mcp", "http://10.0.0.5:8080/mcp"),
    ("http://[fd00::1]:9000/x?token=t", "http://[fd00::1]:9000/x"),
    ("https://Example.COM", "https://example.com"),
])
def test_safe_endpoint_drops_userinfo_query_and_fragment(url, expected):
    assert safe_endpoint(url) == expected
