"""The `github` event function: label triggers and pull-request activity (Knative Trigger → HTTP)."""

import functions_framework

from shared.events.consumer import consume
from shared.github.triggers import HANDLERS


@functions_framework.http
def github(request):
    return consume(request, HANDLERS, function="github")
