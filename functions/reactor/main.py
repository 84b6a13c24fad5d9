"""The `reactor` event function: job chains, callbacks and job statistics, and the results of security
tasks (scan slices, validations, patches) and of repository monitor reviews (Knative Trigger → HTTP).
Its handlers are in shared.events.handler_table."""

import functions_framework

from shared.events.consumer import consume
from shared.events.handler_table import build_handlers

HANDLERS = build_handlers("reactor")


@functions_framework.http
def reactor(request):
    return consume(request, HANDLERS, function="reactor")
