"""Contract: `/docs` is Swagger UI over /openapi.json, served by the meta function from the
swagger-ui-py package's own assets (no CDN), under a CSP that allows only this origin."""

from __future__ import annotations

import re

import pytest

from shared.meta.docs import CSP


@pytest.fixture
def meta(function_client):
    return function_client("meta")


def test_docs_page_loads_only_same_origin_assets(meta):
    response = meta.get("/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Content-Security-Policy"] == CSP
    assert CSP.startswith("default-src 'self';") and "http" not in CSP
    html = response.get_data(as_text=True)
    assert "<script>" not in html  # inline script would be refused by the CSP
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/docs/") for a in assets), assets
    for asset in assets:  # every asset the page names is served
        served = meta.get(asset)
        assert served.status_code == 200, asset
        assert served.headers["Content-Security-Policy"] == CSP


def test_docs_script_points_swagger_ui_at_the_document(meta):
    response = meta.get("/docs/init.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    script = response.get_data(as_text=True)
    assert 'url: "/openapi.json"' in script and "validatorUrl: null" in script


def test_swagger_ui_bundle_and_its_licence_are_served(meta):
    bundle = meta.get("/docs/static/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and bundle.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert b"SwaggerUIBundle" in bundle.get_data()
    licence = meta.get("/docs/static/LICENSE")
    assert licence.status_code == 200 and b"Apache License" in licence.get_data()


@pytest.mark.parametrize("name", ["../../../../etc/passwd", "swagger-editor-bundle.js", "core.py", "nope.css"])
def test_files_outside_the_allow_list_are_404(meta, name):
    response = meta.get(f"/docs/static/{name}")
    assert response.status_code == 404
    assert response.get_json() == {"error": {"code": 404, "message": "not found"}}


def test_docs_needs_no_credentials_and_is_in_the_document(meta):
    doc = meta.get("/openapi.json").get_json()
    assert doc["paths"]["/docs"]["get"]["security"] == []
    assert "text/html" in doc["paths"]["/docs"]["get"]["responses"]["200"]["content"]
