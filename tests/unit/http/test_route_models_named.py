"""Every route names its models by import path ("shared.tasks.models:TaskCreate"), the one way a route
declares them: a class in a declaration would import its module, and pydantic, when the route module
loads (cold start; tests/unit/test_cold_imports.py checks the effect, this names the route at fault)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared.http.api import Route
from shared.http.models import Reply, RequestBody, resolve
from shared.http.route_table import FUNCTION_ROUTERS, build_api


def _replies(reply: Reply) -> Iterator[tuple[str, Any]]:
    for each in (reply, *reply.alternatives):
        yield "reply model", each.model
        yield from (("event " + name, model) for name, model in each.events.items())


def declared(route: Route) -> Iterator[tuple[str, Any]]:
    """(what, model) for every model a route declares; None where it declares none."""
    yield "body", route.body.model if isinstance(route.body, RequestBody) else route.body
    yield "query", route.query
    yield "request_model", route.request_model
    yield "response_model", route.response_model
    for status, spec in route.responses.items():
        if isinstance(spec, Reply):
            yield from ((f"{status} {what}", model) for what, model in _replies(spec))


@pytest.mark.parametrize("function", sorted(FUNCTION_ROUTERS))
def test_every_route_names_its_models_by_import_path(function):
    named = 0
    for route in build_api(function).routes:
        for what, model in declared(route):
            if model is None:
                continue
            assert isinstance(model, str), f"{function} {route.rule}: the {what} is {model!r}, not its import path"
            module, _, attr = model.partition(":")
            assert module and attr, f"{function} {route.rule}: the {what} {model!r} is not 'package.module:Name'"
            if module.startswith("shared."):  # Shoal's own: it loads (a vendor SDK's loads with the document)
                assert resolve(model) is not None
            named += 1
    assert named > 0  # every function declares some (its probes' Liveness at least)


def test_a_named_model_is_loaded_once_and_validates():
    from shared.http.common_models import NamespaceQuery
    from shared.http.models import FieldInvalid, validate

    assert resolve("shared.http.common_models:NamespaceQuery") is NamespaceQuery
    assert resolve(NamespaceQuery) is NamespaceQuery
    assert validate("shared.http.common_models:NamespaceQuery", {"namespace": "a"}).namespace == "a"
    with pytest.raises(FieldInvalid) as caught:
        validate("shared.http.common_models:NamespaceQuery", {"namespace": 5}, where="query")
    assert (str(caught.value), caught.value.param) == ("namespace: Input should be a valid string", "namespace")
