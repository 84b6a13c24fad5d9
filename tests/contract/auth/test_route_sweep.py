"""Every route in /openapi.json answers 401 without credentials and 403 without permission.

The route table is read from the OpenAPI document the meta function serves, so routes added by any
function are swept without editing this test.
"""

from __future__ import annotations

import re

import pytest

from shared.auth.authorization import AUTHENTICATED
from shared.http.catalog import build_api

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
