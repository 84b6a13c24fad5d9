"""Patch-proposal verification and strict application (shared.security.diffs)."""

from __future__ import annotations

import pytest

from shared.security.diffs import DiffError, apply, parse, verify

DIFF = "--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"


def test_verify_returns_the_files():
    assert verify("fix", DIFF) == ["x.py"]
    new_file = "--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1 @@\n+hi\n"
    assert verify("add", new_file) == ["n.txt"] and apply(parse(new_file)[0], None) == "hi\n"


@pytest.mark.parametrize(("summary", "diff", "reason"), [
    (" ", DIFF, "the patch summary is empty"),
    ("s", "", "the diff is empty"),
    ("s", "just words", "the diff touches no files"),
    ("s", "--- a/../etc/passwd\n+++ b/../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", "invalid path in diff: '../etc/passwd'"),
    ("s", "--- a/x\n+++ b/x\n@@ -1,3 +1,2 @@\n a\n-b\n+c\n", "hunk line counts do not match its header in x"),
    ("s", "--- a/x\n+++ b/x\n@@ bogus @@\n", "malformed hunk header: '@@ bogus @@'"),
])
def test_verify_rejects(summary, diff, reason):
    with pytest.raises(DiffError) as exc:
        verify(summary, diff)
    assert str(exc.value) == reason


def test_apply_is_strict():
    [patch] = parse(DIFF)
    assert apply(patch, "a\nb\nz\n") == "a\nc\nz\n"
    with pytest.raises(DiffError, match="patch does not apply to x.py"):
        apply(patch, "a\nDIFFERENT\n")
