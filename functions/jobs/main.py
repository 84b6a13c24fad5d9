"""The `jobs` function: wiring only; the routes live in shared (see shared.http.route_table)."""

import functions_framework

from shared.http.route_table import build_api

api = build_api("jobs")


@functions_framework.http
def jobs(request):
    return api.handle(request)
