"""Quantities parse as Kubernetes' resource.Quantity does; what it refuses is refused here."""

from decimal import Decimal

import pytest

from shared.kube_resources import BadResources, check_resources, parse_quantity


@pytest.mark.parametrize("text,value", [("500m", Decimal("0.5")), ("2", 2), ("1Gi", 2**30), ("1.5Ki", 1536),
                                        ("1e3", 1000), ("128M", 128 * 10**6), (".5", Decimal("0.5")), (3, 3)])
def test_quantities(text, value):
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "two", "1GB", "1 Gi", "Gi", True, None, [1], "1e999999999999"])
def test_not_quantities(text):
    with pytest.raises(ValueError, match="must be a quantity"):
        parse_quantity(text)


def test_requirements_keep_their_quantities_and_compare_request_to_limit():
    assert check_resources({"requests": {"cpu": "250m", "nvidia.com/gpu": 1}, "limits": {"cpu": "1"}}) == {
        "requests": {"cpu": "250m", "nvidia.com/gpu": "1"}, "limits": {"cpu": "1"}}
    with pytest.raises(BadResources) as caught:
        check_resources({"requests": {"memory": "2Gi"}, "limits": {"memory": "2000Mi"}})
    assert (caught.value.field, caught.value.reason) == ("requests.memory", "must be less than or equal to limits.memory")
    with pytest.raises(BadResources, match="must not be negative"):
        check_resources({"limits": {"cpu": "-1"}})
