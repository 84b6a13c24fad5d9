"""moto's per-request work that cannot change its answers, done once instead of on every request.

moto is the one process every function's store calls queue on locally (`make run`, the benches, the
tests' servers), so its CPU per call bounds how fast the platform runs there (docs/performance.md):
- each request lists the public methods of its response class with `inspect.getmembers` (about a
  seventh of moto's CPU per DynamoDB call) to ask whether the action is one of them; a class's
  methods do not change while moto runs, so the answer is kept per class.
- a conditional write's ConditionExpression (and a Query's FilterExpression) is lexed and parsed by
  a hand-written parser in pure Python, twice per PutItem (to validate, then to apply): a third of
  moto's CPU for a conditional PutItem. The result, a tree of stateless operators, depends only on
  the expression and its attribute names and values, so it is kept for those (the store's writes use
  a handful of expressions, with values that repeat: versions, `:now` within a second).
- each answer's request id is 52 characters drawn one `random.choice` at a time (~5% of its CPU).
- each DynamoDB item of an answer is serialised by walking the AttributeValue shape's ten members
  for every attribute, each looked up under several aliases: half of moto's CPU for a GetItem, two
  thirds for a BatchGetItem of two items. An attribute value made of strings, numbers, booleans,
  nulls, lists and maps is already in its wire form, so it is copied as it is; any other (binary
  values, anything unexpected) still takes moto's walk (tests/unit/local/test_moto_fast.py checks
  that both give the same answer).
"""

from __future__ import annotations

import functools
import json
import os
import threading
from typing import Any

PARSED_EXPRESSIONS = 4096  # kept parse results; the cache starts over when full


def install() -> None:
    """Patch moto's response dispatch, condition parsing and request ids (idempotent)."""
    import moto.core.responses as responses

    original = responses.method_names_from_class
    if getattr(original, "_cached", False):
        return

    @functools.cache
    def method_names_from_class(clazz: object) -> frozenset[str]:
        return frozenset(original(clazz))  # only asked `action in names`

    method_names_from_class._cached = True  # type: ignore[attr-defined]
    responses.method_names_from_class = method_names_from_class  # type: ignore[assignment]
    _cache_condition_parses()
    _fast_request_ids()
    _plain_attribute_values()


def _cache_condition_parses() -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser.parse
    parsed: dict[tuple[Any, ...], tuple[Any, list[str], list[str]]] = {}
    lock = threading.Lock()

    def parse(self: ConditionExpressionParser) -> Any:
        key = (self.condition_expression, json.dumps(self.expression_attribute_names, sort_keys=True),
               json.dumps(self.expression_attribute_values, sort_keys=True))
        hit = parsed.get(key)
        if hit is None:  # an invalid expression raises here, every time, as before
            op = original(self)
            hit = (op, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
            with lock:
                if len(parsed) >= PARSED_EXPRESSIONS:
                    parsed.clear()
                parsed[key] = hit
        else:  # what a parse also leaves on the parser: the names and values it used (checked by callers)
            self.expr_attr_names_found.extend(hit[1])
            self.expr_attr_values_found.extend(hit[2])
        return hit[0]

    ConditionExpressionParser.parse = parse  # type: ignore[method-assign]


def _fast_request_ids() -> None:
    import moto.core.responses as responses
    import moto.utilities.aws_headers as aws_headers

    def gen_amzn_requestid_long(headerdict: dict[str, Any] | None = None) -> str:
        request_id = os.urandom(26).hex().upper()  # the same shape: 52 uppercase alphanumerics
        if isinstance(headerdict, dict):
            headerdict["x-amzn-requestid"] = request_id
        return request_id

    aws_headers.gen_amzn_requestid_long = gen_amzn_requestid_long
    responses.gen_amzn_requestid_long = gen_amzn_requestid_long  # imported there by name


_SCALARS = {"S": str, "N": str, "BOOL": bool, "NULL": bool}


def wire_value(value: Any) -> dict | None:
    """The JSON wire form of a DynamoDB AttributeValue as moto holds it, when it has only strings,
    numbers, booleans, nulls, string or number sets, lists and maps; None for any other (moto's own
    serialiser handles those: binary values are base64-encoded on the way out)."""
    if type(value) is not dict or len(value) != 1:
        return None
    ((tag, inner),) = value.items()
    scalar = _SCALARS.get(tag)
    if scalar is not None:
        return {tag: inner} if type(inner) is scalar else None
    if tag in ("SS", "NS"):
        return {tag: list(inner)} if type(inner) is list and all(type(s) is str for s in inner) else None
    if tag == "M" and type(inner) is dict:
        members = {name: wire_value(member) for name, member in inner.items()}
        return None if any(member is None for member in members.values()) else {"M": members}
    if tag == "L" and type(inner) is list:
        items = [wire_value(item) for item in inner]
        return None if any(item is None for item in items) else {"L": items}
    return None


def _plain_attribute_values() -> None:
    from moto.core.serialize import JSONSerializer

    walk = JSONSerializer._serialize_type_structure

    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue" and not getattr(self._value_picker, "response_transformers", None):
            plain = wire_value(value)
            if plain is not None:
                serialized[self.get_serialized_name(shape, key)] = plain
                return
        walk(self, serialized, value, shape, key)

    JSONSerializer._serialize_type_structure = serialize_structure  # type: ignore[method-assign]
