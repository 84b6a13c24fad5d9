"""The `investigator` event function: runs incident investigations (Knative Trigger → HTTP).
Its handlers are in shared.events.handler_table."""

import functions_framework

from shared.events.consumer import consume
from shared.events.handler_table import build_handlers

HANDLERS = build_handlers("investigator")


@functions_framework.http
def investigator(request):
    return consume(request, HANDLERS, function="investigator")
