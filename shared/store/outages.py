"""State-backend outages as one error type: `StoreUnavailable`, a 503 with `Retry-After`.

botocore retries transient failures itself (clients.py); what still surfaces after those retries
is an outage, not a bug: the endpoint refuses or drops connections, times out, throttles, or
answers 5xx. Every store call goes through `translated`, so each route renders a 503 in its own
dialect instead of a 500, and no caller mistakes a failed read for a missing record.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from shared.errors import Unavailable
from shared.logs import get_logger

log = get_logger("store")

# Long enough for botocore's own retries to have been worth nothing, short enough for a blip.
RETRY_AFTER_SECONDS = 5
MESSAGE = "state backend unavailable; retry later"

# DynamoDB and S3 codes that mean "slow down" or "not now"; anything else answered with a 5xx too.
THROTTLING_CODES = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "Throttling", "ThrottledException",
    "RequestThrottled", "RequestThrottledException", "RequestLimitExceeded", "TooManyRequestsException",
    "SlowDown", "TransactionInProgressException",
})
SERVER_CODES = frozenset({
    "InternalServerError", "InternalFailure", "InternalError", "ServiceUnavailable",
    "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException",
    "500", "502", "503", "504",
})
# A cancelled transaction names a reason per item; these mean the backend, not a condition, refused.
_TRANSACTION_OUTAGE_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "InternalServerError"})


class StoreUnavailable(Unavailable):
    """The state backend cannot answer right now; the client should retry after `Retry-After`."""

    def __init__(self, message: str = MESSAGE) -> None:
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _client_error_is_outage(response: dict) -> bool:
    code = str(response.get("Error", {}).get("Code") or "")
    if code == "TransactionCanceledException":
        reasons = {r.get("Code") for r in response.get("CancellationReasons") or []}
        # A failed condition decides the write whatever else happened: that is the caller's answer.
        return "ConditionalCheckFailed" not in reasons and bool(reasons & _TRANSACTION_OUTAGE_REASONS)
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
    return code in THROTTLING_CODES or code in SERVER_CODES or int(status) >= 500


def is_outage(exc: BaseException) -> bool:
    """True for a transport failure, a throttle or a 5xx of DynamoDB or S3."""
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(exc, HTTPClientError | BotoConnectionError):  # refused, reset, timed out, TLS
        return True
    return isinstance(exc, ClientError) and _client_error_is_outage(exc.response)


@contextmanager
def translated(operation: str) -> Iterator[None]:
    """Run a store call; an outage leaves it as StoreUnavailable (logged once, with its cause)."""
    try:
        yield
    except StoreUnavailable:
        raise
    except Exception as exc:
        if not is_outage(exc):
            raise
        code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
        log.warning("state backend unavailable", extra={"fields": {
            "operation": operation, "error": type(exc).__name__, "code": code}})
        raise StoreUnavailable() from exc
