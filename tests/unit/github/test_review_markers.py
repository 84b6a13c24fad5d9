"""PR review markers: scoped to repo, PR and exact head; signed; key rotation; legacy trusted author."""

from __future__ import annotations

import pytest

from shared.github.markers import has_marker, make_marker

REPO, SHA = "Example/App", "ab" * 20


@pytest.fixture
def keys(monkeypatch):
    from shared.config import reset_settings

    def set_keys(current: str | None, previous: str = "", trusted: str | None = None) -> None:
        for name, value in (("ORKA_PR_REVIEW_MARKER_SECRET", current),
                            ("ORKA_PR_REVIEW_MARKER_PREVIOUS_SECRETS", previous),
                            ("ORKA_PR_REVIEW_MARKER_TRUSTED_AUTHOR", trusted)):
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        reset_settings()

    return set_keys


def test_marker_matches_only_its_repo_pr_and_head(keys):
    keys("k1")
    body = "LGTM\n\n" + make_marker(REPO, 12, SHA)
    assert has_marker([(body, "bot")], "example/app", 12, SHA.upper())
    assert not has_marker([(body, "bot")], "example/other", 12, SHA)
    assert not has_marker([(body, "bot")], REPO, 13, SHA)
    assert not has_marker([(body, "bot")], REPO, 12, "cd" * 20)


def test_forged_or_tampered_signatures_fail(keys):
    keys("k1")
    marker = make_marker(REPO, 12, SHA)
    assert not has_marker([(marker[:-8] + "0000 -->", "bot")], REPO, 12, SHA)
    forged = marker.replace("pr=12", "pr=13")
    assert not has_marker([(forged, "bot")], REPO, 13, SHA)


def test_rotation_accepts_previous_keys(keys):
    keys("old")
    marker = make_marker(REPO, 1, SHA)
    keys("new", previous="old")
    assert has_marker([(marker, None)], REPO, 1, SHA)
    keys("new")
    assert not has_marker([(marker, None)], REPO, 1, SHA)


def test_legacy_markers_only_from_the_trusted_author(keys):
    legacy = f"<!-- orka-pr-review repo={REPO} pr=1 head_sha={SHA} -->"
    keys("k", trusted="orka-bot")
    assert has_marker([(legacy, "Orka-Bot")], REPO, 1, SHA)
    assert not has_marker([(legacy, "someone")], REPO, 1, SHA)
    keys("k")
    assert not has_marker([(legacy, "orka-bot")], REPO, 1, SHA)


def test_without_a_secret_markers_are_signed_with_the_empty_key_as_orka_does(keys):
    import hashlib
    import hmac

    keys(None)
    marker = make_marker(REPO, 1, SHA)  # no MarkerKeyMissing: the secret is optional
    sig = hmac.new(b"", f"example/app\n1\n{SHA}".encode(), hashlib.sha256).hexdigest()
    assert marker == f"<!-- orka:pr-review repo=example/app pr=1 head_sha={SHA} sig={sig} -->"
    # no key verifies it: only the trusted author's marker counts
    assert not has_marker([(marker, "shoal-bot")], REPO, 1, SHA)
    assert has_marker([(marker, "shoal-bot")], REPO, 1, SHA, trusted_author=lambda: "shoal-bot")
    assert not has_marker([(marker, "mallory")], REPO, 1, SHA, trusted_author=lambda: "shoal-bot")
    assert not has_marker([(marker, "shoal-bot")], REPO, 2, SHA, trusted_author=lambda: "shoal-bot")


def test_the_configured_trusted_author_wins_and_the_token_login_is_read_only_when_needed(keys):
    keys(None, trusted="orka-bot")
    calls = []

    def login():
        calls.append(1)
        return "shoal-bot"

    marker = make_marker(REPO, 1, SHA)
    assert has_marker([(marker, "orka-bot")], REPO, 1, SHA, trusted_author=login)
    assert not has_marker([(marker, "shoal-bot")], REPO, 1, SHA, trusted_author=login)
    assert calls == []
    keys("k")
    assert has_marker([(make_marker(REPO, 1, SHA), "anyone")], REPO, 1, SHA, trusted_author=login)
    assert calls == []  # a verified signature needs no author


def test_orka_written_markers_verify_with_the_same_key(keys):
    import hashlib
    import hmac

    keys("shared-key")
    sig = hmac.new(b"shared-key", f"example/app\n7\n{SHA}".encode(), hashlib.sha256).hexdigest()
    orka = f"Looks good\n<!-- orka:pr-review repo=example/app pr=7 head_sha={SHA} sig={sig} -->"
    assert has_marker([(orka, "someone")], REPO, 7, SHA)
    legacy_only_head = f"<!-- orka:pr-review head_sha={SHA} -->"
    assert has_marker([(legacy_only_head, "bot")], REPO, 7, SHA, trusted_author=lambda: "bot")
    assert not has_marker([(legacy_only_head, "bot")], REPO, 7, SHA)


def test_markers_of_earlier_shoal_versions_still_verify(keys):
    import hashlib
    import hmac

    keys("k1")
    sig = hmac.new(b"k1", f"example/app#3#{SHA}".encode(), hashlib.sha256).hexdigest()
    assert has_marker([(f"<!-- orka-pr-review repo=example/app pr=3 head_sha={SHA} sig={sig} -->", None)],
                      REPO, 3, SHA)
