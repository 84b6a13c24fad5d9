"""API key names are unique per owner, atomically: a name record written in the key's own
transaction (docs/reliability.md "Atomic admission")."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import AUTH

DUPLICATE = {"error": 'API key "ci" already exists'}


@pytest.fixture
def jobs(function_client):
    return function_client("jobs")


def test_twenty_concurrent_creates_of_one_name_make_exactly_one_key(jobs):
    app, start = jobs.application, threading.Barrier(20)
    answers: list[tuple[int, dict]] = []

    def create() -> None:
        client = app.test_client()  # one client per thread, as separate callers would be
        start.wait()
        response = client.post("/api/api-keys", headers=AUTH, json={"name": "ci"})
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=create) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(status for status, _ in answers) == [201] + [409] * 19
    assert all(body == DUPLICATE for status, body in answers if status == 409)
    assert [k["name"] for k in jobs.get("/api/api-keys", headers=AUTH).get_json()] == ["ci"]
    from shared.store import ObjectStore

    hashes, _ = ObjectStore("apikeyhash").list_page("_global", limit=None)
    assert len(hashes) == 1  # the losers left no usable key behind


def test_names_are_per_owner_and_free_again_after_revocation(jobs, monkeypatch):
    from shared.config import reset_settings

    first = jobs.post("/api/api-keys", headers=AUTH, json={"name": "ci"})
    assert first.status_code == 201
    assert jobs.post("/api/api-keys", headers=AUTH, json={"name": " ci "}).get_json() == DUPLICATE  # trimmed
    assert jobs.post("/api/api-keys", headers=AUTH, json={"name": "ci-2"}).status_code == 201
    monkeypatch.setenv("SUBMIT_API_KEYS", "env-key-for-another-owner")
    reset_settings()
    other_owner = {"Authorization": "Bearer env-key-for-another-owner"}
    assert jobs.post("/api/api-keys", headers=other_owner, json={"name": "ci"}).status_code == 201
    assert jobs.delete(f"/api/api-keys/{first.get_json()['id']}", headers=AUTH).status_code == 200
    assert jobs.post("/api/api-keys", headers=AUTH, json={"name": "ci"}).status_code == 201


def test_a_name_left_behind_by_an_interrupted_revocation_is_taken_over(jobs):
    """Revocation deletes the lookup, the listing, then the name: a crash in between must not block
    the name forever."""
    from shared.auth import api_keys

    created = jobs.post("/api/api-keys", headers=AUTH, json={"name": "ci"}).get_json()
    record = api_keys.keys.get(api_keys.SCOPE, created["id"])
    api_keys.key_hashes.delete(api_keys.SCOPE, record.doc["hash"])
    api_keys.keys.delete(api_keys.SCOPE, created["id"])  # ... and the process died here
    again = jobs.post("/api/api-keys", headers=AUTH, json={"name": "ci"})
    assert again.status_code == 201 and again.get_json()["id"] != created["id"]
    assert jobs.post("/api/api-keys", headers=AUTH, json={"name": "ci"}).get_json() == DUPLICATE
