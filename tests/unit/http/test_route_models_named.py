"""Every route names its models by import path ("shared.tasks.models:TaskCreate"), the one way a route
declares them: a class in a declaration would import its module, and pydantic, when the route module
loads (cold start; tests/unit/test_cold_imports.py checks the effect, this names the route at fault)."""

from __future__ import annotations

import pytest

from shared.http.models import resolve
from shared.http.route_table import FUNCTION_ROUTERS, build_api


@pytest.mark.parametrize("function", sorted(FUNCTION_ROUTERS))
def test_every_route_names_its_models_by_import_path(function):
    named = 0
    for route in build_api(function).routes:
        for model in route.models():
            if model is None:
                continue
            assert isinstance(model,
                              str), f"{function} {route.rule}: {model!r} is named by its class, not its path"
            module, _, attr = model.partition(":")
            assert module and attr, f"{function} {route.rule}: {model!r} is not 'package.module:Name'"
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
    assert (str(caught.value), caught.value.param) == ("namespace: Input should be a valid string",
                                                       "namespace")
