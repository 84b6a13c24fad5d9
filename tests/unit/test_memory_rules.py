"""Memory rules without HTTP: redaction patterns, tag parsing, concurrent apply, the leak scanner itself."""

from __future__ import annotations

import threading

import pytest

from shared.memory.proposals import tags_from_description
from shared.memory.redact import redact
from tests.support.leak_scan import LeakScanner


@pytest.mark.parametrize("text,expected", [
    ("key sk-ant-api03-abcdefghijklmnopqrstuv end", "key [REDACTED] end"),
    ("openai sk-proj-abcdefghijklmnopqrstuvwx", "openai [REDACTED]"),
    ("aws AKIAABCDEFGHIJKLMNOP here", "aws [REDACTED] here"),
    ("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "gh [REDACTED]"),
    ("slack xoxb-1234567890-abcdef", "slack [REDACTED]"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpM", "jwt [REDACTED]"),
    ("Authorization: Bearer abc.def-ghi_jkl", "Authorization: Bearer [REDACTED]"),
    ('password="hunter2!" and api_key=XYZ123456', 'password="[REDACTED]" and api_key=[REDACTED]'),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", "[REDACTED]"),
    ("the token bucket is full", "the token bucket is full"),
    ("plain facts stay as they are", "plain facts stay as they are"),
])
def test_redaction(text, expected):
    assert redact(text) == expected


def test_tags_come_from_the_first_tags_line_only():
    assert tags_from_description("Intro\n  tags: A, #b, a ,\nTags: c") == ["a", "b"]
    assert tags_from_description("no tags here") == []


def test_leak_scanner_catches_raw_and_base64_values():
    scanner = LeakScanner()
    scanner.record("all clean")
    scanner.assert_clean()
    secret = scanner.plant("plant-unit-test-value")
    with pytest.raises(AssertionError):
        scanner.assert_clean([f"oops {secret}"])
    with pytest.raises(AssertionError):
        scanner.assert_clean(["b64 cGxhbnQtdW5pdC10ZXN0LXZhbHVl"])


@pytest.mark.usefixtures("aws", "event_sink")
def test_concurrent_applies_create_exactly_one_memory():
    from shared.memory import memories, proposals

    p = proposals.create_proposal("default", {"type": "memory", "title": "t", "content": "one fact"})
    proposals.review("default", p["id"], {"status": "accepted"})
    results, errors = [], []

    def apply():
        try:
            results.append(proposals.apply("default", p["id"], {})["id"])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=apply) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1
    docs, _ = memories.list_memories("default", memories.MemoryFilter())
    assert [d["id"] for d in docs] == results[:1]
    assert proposals.get_proposal("default", p["id"])["appliedMemoryId"] == results[0]
