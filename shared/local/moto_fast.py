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
