"""`/docs`: Swagger UI over `/openapi.json`, from the assets the `swagger-ui-py` wheel ships.

Why that package: it is the maintained pip package that carries Swagger UI 5 (OpenAPI 3.1) with its
Apache-2.0 licence (served at /docs/static/LICENSE); we only read its static files, never its
framework handlers. Nothing comes from a CDN (the platform works offline), and the CSP allows only
this origin: no inline script (the initializer is its own file), images also from `data:` URIs,
which Swagger UI's stylesheet uses for its icons.
"""

from __future__ import annotations

import mimetypes
from importlib import resources

from flask import Response

from shared.errors import NotFound

CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
# The files the page loads (an allow-list: no path from the URL reaches the filesystem).
STATIC = frozenset({"swagger-ui.css", "index.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "favicon-32x32.png", "favicon-16x16.png", "LICENSE"})

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<title>Shoal API reference</title>
<link rel="stylesheet" type="text/css" href="/docs/static/swagger-ui.css">
<link rel="stylesheet" type="text/css" href="/docs/static/index.css">
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png" sizes="32x32">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js" charset="UTF-8"></script>
<script src="/docs/static/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
<script src="/docs/init.js" charset="UTF-8"></script>
</body>
</html>
"""

# validatorUrl null: Swagger UI would otherwise fetch a badge from validator.swagger.io.
INIT = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
};
"""


def _response(body: str | bytes, content_type: str, *, cache: bool = False) -> Response:
    response = Response(body, status=200, content_type=content_type)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "public, max-age=86400" if cache else "no-cache"
    return response


def page() -> Response:
    return _response(PAGE, "text/html; charset=utf-8")


def init_script() -> Response:
    return _response(INIT, "text/javascript; charset=utf-8")


def static_file(name: str) -> Response:
    if name not in STATIC:
        raise NotFound("not found")
    data = resources.files("swagger_ui").joinpath("static", name).read_bytes()
    kind = "text/plain; charset=utf-8" if name == "LICENSE" else (
        mimetypes.guess_type(name)[0] or "application/octet-stream")
    if kind in ("text/css", "text/javascript", "application/javascript"):
        kind += "; charset=utf-8"
    return _response(data, kind, cache=True)
