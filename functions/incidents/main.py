"""The `incidents` function (Kubernaut incident API): wiring only; routes live in shared."""

import functions_framework

from shared.http.route_table import build_api

api = build_api("incidents")


@functions_framework.http
def incidents(request):
    return api.handle(request)
