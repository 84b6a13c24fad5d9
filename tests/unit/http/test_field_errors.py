"""shared.http.models.field_invalid: the one translation of a model's validation error, rendered by
every dialect with the field named (issue 21: `spec.timeout: expected a duration like "30m"`)."""

from __future__ import annotations

import re

import pytest
from pydantic import field_validator

from shared.http.common_models import StrictModel
from shared.http.dialects import DIALECTS
from shared.http.models import FieldInvalid, validate


class Spec(StrictModel):
    timeout: str = "30m"
    retries: int = 0

    @field_validator("timeout")
    @classmethod
    def _duration(cls, value: str) -> str:
        if not re.fullmatch(r"\d+[smh]", value):
            raise ValueError('expected a duration like "30m"')
        return value


class Task(StrictModel):
    prompt: str
    spec: Spec = Spec()


def _error(body: dict) -> FieldInvalid:
    with pytest.raises(FieldInvalid) as caught:
        validate(Task, body)
    return caught.value


def test_the_message_names_the_field_path_and_the_problem():
    error = _error({"prompt": "p", "spec": {"timeout": "soon"}})
    assert error.status == 400 and error.message == 'spec.timeout: expected a duration like "30m"'
    assert error.param == "spec.timeout"


def test_unknown_and_missing_fields_are_named():
    assert _error({"promtp": "p"}).message == "prompt: required; promtp: unknown field"
    assert _error({"prompt": "p", "spec": {"retries": 1, "retry": 2}}).message == "spec.retry: unknown field"
    assert _error({"prompt": "p", "spec": {"retries": "x"}}).message == (
        "spec.retries: Input should be a valid integer, unable to parse string as an integer")


def test_every_dialect_renders_the_named_field():
    error = _error({"prompt": "p", "spec": {"timeout": "soon"}})
    message = 'spec.timeout: expected a duration like "30m"'
    assert DIALECTS["orka"].render(error, "r1") == ({"error": {"code": 400, "message": message}}, 400,
                                                    "application/json")
    assert DIALECTS["simple"].body(error, "r1") == {"error": message}
    problem, status, kind = DIALECTS["problem"].render(error, "r1", "/api/v1/incident/analyze")
    assert (problem["detail"], problem["type"], status, kind) == (
        message, "https://kubernaut.ai/problems/bad-request", 400, "application/problem+json")
    assert DIALECTS["openai"].body(error, "r1") == {"error": {
        "message": message, "type": "invalid_request_error", "param": "spec.timeout", "code": None}}
    assert DIALECTS["anthropic"].body(error, "r1") == {"type": "error", "error": {
        "type": "invalid_request_error", "message": message}, "request_id": "r1"}
    # FastAPI answers a model failure with 422 and pydantic's error list (ctx stringified, as FastAPI does).
    assert DIALECTS["fastapi"].render(error, "r1") == ({"detail": [{
        "type": "value_error", "loc": ["body", "spec", "timeout"],
        "msg": 'Value error, expected a duration like "30m"', "input": "soon",
        "ctx": {"error": 'expected a duration like "30m"'}}]}, 422, "application/json")


def test_fastapi_names_the_query_location_and_other_errors_keep_their_status():
    from shared.errors import Invalid
    from shared.http.common_models import QueryModel

    class Query(QueryModel):
        limit: int = 50

    with pytest.raises(FieldInvalid) as caught:
        validate(Query, {"limit": "x"}, where="query")
    body, status, _ = DIALECTS["fastapi"].render(caught.value, "r1")
    assert status == 422 and body["detail"][0]["loc"] == ["query", "limit"]
    assert DIALECTS["fastapi"].render(Invalid("JSON nesting deeper than 64 levels"), "r1")[:2] == (
        {"detail": "JSON nesting deeper than 64 levels"}, 400)
