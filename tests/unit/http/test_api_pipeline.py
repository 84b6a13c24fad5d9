"""The request pipeline: dialects, request ids, 500s that leak nothing, body limits, SSE."""

from __future__ import annotations

import json
import logging
import threading
import time
from unittest.mock import ANY

import pytest
from flask import Flask, request

from shared.errors import Conflict, Invalid
from shared.http import Api, RequestContext, Router
from shared.http.sse import frame, sse_response
from tests.conftest import AUTH


def make_client(dialect: str):
    router = Router("/x", dialect=dialect)

    @router.route("/boom", public=True)
    def boom(ctx: RequestContext):
        raise RuntimeError("secret internal detail")

    @router.route("/conflict", ["POST"])
    def conflict(ctx: RequestContext):
        raise Conflict("already there")

    @router.route("/echo/<name>", ["POST"], public=True)
    def echo(ctx: RequestContext, name: str):
        return {"name": name, "body": ctx.json_object()}, 201

    api = Api("test", [router], default_dialect=dialect)
    app = Flask("t")
    app.add_url_rule("/<path:p>", view_func=lambda p: api.handle(request), methods=["GET", "POST", "PUT"])
    return app.test_client()


@pytest.mark.parametrize("dialect,body,content_type", [
    ("orka", {"error": {"code": 409, "message": "already there"}}, "application/json"),
    ("openai", {"error": {"message": "already there", "type": "conflict_error", "param": None, "code": None}},
     "application/json"),
    ("anthropic", {"type": "error", "error": {"type": "api_error", "message": "already there"}, "request_id": ANY},
     "application/json"),
    ("simple", {"error": "already there"}, "application/json"),
])
def test_each_dialect_renders_the_same_error_its_own_way(dialect, body, content_type):
    response = make_client(dialect).post("/x/conflict", headers=AUTH)
    assert response.status_code == 409
    assert response.content_type == content_type
    assert response.get_json() == body


def test_problem_dialect_is_rfc7807():
    response = make_client("problem").post("/x/conflict", headers={**AUTH, "X-Request-Id": "req-1"})
    assert response.content_type == "application/problem+json"
    assert json.loads(response.data) == {"type": "https://kubernaut.ai/problems/conflict", "title": "Conflict",
                                         "status": 409, "detail": "already there", "instance": "/x/conflict",
                                         "request_id": "req-1"}


def test_unhandled_errors_are_500_with_the_request_id_and_no_detail():
    response = make_client("orka").get("/x/boom", headers={"X-Request-Id": "abc-123"})
    assert response.status_code == 500
    assert response.get_json() == {"error": {"code": 500, "message": "internal server error (request id abc-123)"}}
    assert b"secret internal detail" not in response.data
    assert response.headers["X-Request-Id"] == "abc-123"


def test_a_hostile_request_id_is_replaced():
    response = make_client("orka").get("/x/boom", headers={"X-Request-Id": "<script>alert(1)</script>"})
    assert response.headers["X-Request-Id"] != "<script>alert(1)</script>"
    assert len(response.headers["X-Request-Id"]) == 32


def test_unmatched_paths_use_the_dialect_of_the_covering_router():
    response = make_client("anthropic").get("/x/nothing-here")
    assert response.status_code == 404
    assert response.get_json() == {"type": "error", "error": {"type": "not_found_error", "message": "not found"},
                                   "request_id": response.headers["X-Request-Id"]}


