"""A Flask test client over an Api built from given routers (for routers no function serves yet)."""

from __future__ import annotations

from flask import Flask, request

from shared.http.api import Api, Router

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def router_client(*routers: Router):
    api = Api("probe", routers)
    app = Flask("probe")

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    def handle(path: str):
        return api.handle(request)

    return app.test_client()
