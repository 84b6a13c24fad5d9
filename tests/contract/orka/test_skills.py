"""Contract: /api/v1/skills (orka-api.txt; orka-behaviour.md §2: list projection, text/markdown content)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import AUTH
from tests.support.leak_scan import leak_scan  # noqa: F401  (fixture)


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def api(function_client, leak_scan):  # noqa: F811
    return leak_scan.watch(function_client("catalog"))


def send(client, method, path, body):
    return client.open(path, method=method, data=body if isinstance(body, str) else json.dumps(body),
                       headers={**AUTH, "Content-Type": "application/json"})


MARKDOWN = "# Review checklist\n\n- [ ] tests\n- [ ] docs — ünïcode\n"
SKILL = {"name": "review", "spec": {"displayName": "Code review", "description": "How we review",
                                    "version": "1.0.0", "author": "team", "tags": ["review"],
                                    "content": {"inline": MARKDOWN}}}


ROUTES_401 = [
    ("POST", "/api/v1/skills"), ("GET", "/api/v1/skills"), ("GET", "/api/v1/skills/s"),
    ("GET", "/api/v1/skills/s/content"), ("PUT", "/api/v1/skills/s"), ("DELETE", "/api/v1/skills/s")]


def test_every_skill_route_without_credentials_is_401(api):
    for method, path in ROUTES_401:
        response = api.open(path, method=method)
        assert response.status_code == 401 and response.get_json() == err(401, "missing authorization header")


def test_create_get_and_content_as_text_markdown(api):
    response = send(api, "POST", "/api/v1/skills", SKILL)
    assert response.status_code == 201
    body = response.get_json()
    assert body["kind"] == "Skill" and body["spec"]["content"]["inline"] == MARKDOWN
    assert body["status"] == {"phase": "Ready"}
    assert api.get("/api/v1/skills/review", headers=AUTH).get_json() == body
    content = api.get("/api/v1/skills/review/content", headers=AUTH)
    assert content.status_code == 200
    assert content.headers["Content-Type"].startswith("text/markdown")
    assert content.get_data(as_text=True) == MARKDOWN


def test_markdown_lives_in_the_bucket_not_in_the_record(api):
    from shared.store import ObjectStore
    from shared.store.blobs import get_blob

    send(api, "POST", "/api/v1/skills", SKILL)
    record = ObjectStore("skill").get("default", "review")
    assert "inline" not in record.doc["spec"]["content"]
    digest = record.doc["spec"]["content"]["sha256"]
    assert get_blob(f"skills/default/review/{digest}.md").decode() == MARKDOWN


def test_list_is_the_projection(api):
    send(api, "POST", "/api/v1/skills", SKILL)
    send(api, "POST", "/api/v1/skills", {"name": "bare", "spec": {}})
    body = api.get("/api/v1/skills", headers=AUTH).get_json()
    assert body == {"items": [
        {"name": "bare", "namespace": "default", "displayName": "", "description": "", "version": "",
         "author": "", "tags": [], "phase": "Ready"},
        {"name": "review", "namespace": "default", "displayName": "Code review", "description": "How we review",
         "version": "1.0.0", "author": "team", "tags": ["review"], "phase": "Ready"}], "metadata": {}}


def test_content_of_a_skill_without_markdown_is_404(api):
    send(api, "POST", "/api/v1/skills", {"name": "bare", "spec": {}})
    response = api.get("/api/v1/skills/bare/content", headers=AUTH)
    assert response.status_code == 404 and response.get_json() == err(404, "skill has no inline content")
    assert api.get("/api/v1/skills/nope/content", headers=AUTH).get_json() == err(404, "skill not found")


def test_duplicate_is_409_and_keeps_the_first_content(api):
    send(api, "POST", "/api/v1/skills", SKILL)
    response = send(api, "POST", "/api/v1/skills", {"name": "review", "spec": {"content": {"inline": "other"}}})
    assert response.status_code == 409 and response.get_json() == err(409, "skill already exists")
    assert api.get("/api/v1/skills/review/content", headers=AUTH).get_data(as_text=True) == MARKDOWN


BAD_CREATES_ARE_400_AND_STORE_NOTHING_CASES = [
    ("nope", "invalid request body"),
    ({"spec": {}}, "name is required"),
    ({"name": "s", "spec": {"tags": "x"}}, "invalid spec.tags: Input should be a valid list"),
    ({"name": "s", "spec": {"content": {"inline": 5}}}, "invalid spec.content.inline: Input should be a valid string"),
]


def test_bad_creates_are_400_and_store_nothing(api):
    for body, message in BAD_CREATES_ARE_400_AND_STORE_NOTHING_CASES:
        response = send(api, "POST", "/api/v1/skills", body)
        assert response.status_code == 400 and response.get_json() == err(400, message)
    assert api.get("/api/v1/skills", headers=AUTH).get_json()["items"] == []


def test_put_replaces_content_and_drops_the_old_markdown(api):
    from shared.store.blobs import get_blob

    first = send(api, "POST", "/api/v1/skills", SKILL).get_json()
    old_digest = first["spec"]["content"]["sha256"]
    response = send(api, "PUT", "/api/v1/skills/review", {"spec": {"content": "# v2\n"}})
    assert response.status_code == 200 and response.get_json()["spec"]["content"]["inline"] == "# v2\n"
    assert api.get("/api/v1/skills/review/content", headers=AUTH).get_data(as_text=True) == "# v2\n"
    assert get_blob(f"skills/default/review/{old_digest}.md") is None
    stale = send(api, "PUT", "/api/v1/skills/review", {"metadata": {"resourceVersion": "1"}, "spec": {}})
    assert stale.status_code == 409 and stale.get_json() == err(409, "skill was modified concurrently")


def test_delete_is_204_and_removes_the_markdown(api):
    from shared.store.blobs import get_blob

    digest = send(api, "POST", "/api/v1/skills", SKILL).get_json()["spec"]["content"]["sha256"]
    assert api.delete("/api/v1/skills/review", headers=AUTH).status_code == 204
    assert get_blob(f"skills/default/review/{digest}.md") is None
    assert api.delete("/api/v1/skills/review", headers=AUTH).get_json() == err(404, "skill not found")
