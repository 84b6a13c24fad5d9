"""Dropped-finding diagnostics are kept for DROPPED_RETENTION_SECONDS, then expire (store TTL)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("aws")


def test_dropped_diagnostics_expire_after_their_retention(monkeypatch):
    from shared.security import results
    from shared.security.store import dropped, repo_scope
    from shared.store import Record

    repo = Record(kind="repositoryscans", namespace="default", name="app", version=1, doc={"metadata": {"uid": "u1"}})
    assert results.DROPPED_RETENTION_SECONDS == 30 * 24 * 3600
    results._drop(repo, "scan_1", "s1", 0, "no JSON", "text")
    # One whose retention ran out (as if written a month ago): no longer listed.
    monkeypatch.setattr(results, "DROPPED_RETENTION_SECONDS", -1)
    results._drop(repo, "scan_0", "s1", 0, "old", "text")
    assert [r.doc["reason"] for r in dropped.list_page(repo_scope(repo), limit=None)[0]] == ["no JSON"]
