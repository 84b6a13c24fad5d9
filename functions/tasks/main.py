"""The `tasks` function: wiring only; the routes live in shared (see shared.http.route_table)."""

import functions_framework

from shared.http.route_table import build_api

api = build_api("tasks")


@functions_framework.http
def tasks(request):
    return api.handle(request)
