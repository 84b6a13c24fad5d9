"""`make run` asks for /openapi.json once after its banner, so the first /docs a user opens does not wait
for the meta function to build the document (the vendors' SDK types and pydantic's schemas)."""

from __future__ import annotations

from shared.local.platform import _warm_document
from tests.support.servers import BackgroundServer, refusing_port


def test_the_document_is_asked_for_once():
    asked = []

    def app(environ, start_response):
        asked.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    with BackgroundServer(app) as server:
        _warm_document(server.url)
    assert asked == [("GET", "/openapi.json")]


def test_a_platform_that_does_not_answer_is_left_alone():
    with refusing_port() as port:
        _warm_document(f"http://127.0.0.1:{port}")  # no exception: the user's own request shows the failure
