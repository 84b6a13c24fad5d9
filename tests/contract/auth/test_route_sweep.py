"""Every route in /openapi.json answers 401 without credentials and 403 without permission.

The route table is read from the OpenAPI document the meta function serves, so routes added by any
function are swept without editing this test.
"""

from __future__ import annotations

import re

import pytest

from shared.auth.authorization import AUTHENTICATED
from shared.http.route_table import build_api

SA_TOKEN = "sa-token-sweep"
SA_USER = {"username": "system:serviceaccount:team-a:sweeper", "groups": ["system:serviceaccounts"]}


def _operations(meta) -> list[tuple[str, str, dict]]:
    doc = meta.get("/openapi.json").get_json()
    return [(path, method.upper(), op) for path, ops in doc["paths"].items() for method, op in ops.items()]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


@pytest.fixture
def apps(function_client):
    cache: dict[str, object] = {}

    def app(name: str):
        if name not in cache:
            cache[name] = function_client(name)
        return cache[name]

    return app


def test_every_protected_route_is_401_without_credentials(apps):
    operations = _operations(apps("meta"))
    protected = [(p, m, op) for p, m, op in operations if op.get("security") != []]
    assert len(protected) >= 10
    failures = []
    for path, method, op in protected:
        response = apps(op["x-shoal-function"]).open(_concrete(path), method=method, data=b"{}",
                                                     content_type="application/json")
        if response.status_code != 401 or not response.get_data():
            failures.append((method, path, response.status_code))
    assert failures == []


def test_every_protected_route_is_403_without_permission(apps, fake_kube):
    fake_kube.tokens[SA_TOKEN] = {"authenticated": True, "user": SA_USER}
    fake_kube.authorize = lambda spec: False
    failures = []
    for path, method, op in _operations(apps("meta")):
        if op.get("security") == []:
            continue
        api = build_api(op["x-shoal-function"])
        index = next(i for i, r in enumerate(api.routes)
                     if re.sub(r"<(?:[a-z]+:)?([^>]+)>", r"{\1}", r.rule) == path and method in r.methods)
        if api._permissions[(index, method)] == AUTHENTICATED:
            continue
        response = apps(op["x-shoal-function"]).open(_concrete(path), method=method, data=b"{}",
                                                     content_type="application/json",
                                                     headers={"Authorization": f"Bearer {SA_TOKEN}"})
        if response.status_code != 403:
            failures.append((method, path, response.status_code))
    assert failures == []


def test_a_task_token_is_403_on_every_route_but_the_model_endpoints(apps):
    """A coding-agent runtime's token (docs/auth.md "Task tokens") reaches its model and nothing else:
    not the worker API, not even the routes any authenticated principal may call."""
    from shared.auth.authorization import TASK_TOKEN_FORBIDDEN, is_model_route
    from tests.conftest import AUTH

    assert apps("tasks").post("/api/v1/tasks", json={"name": "rt", "type": "agent", "prompt": "p"},
                              headers=AUTH).status_code == 201
    internal = apps("internal")
    assert internal.post("/internal/v1/status/default/rt", json={"phase": "Running"}, headers=AUTH).status_code == 204
    token = internal.post("/internal/v1/tasks/default/rt/model-token", headers=AUTH).get_json()["token"]
    failures, model_routes = [], 0
    for path, method, op in _operations(apps("meta")):
        if op.get("security") == []:
            continue
        if is_model_route(path):
            model_routes += 1
            continue
        response = apps(op["x-shoal-function"]).open(_concrete(path), method=method, data=b"{}",
                                                     content_type="application/json",
                                                     headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 403 or TASK_TOKEN_FORBIDDEN not in response.get_data(as_text=True):
            failures.append((method, path, response.status_code))
    assert failures == [] and model_routes >= 4
    # The one public route that authenticates by itself (dev mode's /config) refuses it too.
    response = apps("incidents").get("/config", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403 and TASK_TOKEN_FORBIDDEN in response.get_data(as_text=True)
