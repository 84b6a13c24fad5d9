"""Where the tasks function's own CPU per `GET /api/v1/tasks/<name>` goes, in this process (no gate;
not in `make bench`: run it by name). The figures behind docs/performance.md, "The function's own CPU
per GET".

1. The store call: the store client's CPU per GetItem and per BatchGetItem of two keys against a moto
   server, alternating round by round with the same request made directly (botocore's SigV4 signer and
   credentials, urllib3, `json`: no botocore client), which is what a narrower read path could save.
   Then what botocore's client does besides the exchange, each stage alone (no network): its event
   hooks, serialisation, endpoint resolution, the User-Agent, signing, parsing.
2. The pipeline with the store stubbed (its recorded answers): the GET through the tasks app
   (functions-framework, Flask, shoal.http.api, auth, view, log line), a refused GET (401), `/healthz`,
   the floor (tests/bench/one_read: functions-framework with one GetItem) and a bare WSGI callable doing
   what the floor does.

CPU per call is `time.process_time()` over blocks of calls, min and median of the rounds (the min is
what other load disturbs least). A hot loop in one process: a served GET costs about twice these (its
code runs with caches the client and moto evicted: docs/performance.md).
"""

from __future__ import annotations

import io
import json
import logging
import os
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.mini_platform import served_store  # noqa: E402

CALLS = int(os.environ.get("BENCH_CALLS", "400"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))
TOKEN = "bench"


def rounds(paths: dict[str, Callable[[], Any]], calls: int = CALLS) -> dict[str, list[float]]:
    """CPU µs per call of each path, blocks of `calls` alternating path by path, ROUNDS times."""
    for call in paths.values():
        for _ in range(50):
            call()
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(ROUNDS):
        for name, call in paths.items():
            started = time.process_time()
            for _ in range(calls):
                call()
            cpu[name].append((time.process_time() - started) / calls * 1e6)
    return cpu


def show(cpu: dict[str, list[float]], unit: str) -> None:
    for name, values in cpu.items():
        print(f"  {name:34s} min {min(values):7.1f}  median {statistics.median(values):7.1f} µs {unit}")


def direct_reader(endpoint: str, region: str) -> Callable[[str, dict], dict]:
    """One DynamoDB operation as a signed POST, without botocore's client (the measure of what it adds).
    No retries, error mapping or hooks: a reference, not a replacement."""
    import urllib3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    from shared.store.clients import session

    credentials = session().get_credentials()
    pool = urllib3.connection_from_url(endpoint, maxsize=1)

    def call(operation: str, params: dict) -> dict:
        body = json.dumps(params).encode()
        request = AWSRequest(method="POST", url=endpoint + "/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDB_20120810.{operation}"})
        SigV4Auth(credentials.get_frozen_credentials(), "dynamodb", region).add_auth(request)
        answer = pool.urlopen("POST", "/", body=body, headers=dict(request.headers.items()), retries=False)
        return json.loads(answer.data)

    return call


