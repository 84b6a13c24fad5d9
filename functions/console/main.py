"""The `console` function: wiring only; the routes live in shared (see shared.http.route_table)."""

import functions_framework

from shared.http.route_table import build_api

api = build_api("console")


@functions_framework.http
def console(request):
    return api.handle(request)
