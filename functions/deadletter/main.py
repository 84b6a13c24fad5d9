"""The `deadletter` event function: the dead-letter sink of the Broker and every Trigger."""

import functions_framework

from shared.events.consumer import consume
from shared.events.deadletter import keep


@functions_framework.http
def deadletter(request):
    return consume(request, {"*": keep}, function="deadletter")
