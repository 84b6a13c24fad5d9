"""Contract: the meta function (health, readiness, OpenAPI)."""

from __future__ import annotations

import pytest

from shared.http.openapi import openapi_path
from shared.http.route_table import FUNCTION_ROUTERS, build_api


@pytest.fixture
def meta(function_client):
    return function_client("meta")


def test_healthz_is_ok_without_credentials(meta):
    response = meta.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_checks_the_store_and_names_the_llm_provider(meta):
    response = meta.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"store": "ok"},
                                   "llm": {"provider": "mock", "model": "shoal-mock"}}


def test_readyz_is_503_when_the_store_is_gone(meta):
    from shared.store.clients import client
    from shared.store.tables import table_name

    client("dynamodb").delete_table(TableName=table_name("objects"))
    response = meta.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready" and body["checks"]["store"].startswith("error: ")


def test_openapi_lists_exactly_the_routes_of_every_function(meta):
    response = meta.get("/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"] == "3.1.0"
    expected = set()
    for function in FUNCTION_ROUTERS:
        for route in build_api(function).routes:
            for method in route.methods:
                if method not in ("HEAD", "OPTIONS"):
                    expected.add((openapi_path(route.rule), method.lower()))
    listed = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert listed == expected
    create = doc["paths"]["/api/v1/tasks"]["post"]
    assert "201" in create["responses"] and "401" in create["responses"]
    assert doc["paths"]["/healthz"]["get"]["security"] == []


def test_openapi_document_is_valid_openapi_3_1(meta):
    from openapi_spec_validator import validate

    validate(meta.get("/openapi.json").get_json())


def test_openapi_is_built_once_per_process_and_revalidates_with_its_etag(meta, monkeypatch):
    from shared.http import openapi
    from shared.meta import document

    builds = []
    real = openapi.build_document  # (imported by served_document when it builds: pydantic is not a cold-start cost)
    monkeypatch.setattr(document, "_built", None)
    monkeypatch.setattr(openapi, "build_document", lambda apis: builds.append(1) or real(apis))
    first, second = meta.get("/openapi.json"), meta.get("/openapi.json")
    assert first.status_code == second.status_code == 200 and first.data == second.data
    assert builds == [1]
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    unchanged = meta.get("/openapi.json", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.data == b"" and unchanged.headers["ETag"] == etag
    assert meta.get("/openapi.json", headers={"If-None-Match": '"other"'}).status_code == 200
