"""Secret-leak scan: every response body (and log line) of a test is checked for planted values.

Use the `leak_scan` fixture (import it into the test module), wrap each test client with
`leak_scan.watch(client)`, plant values with `leak_scan.plant(value)`; after the test, no recorded
body nor captured log record may contain a planted value, raw or base64-encoded.
"""

from __future__ import annotations

import base64

import pytest

# Values the catalog and memory suites plant in Kubernetes Secrets, tool specs and memories.
PLANTED_SECRETS = (
    "plant-tavily-api-key-9f3c1d7e",
    "plant-mcp-transport-token-4b2a8e6f",
    "plant-db-password-77aa01",
    "ghp_PlantedGithubTokenValue0123456789abcdefAB",
)


class LeakScanner:
    def __init__(self) -> None:
        self.values: set[str] = set(PLANTED_SECRETS)
        self.bodies: list[str] = []

    def plant(self, value: str) -> str:
        self.values.add(value)
        return value

    def watch(self, client):
        original = client.open

        def open_and_record(*args, **kwargs):
            response = original(*args, **kwargs)
            self.bodies.append(response.get_data(as_text=True) + "\n" + str(dict(response.headers)))
            return response

        client.open = open_and_record
        return client

    def record(self, text: str) -> None:
        self.bodies.append(text)

    def forbidden(self) -> set[str]:
        out = set()
        for value in self.values:
            out.add(value)
            out.add(base64.b64encode(value.encode()).decode().rstrip("="))
        return out

    def assert_clean(self, extra: list[str] = ()) -> None:
        forbidden = self.forbidden()
        for text in [*self.bodies, *extra]:
            for value in forbidden:
                assert value not in text, f"planted secret {value!r} leaked in: {text[:300]!r}"


@pytest.fixture
def leak_scan(caplog):
    scanner = LeakScanner()
    caplog.set_level("DEBUG")
    yield scanner
    scanner.assert_clean([f"{r.getMessage()} {getattr(r, 'fields', '')} {r.exc_text or ''}" for r in caplog.records])
