"""The baseline: a bare functions-framework HTTP function."""

import functions_framework


@functions_framework.http
def hello(request):
    return "ok"
