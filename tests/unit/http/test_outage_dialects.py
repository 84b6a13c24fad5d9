"""A state-backend outage is a 503 with Retry-After in every route's dialect: never a 500, never a 404."""

from __future__ import annotations

import json
import uuid

import pytest
from flask import Flask, request

from shared.http import Api, RequestContext, Router
from shared.store import ObjectStore
from tests.conftest import AUTH
from tests.support.outage import closed_port_url

MESSAGE = "state backend unavailable; retry later"


def backend_down(monkeypatch) -> None:
    from shared.store.clients import reset_clients

    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_port_url())
    reset_clients()


def reading_client(dialect: str):
    router = Router("/x", dialect=dialect)

    @router.route("/things/<name>")
    def read(ctx: RequestContext, name: str):
        return ObjectStore("thing").require("ns", name, "thing not found").doc

    api = Api("test", [router], default_dialect=dialect)
    app = Flask("t")
    app.add_url_rule("/<path:p>", view_func=lambda p: api.handle(request))
    return app.test_client()


@pytest.mark.parametrize("dialect,body,content_type", [
    ("orka", {"error": {"code": 503, "message": MESSAGE}}, "application/json"),
    ("problem", {"type": "https://kubernaut.ai/problems/service-unavailable", "title": "Service Unavailable",
                 "detail": MESSAGE, "status": 503, "instance": "/x/things/a", "request_id": "req-1"},
     "application/problem+json"),
    ("openai", {"error": {"message": MESSAGE, "type": "server_error", "param": None, "code": None}},
     "application/json"),
    ("anthropic", {"type": "error", "error": {"type": "api_error", "message": MESSAGE}, "request_id": "req-1"},
     "application/json"),
    ("simple", {"error": MESSAGE}, "application/json"),
    ("fastapi", {"detail": MESSAGE}, "application/json"),
])
def test_every_dialect_answers_503_with_retry_after(monkeypatch, dialect, body, content_type):
    backend_down(monkeypatch)
    response = reading_client(dialect).get("/x/things/a", headers={**AUTH, "X-Request-Id": "req-1"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.content_type == content_type
    assert json.loads(response.data) == body


def test_a_botocore_error_that_escaped_the_store_is_still_a_503():
    """The framework's last line: an outage exception raised outside the guarded client."""
    from botocore.exceptions import EndpointConnectionError

    router = Router("/x", dialect="orka")

    @router.route("/raw", public=True)
    def raw(ctx: RequestContext):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    app = Flask("t")
    api = Api("test", [router])
    app.add_url_rule("/<path:p>", view_func=lambda p: api.handle(request))
    response = app.test_client().get("/x/raw")
    assert (response.status_code, response.headers["Retry-After"]) == (503, "5")


# -- the functions' own routes, one per dialect -------------------------------------------------
@pytest.mark.parametrize("function,path,headers,expected", [
    ("tasks", "/api/v1/tasks", AUTH, {"error": {"code": 503, "message": MESSAGE}}),
    ("jobs", "/api/jobs", AUTH, {"error": MESSAGE}),
    ("analyze", "/analyses", AUTH, {"detail": MESSAGE}),
    ("catalog", "/api/v1/agents/a", AUTH, {"error": {"code": 503, "message": MESSAGE}}),
])
def test_function_routes_answer_503_in_their_dialect(function_client, monkeypatch, function, path, headers,
                                                    expected):
    client = function_client(function)
    backend_down(monkeypatch)
    response = client.get(path, headers=headers)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.get_json() == expected


def test_labrats_api_key_authentication_is_503_not_401_while_the_store_is_down(function_client, monkeypatch):
    client = function_client("jobs")
    backend_down(monkeypatch)
    response = client.get("/api/jobs", headers={"Authorization": "Bearer lrk_not-checkable-now"})
    assert response.status_code == 503 and response.get_json() == {"error": MESSAGE}


def test_an_incident_session_that_cannot_be_read_is_503_not_404(function_client, event_sink, monkeypatch):
    from tests.contract.kubernaut.test_incidents import submit

    incidents = function_client("incidents")
    session_id = submit(incidents).get_json()["session_id"]
    assert incidents.get(f"/api/v1/incident/session/{session_id}", headers=AUTH).status_code == 200
    backend_down(monkeypatch)
    for probe in (session_id, str(uuid.uuid4())):
        response = incidents.get(f"/api/v1/incident/session/{probe}", headers={**AUTH, "X-Request-Id": "req-1"})
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert response.content_type == "application/problem+json"
        assert response.get_json()["type"] == "https://kubernaut.ai/problems/service-unavailable"


def test_an_incident_session_whose_document_the_bucket_cannot_serve_is_503_not_404(function_client, event_sink,
                                                                                    monkeypatch):
    """The reported 404: the session document lived in the bucket, the bucket endpoint answered a bare 404."""
    from werkzeug import Response

    from shared.config import reset_settings
    from shared.store.clients import reset_clients
    from tests.contract.kubernaut.test_incidents import submit
    from tests.support.servers import BackgroundServer

    monkeypatch.setenv("SHOAL_MAX_ITEM_BYTES", "10")
    reset_settings()
    incidents = function_client("incidents")
    session_id = submit(incidents).get_json()["session_id"]
    with BackgroundServer(lambda environ, start: Response("", status=404)(environ, start)) as gateway:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", gateway.url)
        reset_clients()
        response = incidents.get(f"/api/v1/incident/session/{session_id}", headers=AUTH)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"


def test_event_functions_defer_with_503_while_the_store_is_down(monkeypatch):
    from shared.events.consumer import consume

    backend_down(monkeypatch)
    app = Flask("t")
    headers = {"ce-specversion": "1.0", "ce-type": "dev.shoal.task.created", "ce-source": "test",
               "ce-id": "e1", "Content-Type": "application/json"}
    with app.test_request_context("/", method="POST", headers=headers, data=b"{}"):
        response = consume(request, {"*": lambda event: None}, function="probe")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"


def test_a_route_answers_again_when_the_backend_is_back_without_a_restart(function_client, monkeypatch):
    """503 while the backend is down, then the same call on the same app and cached client works."""
    from shared.store.bootstrap import ensure_state
    from shared.store.clients import reset_clients
    from tests.support.outage import RestartableMoto

    tasks = function_client("tasks")
    moto = RestartableMoto().start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto.url)
        reset_clients()
        ensure_state()
        assert tasks.get("/api/v1/tasks", headers=AUTH).status_code == 200
        moto.stop()
        down = tasks.get("/api/v1/tasks", headers=AUTH)
        assert down.status_code == 503 and down.headers["Retry-After"] == "5"
        assert down.get_json() == {"error": {"code": 503, "message": MESSAGE}}
        moto.start()
        assert tasks.get("/api/v1/tasks", headers=AUTH).status_code == 200
    finally:
        moto.stop()
