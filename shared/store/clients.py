"""boto3 clients, created lazily once per process.

`shared.store` is the only package that imports boto3. Endpoints come from boto3's own
`AWS_ENDPOINT_URL`/`AWS_ENDPOINT_URL_DYNAMODB`/`AWS_ENDPOINT_URL_S3`, so the same code runs against
moto, DynamoDB Local or AWS without branches.

Every API operation of a client raises `StoreUnavailable` for an outage (shared.store.outages), so
callers never see a botocore transport error. A cached client keeps no dead connection: urllib3
drops a pooled connection the backend closed and dials again, so the same client works as soon as
the backend is back (tests/unit/store/test_outages.py restarts the backend under one client).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from shared.config import get_settings
from shared.store.outages import translated


class GuardedClient:
    """A boto3 client whose API operations translate outages; everything else is the client's own."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._operations = frozenset(raw.meta.method_to_api_mapping)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._raw, name)
        if name not in self._operations:  # meta, exceptions, waiters, paginators
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            with translated(name):
                return attr(*args, **kwargs)

        # Kept: __getattr__ runs only for names the instance lacks, so the next call finds the wrapper
        # as an attribute (no lookup, no functools.wraps per store call).
        setattr(self, name, call)
        return call


MAX_POOL_CONNECTIONS = 32
_lock = threading.Lock()
_clients: dict[str, Any] = {}
_session: Any = None  # see session()


def client(service: str) -> Any:
    """A cached boto3 client for `service` ("dynamodb" or "s3")."""
    found = _clients.get(service)
    if found is not None:
        return found
    with _lock:
        if service not in _clients:
            from botocore.config import Config  # lazy (and boto3 in session()): ~200 ms /healthz never needs

            # Checksums only where the API requires them (as before botocore 1.36): many S3-compatible
            # stores refuse the newer default's aws-chunked trailers, and computing them in Python costs
            # seconds on a 100 MB upload. TLS and S3's own MD5 on required operations still guard the data.
            # A function serves up to THREADS (16) requests at once; beyond max_pool_connections (botocore's
            # default: 10) urllib3 dials a connection per call and drops it afterwards instead of keeping it.
            # No client-side parameter validation: only shared.store builds these calls' parameters, and
            # DynamoDB and S3 validate every request themselves. It walked each request's shapes on every
            # call (15 µs for a GetItem, 32 µs for a BatchGetItem of two keys: docs/performance.md, "One
            # read, its floor"). moto checks less than AWS, so the tests put it back as an event hook
            # (tests/support/store_validation.py): a malformed call of ours still fails in the tests.
            config = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5, read_timeout=30,
                            max_pool_connections=MAX_POOL_CONNECTIONS, parameter_validation=False,
                            s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                            response_checksum_validation="when_required")
            _clients[service] = GuardedClient(session().client(service, region_name=get_settings().aws_region,
                                                               config=config))
        return _clients[service]


def session() -> Any:
    """The process's boto3 session, which every store client comes from: its loader caches the
    service models (and handlers registered on its events reach every client created afterwards)."""
    global _session
    if _session is None:
        import boto3

        _session = boto3.session.Session()
    return _session


def reset_clients() -> None:
    """Drop cached clients (tests start a fresh moto per test); the session and its model cache stay."""
    with _lock:
        _clients.clear()


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None
