"""moto_fast's shortcuts leave moto's answers as they were: a kept condition parse is evaluated against
the item as it is now, kept per attribute values, and an invalid or unused-name expression is refused
every time. Through the store's client against the tests' in-process moto (which installs moto_fast)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.store.clients import client, error_code
from shared.store.tables import table_name

pytestmark = pytest.mark.usefixtures("aws")
KEY = {"pk": {"S": "w#ns"}, "sk": {"S": "a"}}


def put(version: int, condition: str, values: dict | None = None, names: dict | None = None) -> str | None:
    """None when written, else the error code (moto in process raises a bare exception for an expression
    it cannot parse: its type's name)."""
    kwargs = {"ConditionExpression": condition}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    if names:
        kwargs["ExpressionAttributeNames"] = names
    try:
        client("dynamodb").put_item(TableName=table_name("objects"), Item={**KEY, "version": {"N": str(version)}},
                                    **kwargs)
    except Exception as exc:
        return error_code(exc) or type(exc).__name__
    return None


def test_a_kept_parse_is_evaluated_against_the_current_item_and_kept_per_values():
    assert put(1, "attribute_not_exists(pk)") is None
    assert put(1, "attribute_not_exists(pk)") == "ConditionalCheckFailedException"  # same expression, item exists
    check = "version = :v"
    assert put(2, check, {":v": {"N": "1"}}) is None
    assert put(3, check, {":v": {"N": "1"}}) == "ConditionalCheckFailedException"  # stored is 2 now
    assert put(3, check, {":v": {"N": "2"}}) is None
    stored = client("dynamodb").get_item(TableName=table_name("objects"), Key=KEY)["Item"]
    assert stored["version"] == {"N": "3"}


def test_bad_expressions_are_refused_every_time():
    refusals = [(put(1, "version = = :v", {":v": {"N": "1"}}),
                 # a name given but not used in the expression: moto checks what the parse found, kept or not
                 put(1, "attribute_not_exists(pk)", names={"#unused": "x"})) for _ in range(2)]
    assert refusals[0] == refusals[1] and None not in refusals[0]
    assert refusals[0][1] == "ValidationException"
    assert put(1, "attribute_not_exists(#k)", names={"#k": "pk"}) is None
    # the kept parse still counts #k as used: refused on the condition, not as an unused name
    assert put(1, "attribute_not_exists(#k)", names={"#k": "pk"}) == "ConditionalCheckFailedException"


def test_request_ids_keep_their_shape():
    meta = client("dynamodb").get_item(TableName=table_name("objects"), Key=KEY)["ResponseMetadata"]
    request_id = meta["RequestId"]
    assert len(request_id) == 52 and request_id.isalnum() and request_id == request_id.upper()
    assert meta["HTTPHeaders"]["x-amzn-requestid"] == request_id


# -- items answered in their wire form (moto_fast.wire_value) ------------------------------------------
_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8)
_scalars = st.one_of(
    st.builds(lambda s: {"S": s}, st.text(max_size=20)),
    st.builds(lambda n: {"N": str(n)}, st.integers(-10**6, 10**6)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda s: {"SS": sorted(s)}, st.sets(st.text(min_size=1, max_size=5), min_size=1, max_size=3)),
    st.builds(lambda s: {"NS": sorted(str(n) for n in s)}, st.sets(st.integers(0, 99), min_size=1, max_size=3)),
    st.builds(lambda b: {"B": b}, st.binary(max_size=8)),  # not plain: moto's own walk base64-encodes it
)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.builds(lambda items: {"L": items}, st.lists(inner, max_size=3)),
    st.builds(lambda members: {"M": members}, st.dictionaries(_names, inner, max_size=3))), max_leaves=8)


def _bodies(result: dict, operation: str) -> tuple[str, str]:
    """The answer's body as serialised with the shortcut and with moto's own walk over the shape."""
    from moto.core.serialize import BaseJSONSerializer, JSONSerializer, XFormedAttributePicker
    from moto.core.utils import get_service_model

    class Walk(JSONSerializer):
        _serialize_type_structure = BaseJSONSerializer._serialize_type_structure

    model = get_service_model("dynamodb").operation_model(operation)
    return tuple(cls(model, value_picker=XFormedAttributePicker()).serialize(result)["body"]
                 for cls in (JSONSerializer, Walk))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(_names, _values, min_size=1, max_size=4))
def test_an_item_in_its_wire_form_is_answered_as_moto_walks_it(item):
    fast, walked = _bodies({"Item": item}, "GetItem")
    assert fast == walked
    fast, walked = _bodies({"Responses": {"t": [item, item]}, "UnprocessedKeys": {}}, "BatchGetItem")
    assert fast == walked


def test_items_of_every_attribute_type_come_back_as_written():
    item = {**KEY, "s": {"S": "x"}, "n": {"N": "1.5"}, "b": {"B": b"\x00\xff"}, "bs": {"BS": [b"a"]},
            "t": {"BOOL": True}, "z": {"NULL": True}, "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]},
            "l": {"L": [{"S": "y"}, {"B": b"c"}]}, "m": {"M": {"k": {"N": "2"}, "e": {"L": []}}}}
    ddb = client("dynamodb")
    ddb.put_item(TableName=table_name("objects"), Item=item)
    assert ddb.get_item(TableName=table_name("objects"), Key=KEY)["Item"] == item
    found = ddb.batch_get_item(RequestItems={table_name("objects"): {"Keys": [KEY]}})["Responses"]
    assert found == {table_name("objects"): [item]}
