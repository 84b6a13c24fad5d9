"""Input hardening in one place: JSON limits, page tokens, stream positions and path arguments are a
400 naming what was wrong, in the route's dialect, never a 5xx (docs/reliability.md "Input limits")."""

from __future__ import annotations

import base64
import json

import pytest
from flask import Flask, request

from shared.errors import Invalid
from shared.http import Api, RequestContext, Router
from shared.http.body import InputLimit, parse_json
from shared.store.cursor import decode_cursor
from tests.conftest import AUTH

DEEP = b"[" * 10_000 + b"]" * 10_000
TOO_DEEP = "JSON nesting deeper than 64 levels"
JSON = {**AUTH, "Content-Type": "application/json"}


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def token(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def pipeline_client(dialect: str):
    router = Router("/x", dialect=dialect)

    @router.route("/echo/<name>", ["POST"], public=True)
    def echo(ctx: RequestContext, name: str):
        return {"name": name, "body": ctx.json(allow_empty=True)}

    api = Api("test", [router], default_dialect=dialect)
    app = Flask("t")
    app.add_url_rule("/<path:p>", view_func=lambda p: api.handle(request), methods=["POST"])
    return app.test_client()


# -- the parser ------------------------------------------------------------------------------------
def test_nesting_is_capped_at_64_levels():
    assert parse_json(nested(64)) is not None
    with pytest.raises(InputLimit, match=TOO_DEEP):
        parse_json(nested(65))
    with pytest.raises(InputLimit, match=TOO_DEEP):
        parse_json(DEEP)  # json's own RecursionError never escapes
    with pytest.raises(InputLimit, match=TOO_DEEP):
        parse_json(b'{"a":' * 65 + b"1" + b"}" * 65)


def test_brackets_inside_strings_are_not_nesting():
    assert parse_json(json.dumps({"code": "[" * 500})) == {"code": "[" * 500}


def test_array_object_and_string_sizes_are_capped(monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_MAX_JSON_ITEMS", "3")
    monkeypatch.setenv("SHOAL_MAX_JSON_STRING_CHARS", "5")
    reset_settings()
    assert parse_json(b'[1,2,"abcde"]') == [1, 2, "abcde"]
    with pytest.raises(InputLimit, match="JSON array longer than 3 items"):
        parse_json(b"[[1,2,3,4]]")
    with pytest.raises(InputLimit, match="JSON object with more than 3 members"):
        parse_json(b'{"a":1,"b":2,"c":3,"d":4}')
    with pytest.raises(InputLimit, match="JSON string longer than 5 characters"):
        parse_json(b'{"k":["abcdef"]}')
    with pytest.raises(InputLimit, match="JSON string longer than 5 characters"):
        parse_json(b'{"abcdef":1}')  # keys too
    with pytest.raises(InputLimit, match="JSON string longer than 5 characters"):
        parse_json(b'"abcdef"')


def test_not_json_stays_a_value_error_for_the_route_to_word():
    for raw in (b"{", b"\xff\xfe", b"nope"):
        with pytest.raises(ValueError):
            parse_json(raw)


# -- every dialect, the pipeline and the functions' own routes -------------------------------------
@pytest.mark.parametrize("dialect,body", [
    ("orka", {"error": {"code": 400, "message": TOO_DEEP}}),
    ("openai", {"error": {"message": TOO_DEEP, "type": "invalid_request_error", "param": None, "code": None}}),
    ("simple", {"error": TOO_DEEP}),
    ("fastapi", {"detail": TOO_DEEP}),
])
def test_deep_json_is_a_400_in_the_routes_dialect(dialect, body):
    response = pipeline_client(dialect).post("/x/echo/a", data=DEEP, content_type="application/json")
    assert response.status_code == 400 and response.get_json() == body


@pytest.mark.parametrize("function,path,expected", [
    ("tasks", "/api/v1/tasks", {"error": {"code": 400, "message": TOO_DEEP}}),
    ("jobs", "/api/jobs/submit", {"error": TOO_DEEP}),
    ("compat", "/openai/v1/chat/completions",
     {"error": {"message": TOO_DEEP, "type": "invalid_request_error", "param": None, "code": None}}),
    ("compat", "/anthropic/v1/messages",
     {"type": "error", "error": {"type": "invalid_request_error", "message": TOO_DEEP}, "request_id": "req-1"}),
    ("analyze", "/analyze", {"detail": TOO_DEEP}),
    ("incidents", "/api/v1/incident/analyze",
     {"type": "https://kubernaut.ai/problems/bad-request", "title": "Bad Request", "detail": TOO_DEEP,
      "status": 400, "instance": "/api/v1/incident/analyze", "request_id": "req-1"}),
])
def test_deep_json_on_every_json_route_family(function_client, function, path, expected):
    response = function_client(function).post(path, data=DEEP, headers={**JSON, "X-Request-Id": "req-1"})
    assert response.status_code == 400
    assert json.loads(response.data) == expected


# -- page tokens and stream positions ---------------------------------------------------------------
FORGED = [
    "%%%", "é" * 10, "a" * 10_001, "abcde",                       # not base64, too long, truncated
    token([1]), token({"pk": 1, "sk": 2}),                        # not a key
    token({"pk": {"S": "task#default"}, "sk": 5}),                # a value that is not an attribute
    token({"pk": {"S": "task#default"}, "sk": {"S": ""}}),        # an empty key DynamoDB refuses
    token({"pk": {"S": "task#default"}, "sk": {"N": "1"}}),       # the wrong type
    token({"pk": {"S": "task#default"}, "sk": {"S": "a"}, "x": {"S": "b"}}),  # an attribute too many
    token({"pk": {"S": "task#default"}, "sk": {"S": "a" * 1025}}),  # over DynamoDB's key limit
    token({"pk": {"S": "task#default"}, "sk": {"S": "\ud800"}}),  # not encodable
]


@pytest.mark.parametrize("forged", FORGED)
def test_forged_or_truncated_continue_tokens_are_400(function_client, forged):
    response = function_client("tasks").get("/api/v1/tasks", query_string={"continue": forged}, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": 400, "message": "invalid continue token"}}


def test_a_cursor_parameter_is_named_as_such(function_client):
    security = function_client("security")
    for forged in FORGED[:6]:
        response = security.get("/api/v1/monitors/repositories", query_string={"cursor": forged}, headers=AUTH)
        assert response.get_json() == {"error": {"code": 400, "message": "invalid cursor token"}}, forged
    for bad in ("²", "9" * 50, "-1", "1.5"):
        response = security.get("/api/v1/monitors/events", query_string={"name": "repo", "cursor": bad},
                                headers=AUTH)
        assert response.get_json() == {"error": {"code": 400, "message": "invalid cursor token"}}, bad


def test_an_ordered_list_needs_its_order_attribute():
    with pytest.raises(Invalid):
        decode_cursor(token({"pk": {"S": "m#ns"}, "sk": {"S": "a"}}), expect_pk="m#ns",
                      attributes=("pk", "sk", "order"))
    assert decode_cursor(token({"pk": {"S": "m#ns"}, "sk": {"S": "a"}, "order": {"S": "o"}}), expect_pk="m#ns",
                         attributes=("pk", "sk", "order"))


def test_labrats_pages_are_bounded(function_client):
    jobs = function_client("jobs")
    assert jobs.get("/api/jobs", query_string={"page": "1000"}, headers=AUTH).status_code == 200
    response = jobs.get("/api/jobs", query_string={"page": "1001"}, headers=AUTH)
    assert response.status_code == 400 and response.get_json() == {"error": "page must be at most 1000"}
    response = jobs.get("/api/jobs", query_string={"page": "9" * 5000}, headers=AUTH)
    assert response.get_json() == {"error": "page must be an integer"}


@pytest.mark.parametrize("value", ["²", "9" * 19])
def test_stream_positions_are_ascii_digits_that_fit(function_client, value):
    tasks = function_client("tasks")
    tasks.post("/api/v1/tasks", json={"name": "s", "type": "container", "image": "busybox"}, headers=AUTH)
    response = tasks.get("/api/v1/tasks/s/stream", headers={**AUTH, "Last-Event-ID": value})
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": 400, "message": f"invalid Last-Event-ID: {value}"}}


# -- path arguments ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path,message", [
    ("/api/v1/tasks/a%00b", "path parameter name contains a control character"),
    ("/api/v1/tasks/a%01b", "path parameter name contains a control character"),
    ("/api/v1/tasks/a%7Fb", "path parameter name contains a control character"),
    ("/api/v1/tasks/a%C2%85b", "path parameter name contains a control character"),  # U+0085 (C1)
    ("/api/v1/tasks/" + "a" * 257, "path parameter name is longer than 256 bytes"),
])
def test_control_characters_and_oversized_path_arguments_are_400(function_client, path, message):
    response = function_client("tasks").get(path, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": 400, "message": message}}


def test_path_checks_speak_the_routes_dialect(function_client):
    response = function_client("memory").get("/api/v1/memories/a%00b", headers={**AUTH, "X-Request-Id": "r"})
    assert response.status_code == 400 and response.content_type == "application/json"
    assert response.get_json() == {"error": {"code": 400, "message": "path parameter memory_id contains a control character"}}


def test_a_route_may_answer_a_malformed_path_argument_as_an_unknown_record(function_client):
    # Kubernaut's document declares no 400 on the session routes: a malformed id is the unknown-session 404.
    response = function_client("incidents").get("/api/v1/incident/session/a%00b", headers={**AUTH,
                                                                                            "X-Request-Id": "r"})
    assert response.status_code == 404 and response.content_type == "application/problem+json"
    assert response.get_json()["detail"] == "session not found"


def test_route_modules_parse_request_json_only_through_shared_http_body():
    """A new route cannot bypass the limits by calling json.loads on the request body itself."""
    import ast
    from pathlib import Path

    from shared.http.route_table import FUNCTION_ROUTERS

    root = Path(__file__).resolve().parents[3]
    modules = {p.split(":")[0] for paths in FUNCTION_ROUTERS.values() for p in paths} | {"shared.github.deliveries"}
    offenders = []
    for module in sorted(modules):
        tree = ast.parse((root / (module.replace(".", "/") + ".py")).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("json.loads", "json.load", "loads"):
                argument = ast.unparse(node.args[0]) if node.args else ""
                if any(word in argument for word in ("raw", "get_data", "request", "body", "text")):
                    offenders.append(f"{module}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []
