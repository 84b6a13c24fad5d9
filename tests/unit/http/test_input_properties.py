"""Properties of the one input path: whatever a client sends as a body, a page token or a path
argument, the answer is never a 5xx (hypothesis generates the inputs)."""

from __future__ import annotations

import base64
import contextlib
import json

import pytest
from flask import Flask, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import Invalid
from shared.http import Api, RequestContext, Router
from shared.http.body import InputLimit, parse_json
from shared.store.cursor import decode_cursor, encode_cursor
from tests.conftest import AUTH

FIXTURES = settings(max_examples=60, deadline=None,  # too_slow: as the profile (tests/conftest.py) says
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=40)


# Tokens that decode to something key-shaped: the forgeries a naive check lets through to the store.
key_shaped = st.fixed_dictionaries(
    {"pk": st.just({"S": "task#default"}) | st.just({"S": "task#ns"}) | json_values,
     "sk": json_values | st.dictionaries(st.sampled_from(["S", "N", "B"]), json_values, min_size=1, max_size=2)},
    optional={"order": json_values})
page_tokens = (st.text(max_size=200)
               | st.binary(max_size=150).map(lambda b: base64.urlsafe_b64encode(b).decode())
               | (json_values | key_shaped).map(
                   lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode().rstrip("=")))


def depth_of(value) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_the_parser_answers_a_value_or_a_400_for_any_bytes(raw):
    with contextlib.suppress(ValueError, InputLimit):
        parse_json(raw)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=3000), st.sampled_from(["[", '{"k":']))
def test_any_nesting_is_accepted_up_to_64_and_refused_beyond(depth, opener):
    closer = "]" if opener == "[" else "}"
    raw = opener * depth + "1" + closer * depth
    if depth <= 64:
        assert depth_of(parse_json(raw)) == depth
    else:
        with pytest.raises(InputLimit, match="JSON nesting deeper than 64 levels"):
            parse_json(raw)


@settings(max_examples=100, deadline=None)
@given(json_values, st.integers(min_value=1, max_value=6), st.integers(min_value=1, max_value=6),
       st.integers(min_value=1, max_value=12))
def test_any_value_within_the_limits_round_trips_and_any_other_is_refused(value, depth, items, chars):
    import os

    from shared.config import reset_settings

    os.environ.update(SHOAL_MAX_JSON_DEPTH=str(depth), SHOAL_MAX_JSON_ITEMS=str(items),
                      SHOAL_MAX_JSON_STRING_CHARS=str(chars))
    reset_settings()
    try:
        def within(v, level=0) -> bool:
            if isinstance(v, str):
                return len(v) <= chars
            if isinstance(v, list | dict):
                children = list(v.values()) + list(v) if isinstance(v, dict) else v
                return level < depth and len(v) <= items and all(
                    within(c, level + 1) if isinstance(c, list | dict) else within(c) for c in children)
            return True

        raw = json.dumps(value)
        if within(value):
            assert parse_json(raw) == value
        else:
            with pytest.raises(InputLimit):
                parse_json(raw)
    finally:
        for key in ("SHOAL_MAX_JSON_DEPTH", "SHOAL_MAX_JSON_ITEMS", "SHOAL_MAX_JSON_STRING_CHARS"):
            os.environ.pop(key, None)
        reset_settings()


@settings(max_examples=150, deadline=None)
@given(page_tokens)
def test_any_page_token_decodes_to_a_key_of_this_list_or_is_a_400(raw):
    try:
        key = decode_cursor(raw, expect_pk="task#ns")
    except Invalid:
        return
    assert key is None or (sorted(key) == ["pk", "sk"] and key["pk"] == {"S": "task#ns"}
                           and list(key["sk"]) == ["S"] and isinstance(key["sk"]["S"], str) and key["sk"]["S"])


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_every_key_we_issue_decodes_back(sort_key):
    key = {"pk": {"S": "task#ns"}, "sk": {"S": sort_key}}
    if len(sort_key.encode("utf-8", "surrogatepass")) <= 1024 and not any(0xD800 <= ord(c) <= 0xDFFF for c in sort_key):
        assert decode_cursor(encode_cursor(key), expect_pk="task#ns") == key


def pipeline():
    router = Router("/x", dialect="orka")

    @router.route("/things/<name>", ["POST"], public=True)
    def thing(ctx: RequestContext, name: str):
        return {"name": name, "body": ctx.json(allow_empty=True)}

    api = Api("test", [router])
    app = Flask("t")
    app.add_url_rule("/<path:p>", view_func=lambda p: api.handle(request), methods=["POST"])
    return app.test_client()


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=300).filter(lambda s: "/" not in s), st.binary(max_size=200))
def test_any_path_argument_and_body_is_answered_below_500(segment, body):
    from urllib.parse import quote

    response = pipeline().post("/x/things/" + quote(segment, safe=""), data=body,
                               content_type="application/json")
    assert response.status_code < 500, response.data


@FIXTURES
@given(cursor=page_tokens, name=st.text(min_size=1, max_size=300).filter(lambda s: s not in (".", "..")))
def test_a_real_function_answers_any_cursor_and_task_name_below_500(function_client, cursor, name):
    from urllib.parse import quote

    tasks = function_client("tasks")
    listed = tasks.get("/api/v1/tasks", query_string={"continue": cursor}, headers=AUTH)
    assert listed.status_code < 500, listed.data
    got = tasks.get("/api/v1/tasks/" + quote(name, safe=""), headers=AUTH)
    assert got.status_code < 500, got.data
