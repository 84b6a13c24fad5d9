"""The one error vocabulary. Code raises these anywhere; each HTTP dialect renders them."""

from __future__ import annotations


class ShoalError(Exception):
    """An error with an HTTP status and a client-safe message."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.headers = headers or {}


class Invalid(ShoalError):
    status = 400
    code = "invalid_request"


class Unauthorized(ShoalError):
    status = 401
    code = "unauthorized"


class Forbidden(ShoalError):
    status = 403
    code = "forbidden"


class NotFound(ShoalError):
    status = 404
    code = "not_found"


class MethodNotAllowed(ShoalError):
    status = 405
    code = "method_not_allowed"


class Conflict(ShoalError):
    status = 409
    code = "conflict"


class TooLarge(ShoalError):
    status = 413
    code = "too_large"


class TooManyRequests(ShoalError):
    status = 429
    code = "rate_limited"


class NotImplementedYet(ShoalError):
    status = 501
    code = "not_implemented"


class Unavailable(ShoalError):
    status = 503
    code = "unavailable"


class UpstreamError(ShoalError):
    status = 502
    code = "upstream_error"


class NotReady(Exception):
    """A readiness check's failure whose message is safe to show (it names what is down and why)."""
