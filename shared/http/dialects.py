"""Error dialects: how each API family renders a ShoalError. One object per dialect."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from shared.errors import ShoalError


class Dialect:
    name = "base"
    content_type = "application/json"

    def body(self, error: ShoalError, request_id: str) -> Any:
        raise NotImplementedError

    def render(self, error: ShoalError, request_id: str, instance: str = "") -> tuple[Any, int, str]:
        """(body, status, content type) for an error; `instance` is the request path."""
        return self.body(error, request_id), error.status, self.content_type


def _message(error: ShoalError, request_id: str) -> str:
    # A 500 never carries str(exc); it names the request id the log line carries.
    if error.status >= 500 and error.code == "internal_error":
        return f"internal server error (request id {request_id})"
    return error.message


class OrkaDialect(Dialect):
    """`{"error":{"code":N,"message":"…"}}` on /api/v1 and /internal/v1."""

    name = "orka"

    def body(self, error: ShoalError, request_id: str) -> Any:
        return {"error": {"code": error.status, "message": _message(error, request_id)}}


PROBLEM_BASE = "https://kubernaut.ai/problems/"
# Shoal's generic error codes → Kubernaut's problem type slugs; other codes are used as slugs verbatim.
_PROBLEM_TYPES = {"invalid_request": "bad-request", "unauthorized": "unauthorized", "forbidden": "forbidden",
                  "not_found": "not-found", "method_not_allowed": "method-not-allowed", "conflict": "conflict",
                  "too_large": "payload-too-large", "rate_limited": "rate-limited",
                  "internal_error": "internal-error", "unavailable": "service-unavailable"}


class ProblemDialect(Dialect):
    """RFC 7807 `application/problem+json` (Kubernaut): type, title, detail, status, instance (+request_id)."""

    name = "problem"
    content_type = "application/problem+json"

    def body(self, error: ShoalError, request_id: str, instance: str = "") -> Any:
        try:
            title = HTTPStatus(error.status).phrase
        except ValueError:
            title = "Error"
        slug = _PROBLEM_TYPES.get(error.code, error.code.replace("_", "-"))
        return {"type": PROBLEM_BASE + slug, "title": title, "detail": _message(error, request_id),
                "status": error.status, "instance": instance, "request_id": request_id}

    def render(self, error: ShoalError, request_id: str, instance: str = "") -> tuple[Any, int, str]:
        return self.body(error, request_id, instance), error.status, self.content_type


# A 405 is the client's mistake (Orka's router answers it as invalid_request_error), not a server fault.
_OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                 404: "not_found_error", 405: "invalid_request_error", 409: "conflict_error",
                 413: "invalid_request_error",
                 429: "rate_limit_error"}


class OpenAIDialect(Dialect):
    """`{"error":{"message","type","param","code"}}`; `param` names the request field at fault when the
    error carries one (shared.compat.common.InvalidField), else null. An error may carry OpenAI's own
    `openai_type`/`openai_code` where its API words that case otherwise (an unknown model's 404 is an
    `invalid_request_error` with code `model_not_found`: shared.compat.common.UnknownModel)."""

    name = "openai"

    def body(self, error: ShoalError, request_id: str) -> Any:
        kind = getattr(error, "openai_type", None) or _OPENAI_TYPES.get(error.status, "server_error")
        return {"error": {"message": _message(error, request_id), "type": kind,
                          "param": getattr(error, "param", None), "code": getattr(error, "openai_code", None)}}


_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                    529: "overloaded_error"}


class AnthropicDialect(Dialect):
    """`{"type":"error","error":{"type","message"},"request_id"}` (the official document's ErrorResponse
    requires `request_id`, as Anthropic's API sends it)."""

    name = "anthropic"

    def body(self, error: ShoalError, request_id: str) -> Any:
        kind = _ANTHROPIC_TYPES.get(error.status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": _message(error, request_id)},
                "request_id": request_id}


class SimpleDialect(Dialect):
    """`{"error":"…"}` (the labrats and operator services)."""

    name = "simple"

    def body(self, error: ShoalError, request_id: str) -> Any:
        return {"error": _message(error, request_id)}


class FastAPIDialect(Dialect):
    """FastAPI's shapes (the operator's LLM service): `{"detail": "…"}`, or for an error carrying
    validation errors (a FieldInvalid's `detail_list`: a body or query that fails the route's model,
    a body that is not JSON) FastAPI's 422 `{"detail": [{"type","loc","msg","input","ctx"?}]}`."""

    name = "fastapi"
    # Starlette's own answers when no route matches: {"detail": "Not Found"} / "Method Not Allowed".
    _ROUTING = {(404, "not found"): "Not Found", (405, "method not allowed"): "Method Not Allowed"}

    def body(self, error: ShoalError, request_id: str) -> Any:
        details = getattr(error, "detail_list", None)
        if details is None:
            details = self._ROUTING.get((error.status, error.message), _message(error, request_id))
        return {"detail": details}

    def render(self, error: ShoalError, request_id: str, instance: str = "") -> tuple[Any, int, str]:
        # FastAPI answers a request that fails its models with 422 (RequestValidationError), not 400.
        status = 422 if getattr(error, "detail_list", None) is not None else error.status
        return self.body(error, request_id), status, self.content_type


DIALECTS: dict[str, Dialect] = {d.name: d for d in (OrkaDialect(), ProblemDialect(), OpenAIDialect(),
                                                     AnthropicDialect(), SimpleDialect(), FastAPIDialect())}
