"""PR review markers: scoped to repo, PR and exact head; signed; key rotation; legacy trusted author."""

from __future__ import annotations

import pytest

from shared.github.markers import MarkerKeyMissing, has_marker, make_marker

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


def test_signing_needs_a_key(keys):
    keys(None)
    with pytest.raises(MarkerKeyMissing):
        make_marker(REPO, 1, SHA)
