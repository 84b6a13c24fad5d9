"""State-backend outages: one error type (StoreUnavailable, 503 + Retry-After) wherever they surface."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from shared.store import ObjectStore
from shared.store.outages import StoreUnavailable, is_outage
from tests.support.outage import RestartableMoto, closed_port_url


def label(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return response.get("Error", {}).get("Code") or type(exc).__name__


def client_error(code: str, status: int = 400, **extra) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status},
                        **extra}, "GetItem")


@pytest.mark.parametrize("exc", [
    EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    ConnectTimeoutError(endpoint_url="http://127.0.0.1:1"),
    ReadTimeoutError(endpoint_url="http://127.0.0.1:1"),
    ConnectionClosedError(endpoint_url="http://127.0.0.1:1"),
    client_error("ProvisionedThroughputExceededException"),
    client_error("ThrottlingException"),
    client_error("RequestLimitExceeded"),
    client_error("InternalServerError", 500),
    client_error("ServiceUnavailable", 503),
    client_error("SlowDown", 503),
    client_error("503", 503),
    client_error("SomethingNew", 502),
    client_error("TransactionCanceledException", 400,
                 CancellationReasons=[{"Code": "None"}, {"Code": "ThrottlingError"}]),
], ids=label)
def test_transport_failures_throttles_and_5xx_are_outages(exc):
    assert is_outage(exc)


@pytest.mark.parametrize("exc", [
    client_error("ConditionalCheckFailedException"),
    client_error("ResourceNotFoundException"),
    client_error("ValidationException"),
    client_error("NoSuchKey", 404),
    client_error("TransactionCanceledException", 400,
                 CancellationReasons=[{"Code": "ConditionalCheckFailed"}, {"Code": "ThrottlingError"}]),
    ValueError("not botocore"),
], ids=label)
def test_answers_about_the_request_are_not_outages(exc):
    assert not is_outage(exc)


def test_an_unreachable_backend_is_store_unavailable_with_retry_after(monkeypatch):
    from shared.store.clients import reset_clients

    monkeypatch.setenv("AWS_ENDPOINT_URL", closed_port_url())
    reset_clients()
    with pytest.raises(StoreUnavailable) as caught:
        ObjectStore("widget").get("ns", "a")
    assert caught.value.status == 503 and caught.value.headers == {"Retry-After": "5"}
    assert isinstance(caught.value.__cause__, EndpointConnectionError)  # the cause stays for the logs


def test_the_same_cached_client_works_again_when_the_backend_is_back(monkeypatch):
    """No restart and no client reset: the pooled connections to the dead server are not reused."""
    from shared.store.bootstrap import ensure_state
    from shared.store.clients import client, reset_clients

    moto = RestartableMoto().start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto.url)
        reset_clients()
        ensure_state()
        store = ObjectStore("widget")
        store.create("ns", "a", {"n": 1})
        cached = client("dynamodb")
        moto.stop()
        with pytest.raises(StoreUnavailable):
            store.get("ns", "a")
        moto.start()
        assert client("dynamodb") is cached
        assert store.get("ns", "a").doc == {"n": 1}
    finally:
        moto.stop()


def test_a_bare_404_from_the_bucket_endpoint_is_an_outage_not_a_missing_document(aws, monkeypatch):
    """A gateway in front of S3 answering 404 without S3's error document used to read as "no such
    key": the record's document became {} and an owned incident session answered 404."""
    from werkzeug import Response

    from shared.config import reset_settings
    from shared.store.clients import reset_clients
    from tests.support.servers import BackgroundServer

    monkeypatch.setenv("SHOAL_MAX_ITEM_BYTES", "10")  # every document lives in the bucket
    reset_settings()
    store = ObjectStore("widget")
    store.create("ns", "a", {"owner": "me", "pad": "x" * 20})
    with BackgroundServer(lambda environ, start: Response("", status=404)(environ, start)) as gateway:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", gateway.url)
        reset_clients()
        with pytest.raises(StoreUnavailable):
            store.get("ns", "a")


def test_a_document_replaced_between_item_and_bucket_reads_is_read_afresh(aws, monkeypatch):
    """The replace that wins drops the previous version's document: a reader holding the old item
    re-reads the item instead of returning an empty document (by `get` and in a list page)."""
    import shared.store.objects as objects
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_MAX_ITEM_BYTES", "10")  # every document lives in the bucket
    reset_settings()
    store = ObjectStore("widget")
    store.create("ns", "a", {"v": 1, "pad": "x" * 20})
    real_get_blob = objects.get_blob
    version = {"next": 2, "races": 0}

    def racing_get_blob(key):
        if version["races"]:  # this read meets a replace committing between item and bucket reads
            version["races"] -= 1
            store.replace("ns", "a", {"v": version["next"], "pad": "x" * 20}, expected_version=version["next"] - 1)
            version["next"] += 1
        return real_get_blob(key)

    monkeypatch.setattr(objects, "get_blob", racing_get_blob)
    version["races"] = 1
    assert store.get("ns", "a").doc["v"] == 2
    version["races"] = 1
    assert [r.doc["v"] for r in store.list_page("ns", limit=10)[0]] == [3]
