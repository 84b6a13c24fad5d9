"""The `analyze` function (operator–LLM contract): wiring only; routes live in shared."""

import functions_framework

from shared.http.route_table import build_api

api = build_api("analyze")


@functions_framework.http
def analyze(request):
    return api.handle(request)
