"""Every HTTP function in one WSGI app, routed by infra/httproutes.yaml as the gateway routes them:
the public API on a real port in-process (moto stays in-process), for clients such as the console."""

from __future__ import annotations

from flask import Flask, request

from shared.http.route_table import FUNCTION_ROUTERS, build_api
from shared.local.manifests import Router, routes

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


def gateway_app(exclude: tuple[str, ...] = ()) -> Flask:
    apis = {name: build_api(name) for name in FUNCTION_ROUTERS if name not in exclude}
    table = Router(routes())
    app = Flask("gateway")

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    def handle(path: str):
        picked = table.pick(request.path)
        if picked is None or picked.backend not in apis:
            return {"error": {"code": 404, "message": "no route"}}, 404
        return apis[picked.backend].handle(request)

    return app