def stages(raw: Any, params: dict) -> dict[str, list[float]]:
    """µs per call of each stage of botocore's GetItem that is not the exchange (min of 5 repeats)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    from shared.store.clients import session

    model = raw.meta.service_model.operation_model("GetItem")
    events = raw.meta.events
    context = {"client_region": raw.meta.region_name, "client_config": raw.meta.config,
               "has_streaming_input": False, "auth_type": None, "unsigned_payload": None, "auth_options": None}
    credentials = session().get_credentials().get_frozen_credentials()
    body = json.dumps(params).encode()
    answer = {"status_code": 200, "headers": {"content-type": "application/x-amz-json-1.0"},
              "body": json.dumps({"Item": {"pk": {"S": "a"}, "doc": {"S": "x" * 500}}}).encode(),
              "context": {"operation_name": "GetItem"}}

    def sign() -> None:
        request = AWSRequest(method="POST", url=raw.meta.endpoint_url + "/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.GetItem",
            "User-Agent": raw._user_agent_creator.to_string()})
        SigV4Auth(credentials, "dynamodb", raw.meta.region_name).add_auth(request)

    pieces: dict[str, Callable[[], Any]] = {
        "hooks: provide-client-params": lambda: events.emit(
            "provide-client-params.dynamodb.GetItem", params=params, model=model, context={}),
        "hooks: before-parameter-build": lambda: events.emit(
            "before-parameter-build.dynamodb.GetItem", params=params, model=model, context={}),
        "hooks: before-call": lambda: events.emit_until_response(
            "before-call.dynamodb.GetItem", model=model, params={"headers": {}}, request_signer=None, context={}),
        "serialise (JSON protocol)": lambda: raw._serializer.serialize_to_request(params, model),
        "endpoint resolution (ruleset)": lambda: raw._resolve_endpoint_ruleset(model, params, dict(context)),
        "User-Agent string": lambda: raw._user_agent_creator.to_string(),
        "SigV4 (request + signature)": sign,
        "parse the answer": lambda: raw._response_parser.parse(answer, model.output_shape),
    }
    return {name: [min(timeit.repeat(piece, number=2000, repeat=5, timer=time.process_time)) / 2000 * 1e6]
            for name, piece in pieces.items()}


def environ(path: str, headers: dict[str, str] | None = None) -> Callable[[], dict]:
    from werkzeug.test import EnvironBuilder

    built = EnvironBuilder(method="GET", path=path, headers=headers or {}).get_environ()

    def fresh() -> dict:
        env = dict(built)
        env["wsgi.input"] = io.BytesIO(b"")
        return env

    return fresh


def wsgi_call(app: Callable, make_environ: Callable[[], dict]) -> Callable[[], None]:
    def call() -> None:
        b"".join(app(make_environ(), lambda status, headers, exc_info=None: None))

    return call


def main() -> int:
    import functions_framework

    from shared.store import clients
    from shared.store.tables import table_name

    state = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    os.environ.update({**state, "SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": TOKEN, "SHOAL_EXECUTOR": "local",
                       "K_SINK": "http://127.0.0.1:9/"})
    with served_store() as (_, endpoint):  # its exit resets the store's clients (the stub below)
        logging.getLogger("shoal").handlers[0].setStream(open(os.devnull, "w"))  # noqa: SIM115  # the log line, not the terminal
        app = functions_framework.create_app(target="tasks", source=str(ROOT / "functions" / "tasks" / "main.py"))
        floor = functions_framework.create_app(target="one_read", source=str(ROOT / "tests" / "bench" / "one_read" /
                                                                             "main.py"))
        auth = {"Authorization": f"Bearer {TOKEN}"}
        b"".join(app(environ("/healthz")(), lambda *_: None))  # the app's first request loads what it loads
        from werkzeug.test import Client
        created = Client(app).post("/api/v1/tasks", headers=auth, json={
            "name": "read-me", "type": "ai", "prompt": "hi", "schedule": "0 0 1 1 *"})
        assert created.status_code == 201, created.data
        from shared.tasks.repository import plans, tasks
        plans.create("default", "read-me", {"steps": [{"title": "one", "status": "done"}]})

        ddb, table = clients.client("dynamodb"), table_name("objects")
        key, plan_key = tasks._key("default", "read-me"), plans._key("default", "read-me")
        get = {"TableName": table, "Key": key, "ConsistentRead": True}
        batch = {"RequestItems": {table: {"Keys": [key, plan_key], "ConsistentRead": True}}}
        direct = direct_reader(endpoint, ddb.meta.region_name)
        assert direct("GetItem", get)["Item"] == ddb.get_item(**get)["Item"]
        print(f"1. The store call, client CPU per call against moto's server ({ROUNDS} rounds × {CALLS} calls)")
        show(rounds({"GetItem, store client": lambda: ddb.get_item(**get),
                     "GetItem, direct signed request": lambda: direct("GetItem", get),
                     "BatchGetItem (2 keys), store client": lambda: ddb.batch_get_item(**batch),
                     "BatchGetItem (2 keys), direct": lambda: direct("BatchGetItem", batch)}), "per call")
        print("   botocore's client besides the exchange, each stage alone (GetItem; min of 5 × 2000)")
        show(stages(ddb._raw, get), "")

        answers = {"batch_get_item": ddb.batch_get_item(**batch), "get_item": ddb.get_item(**get)}

        class Recorded:  # the store's client, answering what it answered above
            def batch_get_item(self, **_: Any) -> dict:
                return answers["batch_get_item"]

            def get_item(self, **_: Any) -> dict:
                return answers["get_item"]

        clients._clients["dynamodb"] = Recorded()

        def bare(env: dict, start_response: Callable) -> list[bytes]:  # what the floor does, as plain WSGI
            from urllib.parse import parse_qs

            query = parse_qs(env["QUERY_STRING"])
            item = Recorded().get_item(Key={"pk": {"S": query["pk"][0]}, "sk": {"S": query["sk"][0]}})["Item"]
            body = json.dumps(item).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]

        floor_path = "/?" + urlencode({"pk": key["pk"]["S"], "sk": key["sk"]["S"]})
        check = Client(app).get("/api/v1/tasks/read-me", headers=auth)
        assert check.status_code == 200 and check.json["plan"], check.data
        print(f"2. The pipeline, store stubbed, CPU per request in process ({ROUNDS} rounds × {CALLS * 5})")
        show(rounds({"GET /api/v1/tasks/<name>": wsgi_call(app, environ("/api/v1/tasks/read-me", auth)),
                     "the GET refused (401)": wsgi_call(app, environ("/api/v1/tasks/read-me")),
                     "/healthz": wsgi_call(app, environ("/healthz")),
                     "floor (functions-framework)": wsgi_call(floor, environ(floor_path)),
                     "floor as a bare WSGI callable": wsgi_call(bare, environ(floor_path))}, CALLS * 5),
             "per request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