def test_bodies_over_the_limit_are_413_before_the_handler(monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_MAX_BODY_BYTES", "10")
    reset_settings()
    response = make_client("orka").post("/x/echo/a", data=b"x" * 11)
    assert response.status_code == 413
    assert response.get_json() == {"error": {"code": 413, "message": "request body too large"}}


def test_path_arguments_and_json_reach_the_handler():
    response = make_client("orka").post("/x/echo/ab", json={"k": 1})
    assert response.status_code == 201 and response.get_json() == {"name": "ab", "body": {"k": 1}}
    bad = make_client("orka").post("/x/echo/ab", data=b"[1]", content_type="application/json")
    assert bad.get_json() == {"error": {"code": 400, "message": "invalid request body"}}


def test_invalid_is_a_400_with_its_message():
    assert Invalid("x").status == 400


def test_sse_frames_split_multiline_data_and_carry_ids():
    assert frame({"a": 1}, event="status", id=7) == 'id: 7\nevent: status\ndata: {"a":1}\n\n'
    assert frame("line1\nline2") == "data: line1\ndata: line2\n\n"


def test_sse_response_sends_heartbeats_while_the_producer_is_quiet():
    # The producer stays quiet until two heartbeats went out (at most 30 s): a 0.35 s pause against a
    # 0.1 s interval left room for only one when a loaded machine woke the relay late.
    two_sent = threading.Event()

    def slow():
        yield frame("first")
        two_sent.wait(30)
        yield frame("second")

    pieces = []
    for piece in sse_response(slow(), heartbeat_seconds=0.1).response:
        pieces.append(piece)
        if pieces.count(": heartbeat\n\n") >= 2:
            two_sent.set()
    body = "".join(pieces)
    assert body.startswith("data: first\n\n")
    assert body.count(": heartbeat\n\n") >= 2
    assert body.endswith("data: second\n\n")


def test_a_werkzeug_response_from_a_handler_passes_through_unchanged():
    from werkzeug.utils import redirect

    router = Router("/r", dialect="orka")

    @router.route("/go", public=True)
    def go(ctx: RequestContext):
        return redirect("https://example.com/next", code=302)

    api = Api("test", [router])
    app = Flask("t")
    app.add_url_rule("/<path:p>", view_func=lambda p: api.handle(request))
    response = app.test_client().get("/r/go")
    assert response.status_code == 302 and response.headers["Location"] == "https://example.com/next"


def test_a_client_that_goes_away_stops_the_producer():
    closed = threading.Event()
    produced = []

    def endless():
        try:
            n = 0
            while True:
                n += 1
                produced.append(n)
                yield frame(str(n))
                time.sleep(0.01)
        finally:
            closed.set()

    body = iter(sse_response(endless(), heartbeat_seconds=5).response)
    assert next(body) == "data: 1\n\n"
    body.close()  # what the WSGI server does when the client disconnects
    assert closed.wait(30), "the producer kept running after the client left"
    count = len(produced)
    time.sleep(0.1)
    assert len(produced) == count


def test_the_route_map_still_builds_urls_though_its_builders_compile_on_first_use():
    from werkzeug.routing import Map

    from shared.http.api import _MatchRule

    adapter = Map([_MatchRule("/api/v1/tasks/<name>", endpoint=0, methods=["GET"])]).bind("localhost")
    assert adapter.match("/api/v1/tasks/job", method="GET") == (0, {"name": "job"})
    assert adapter.build(0, {"name": "a b"}) == "/api/v1/tasks/a%20b"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "request":
            self.fields.append(record.fields)  # type: ignore[attr-defined]


@pytest.fixture
def request_lines():
    lines = _Lines()
    logger = logging.getLogger("shoal.http")
    logger.addHandler(lines)
    yield lines.fields
    logger.removeHandler(lines)


def _requests_counted(route: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("shoal_http_requests_total", {
        "function": "after", "route": route, "method": "GET", "status": "200"}) or 0.0


@pytest.mark.parametrize("left_early", [False, True])
def test_the_request_is_logged_and_counted_once_its_answer_is_sent(request_lines, left_early):
    """Nothing the client waits for: the line and the metrics come when the server closes the response
    (after a stream's last frame, or when its client left), with the figures taken when it was ready."""
    router = Router("/x")

    @router.route("/stream", public=True)
    def stream(ctx: RequestContext):
        return sse_response(iter([frame("a"), frame("b")]), heartbeat_seconds=None)

    api = Api("after", [router])
    app = Flask("t")
    app.add_url_rule("/<path:p>", view_func=lambda p: api.handle(request))
    before = _requests_counted("/x/stream")
    response = app.test_client().get("/x/stream", headers={"X-Request-Id": "req-after"}, buffered=False)
    body = response.iter_encoded()
    assert next(body) == b"data: a\n\n"
    if not left_early:
        assert list(body) == [b"data: b\n\n"]
    assert request_lines == [] and _requests_counted("/x/stream") == before  # the answer is not sent yet
    response.close()  # what the WSGI server does after the last byte, or when the client went away
    assert request_lines == [{"ts": ANY, "request_id": "req-after", "function": "after", "method": "GET",
                              "route": "/x/stream", "path": "/x/stream", "status": 200, "principal": None,
                              "duration_ms": ANY}]
    assert _requests_counted("/x/stream") == before + 1
