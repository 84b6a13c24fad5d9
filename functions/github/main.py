"""The `github` event function: label triggers, pull-request activity, monitor runs and security
scans (Knative Trigger → HTTP); its handlers are in shared.events.handler_table."""

import functions_framework

from shared.events.consumer import consume
from shared.events.handler_table import build_handlers

HANDLERS = build_handlers("github")


@functions_framework.http
def github(request):
    return consume(request, HANDLERS, function="github")
