"""The floor of `get_latency`: a bare functions-framework HTTP function that does exactly one GetItem
(with the store's boto3 client, so its botocore configuration is the same as Shoal's) and returns the
item as JSON. Nothing else of Shoal's: no auth, routing, models, view or log line."""

import json

import functions_framework

from shared.store.clients import client
from shared.store.tables import table_name


@functions_framework.http
def one_read(request):
    if "pk" not in request.args:  # the platform's readiness probe (/healthz)
        return "ok"
    key = {"pk": {"S": request.args["pk"]}, "sk": {"S": request.args["sk"]}}
    item = client("dynamodb").get_item(TableName=table_name("objects"), Key=key, ConsistentRead=True)["Item"]
    return json.dumps(item), 200, {"Content-Type": "application/json"}
