"""One request pipeline for every HTTP function: match, authenticate, run, render.

`Api.handle(request)` processes a request in this order:
1. assign a request id (the caller's `X-Request-Id` when sane, else a new one);
2. match method and path with a werkzeug Map; no match becomes a 404/405 in the dialect of the
   router whose prefix covers the path; a path argument with a control character or over the
   length limit is a 400 (shared.http.params.check_path_args);
3. refuse bodies over the configured limit (413);
4. resolve the principal unless the route is public (401 in the route's dialect), then check the
   route's permission (declared, or derived from path and method) in the namespace the request
   names (403 in the route's dialect); handlers re-check through `resolve_namespace`;
5. call the handler with a RequestContext and the path arguments;
6. turn its return value (dict/list, (body, status), Response, None) into a response;
7. render any ShoalError in the route's dialect (a state-backend outage is the store's
   StoreUnavailable: 503 with Retry-After); log any other exception with its traceback and answer
   500 in the dialect with the request id;
8. on the Orka, OpenAI and Anthropic routes, answer a CORS preflight from an allowed origin before
   step 2 and add the CORS headers to every answer to one (shared.http.cors);
9. log one JSON line and record the request's metrics (route, method, status, latency), once the
   answer is sent (when the server closes the response), with the figures of the moment it was ready.

GET /metrics answers this process's Prometheus metrics before any of this, in every function. With
tracing on (shared.observability.tracing), each request is a server span, child of its `traceparent`.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Request, Response
from werkzeug.exceptions import MethodNotAllowed as _WMethodNotAllowed
from werkzeug.exceptions import NotFound as _WNotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response as BaseResponse

from shared.auth import authorization, txn
from shared.auth.namespaces import check_route, resolve_namespace
from shared.auth.principal import Principal
from shared.auth.resolver import authenticate
from shared.config import get_settings
from shared.errors import Invalid, MethodNotAllowed, NotFound, ShoalError, TooLarge
from shared.http import cors
from shared.http.body import parse_json
from shared.http.dialects import DIALECTS, Dialect
from shared.http.models import FieldInvalid, Header, Reply, RequestBody, declared, not_json, validate
from shared.http.params import check_path_args
from shared.logs import get_logger
from shared.observability import metrics, tracing
from shared.observability.metrics import METRICS_PATH
from shared.store.outages import StoreUnavailable, is_outage

if TYPE_CHECKING:  # a route names its models by import path: pydantic loads with the first validation
    from pydantic import BaseModel

log = get_logger("http")
PROBES = ("/healthz", "/readyz")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass
class RequestContext:
    """What a handler gets besides its path arguments."""

    request: Request
    request_id: str
    principal: Principal | None = None
    route: Route | None = None

    def json(self, *, allow_empty: bool = False, message: str = "invalid request body") -> Any:
        """The JSON body; a FieldInvalid(message) when it is not JSON (or absent, unless allow_empty),
        carrying FastAPI's detail for that dialect, and a 400 naming the limit when it is beyond one
        (shared.http.body)."""
        raw = self.request.get_data(cache=True)
        if not raw.strip():
            if allow_empty:
                return None
            raise not_json(message)
        try:
            return parse_json(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise not_json(message, exc) from None

    def body(self, *, allow_empty: bool = False, message: str = "invalid request body") -> Any:
        """The JSON body validated by the route's `body=` model (an absent body is `{}` when
        allow_empty): a FieldInvalid naming the field when it does not fit (shared.http.models)."""
        assert self.route is not None and self.route.body is not None and \
            not isinstance(self.route.body, RequestBody), "route declares no body model"
        return validate(self.route.body, self.json_object(allow_empty=allow_empty, message=message))

    def query(self) -> Any:
        """The query parameters validated by the route's `query=` model (first value of each)."""
        assert self.route is not None and self.route.query is not None, "route declares no query model"
        return validate(self.route.query, self.request.args.to_dict(), where="query")

    def json_object(self, **kwargs: Any) -> dict:
        body = self.json(**kwargs)
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise FieldInvalid(kwargs.get("message", "invalid request body"), param=None, detail_list=[
                {"type": "model_attributes_type", "loc": ["body"], "input": body,
                 "msg": "Input should be a valid dictionary or object to extract fields from"}])
        return body

    @property
    def args(self) -> Any:
        return self.request.args

    def require_principal(self) -> Principal:
        assert self.principal is not None, "route is public"
        return self.principal

    def namespace(self, explicit: str | None = None, *, query: bool = True) -> str:
        """The namespace the request acts in, checked for the route's permission: `explicit` (e.g. a
        body field), else `?namespace=` (unless the dialect has none: `query=False`), else the
        principal's own or the default (`shared.auth.namespaces.resolve_namespace`)."""
        return resolve_namespace(self.require_principal(),
                                 explicit or (self.args.get("namespace") if query else None) or None)


Handler = Callable[..., Any]


@dataclass
class Route:
    rule: str
    methods: tuple[str, ...]
    handler: Handler
    public: bool = False
    summary: str = ""
    dialect: str | None = None
    streaming: bool = False
    # status -> description, or a Reply with its model and media type (shared.http.models).
    responses: dict[int, str | Reply] = field(default_factory=dict)
    # A dialect's own authenticator (headers -> Principal); None = the shared resolver.
    authenticator: Callable[..., Principal] | None = None
    # A route's own body limit (e.g. uploads); None = SHOAL_MAX_BODY_BYTES.
    max_body_bytes: int | None = None
    # None = derived from path and method; ("tasks", "create"); or authorization.AUTHENTICATED / WORKER.
    permission: Any = None
    # A status whose error body a client's document declares with another media type than the
    # dialect's (e.g. Kubernaut's /stream 404 is application/json, not application/problem+json).
    error_media_types: dict[int, str] = field(default_factory=dict)
    # Types of the JSON request and 200 response, for /openapi.json only (handlers validate): a model's
    # import path, or a "package.module:name" naming any type (e.g. a list of models).
    request_model: Any = None
    response_model: Any = None
    # The error for a malformed path argument (control character, over the limit) when it is not the
    # 400: a route whose argument names a record answers it like an unknown one (its client's
    # document declares 404, not 400).
    malformed_path: Callable[[], ShoalError] | None = None
    # The pydantic models the handler validates with (ctx.body() / ctx.query()), named by import path
    # ("shared.tasks.models:TaskCreate", loaded at first use: shared.http.models.resolve), and the
    # request headers it reads: the OpenAPI document is generated from these.
    body: type[BaseModel] | str | RequestBody | None = None
    query: type[BaseModel] | str | None = None
    headers: tuple[Header, ...] = ()

    def models(self) -> list[Any]:
        """Every model the route declares (shared.http.models.declared), None where it declares none."""
        return declared(self.body, self.query, self.request_model, self.response_model, self.responses)


class Router:
    """A group of routes sharing a path prefix and an error dialect."""

    def __init__(self, prefix: str = "", *, dialect: str = "orka", tag: str = "",
                 authenticator: Callable[..., Principal] | None = None) -> None:
        self.prefix = prefix.rstrip("/")
        self.dialect = dialect
        self.tag = tag
        self.authenticator = authenticator
        self.routes: list[Route] = []

    def route(self, rule: str, methods: Iterable[str] = ("GET",), *, public: bool = False, summary: str = "",
              streaming: bool = False, responses: dict[int, str | Reply] | None = None,
              max_body_bytes: int | None = None, permission: Any = None,
              error_media_types: dict[int, str] | None = None, request_model: Any = None,
              response_model: Any = None,
              malformed_path: Callable[[], ShoalError] | None = None,
              body: type[BaseModel] | str | RequestBody | None = None,
              query: type[BaseModel] | str | None = None,
              headers: Iterable[Header] = ()) -> Callable[[Handler], Handler]:
        """Register a handler; registration only records, it never wraps or runs anything.

        `permission`: what a caller needs, e.g. ("tasks", "create"); omitted, it is derived from the
        path and method (see shared.auth.authorization.derive_permission). `body`/`query`: the
        models the handler reads through ctx.body()/ctx.query(); `responses`: per status a description
        or a Reply (model, media type, SSE events) — all documented in /openapi.json.
        """

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(self.prefix + rule, tuple(m.upper() for m in methods), handler, public,
                                     summary or (handler.__doc__ or "").strip().split("\n")[0], self.dialect,
                                     streaming, responses or {}, self.authenticator, max_body_bytes, permission,
                                     error_media_types or {}, request_model, response_model, malformed_path,
                                     body, query, tuple(headers)))
            return handler

        return register


class _MatchRule(Rule):
    """A werkzeug Rule whose URL builders are compiled on first use, not at construction.

    werkzeug compiles two builders per rule (an ast and `compile()` each) when the Map is built; an
    Api only matches paths, so at a cold start that was most of the cost of building its Map.
    """

    def _compile_builder(self, append_unknown: bool = True) -> Any:
        def build(rule: Rule, *args: Any, **kwargs: Any) -> Any:
            return Rule._compile_builder(rule, append_unknown).__get__(rule, None)(*args, **kwargs)

        return build


class Api:
    """The routers of one function, frozen into a werkzeug Map at construction."""

    def __init__(self, name: str, routers: Iterable[Router], *, default_dialect: str = "orka") -> None:
        self.name = name
        self.routers = list(routers)
        self.default_dialect = default_dialect
        self.routes: list[Route] = [r for router in self.routers for r in router.routes]
        # Per (route, method): resolved once here, so a bad declaration fails at start, not per request.
        self._permissions = {(i, m): authorization.route_permission(r.permission, r.rule, m)
                             for i, r in enumerate(self.routes) for m in r.methods if not r.public}
        # merge_slashes off: werkzeug would answer `//` in a path with a redirect, which is no route's answer.
        self._map = Map([_MatchRule(r.rule, methods=list(r.methods), endpoint=i, strict_slashes=False)
                         for i, r in enumerate(self.routes)], merge_slashes=False)

    def _dialect_for_path(self, path: str) -> Dialect:
        best = None
        for router in self.routers:
            if router.prefix and (path == router.prefix or path.startswith(router.prefix + "/")) and (
                    best is None or len(router.prefix) > len(best.prefix)):
                best = router
        return DIALECTS[best.dialect if best else self.default_dialect]

    def handle(self, request: Request) -> Response:
        if request.path == METRICS_PATH and request.method in ("GET", "HEAD"):
            return metrics_response()  # every function's, public like the probes (the PodMonitor scrapes it)
        # A server span, child of the caller's traceparent (a no-op unless OTEL_* turns tracing on).
        with tracing.span(f"{self.name} {request.method}", kind="server",
                          parent=request.headers.get("traceparent")) as current:
            return self._handle(request, current)

    def _handle(self, request: Request, current_span: Any) -> Response:
        started = time.perf_counter()
        incoming = request.headers.get("X-Request-Id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        ctx = RequestContext(request=request, request_id=request_id)
        route: Route | None = None
        dialect = self._dialect_for_path(request.path)
        origin = cors.allow_origin(request.headers.get("Origin")) if dialect.name in cors.DIALECTS else None
        try:
            adapter = self._map.bind("localhost", path_info=request.path, url_scheme="http")
            if origin and cors.is_preflight(request.method, request.headers):
                methods = adapter.allowed_methods()
                if methods:  # an existing route: the browser may go on
                    response = Response(status=204, headers=cors.preflight_headers(origin, methods))
                    return self._finish(response, ctx, route, request, started, current_span)
            try:
                index, args = adapter.match(request.path, method=request.method)
            except _WMethodNotAllowed as exc:
                allowed = ", ".join(sorted(exc.valid_methods or []))
                raise MethodNotAllowed("method not allowed", headers={"Allow": allowed}) from None
            except _WNotFound:
                raise NotFound("not found") from None
            route = self.routes[index]
            ctx.route = route
            dialect = DIALECTS[route.dialect or self.default_dialect]
            try:  # every route: no handler sees a control character or an oversized key
                check_path_args(args)
            except Invalid:
                if route.malformed_path is None:
                    raise
                raise route.malformed_path() from None
            length = request.content_length
            if length and length > (route.max_body_bytes or get_settings().max_body_bytes):
                raise TooLarge("request body too large")
            auth_token = None
            if not route.public:
                ctx.principal = (route.authenticator or authenticate)(request.headers)
                # HEAD is served by the GET rule and needs what GET needs.
                method = "GET" if request.method == "HEAD" else request.method
                permission = self._permissions[(index, method)]
                auth_token = authorization.begin(ctx.principal, permission, args, route.rule)
            try:
                if auth_token is not None:
                    explicit = args.get("namespace") or request.args.get("namespace") or None
                    check_route(explicit)
                response = _to_response(route.handler(ctx, **args))
            finally:
                if auth_token is not None:
                    authorization.end(auth_token)
        except ShoalError as error:
            response = _error_response(dialect, error, request_id, request.path, route)
        except Exception as exc:
            response = _error_response(dialect, _unhandled(exc, request_id, request.path), request_id, request.path,
                                       route)
        if origin and dialect.name in cors.DIALECTS:
            response.headers.update(cors.response_headers(origin))
        return self._finish(response, ctx, route, request, started, current_span)

    def _finish(self, response: Response, ctx: RequestContext, route: Route | None, request: Request,
                started: float, current_span: Any) -> Response:
        request_id = ctx.request_id
        if response.status_code == 401 and "WWW-Authenticate" not in response.headers:
            response.headers["WWW-Authenticate"] = www_authenticate(request)
        response.headers["X-Request-Id"] = request_id
        seconds = time.perf_counter() - started
        rule = route.rule if route else None
        fields = {"ts": round(time.time(), 3), "request_id": request_id, "function": self.name,
                  "method": request.method, "route": rule, "path": request.path, "status": response.status_code,
                  "principal": ctx.principal.subject if ctx.principal else None,
                  "duration_ms": round(seconds * 1000, 2)}
        if current_span is not None:
            trace_id = tracing.trace_id()  # the line is written after the span has ended: named here
            if trace_id:
                fields["trace_id"] = trace_id
            current_span.update_name(f"{request.method} {rule or 'unmatched'}")  # bounded names
            current_span.set_attributes({"http.request.method": request.method, "http.route": rule or "",
                                         "http.response.status_code": response.status_code,
                                         "shoal.request_id": request_id})
        # The log line and the metrics wait until the answer is sent: the WSGI server closes the
        # response after its last byte (a stream's too, or when the client left), and the figures
        # are the ones taken here. Nothing the client waits for runs them (docs/performance.md).
        response.call_on_close(lambda: self._record(fields, rule, seconds))
        return response

    def _record(self, fields: dict[str, Any], rule: str | None, seconds: float) -> None:
        try:
            log.info("request", extra={"fields": fields})
            if rule not in PROBES:  # probes stay cheap: no metrics import at cold start
                # The route's rule, never the raw path: one series per route, however many ids are asked for.
                metrics.record_request(self.name, rule or "unmatched", fields["method"], fields["status"], seconds)
        except Exception:  # a close callback that raises would cut the connection the answer went on
            log.exception("request not recorded", extra={"fields": {"request_id": fields["request_id"]}})


def www_authenticate(request: Request) -> str:
    """The RFC 6750 challenge of every 401 (the one place it is set): `error="invalid_token"` when
    the request carried credentials that were refused, none when it carried none (section 3.1)."""
    headers = request.headers  # any credential header counts, a malformed one too (never raises here)
    given = any((headers.get(name) or "").strip() for name in ("Authorization", "X-Api-Key", txn.HEADER))
    return 'Bearer realm="shoal", error="invalid_token"' if given else 'Bearer realm="shoal"'


def _unhandled(exc: Exception, request_id: str, path: str) -> ShoalError:
    """The error to render for an exception no handler turned into a ShoalError.

    The store raises StoreUnavailable for outages itself; this catches a botocore error that
    escaped it (e.g. from a waiter or paginator), so an outage is never a 500 on any route.
    """
    if is_outage(exc):
        log.warning("state backend unavailable", extra={"fields": {"request_id": request_id, "path": path,
                                                                   "error": type(exc).__name__}})
        return StoreUnavailable()
    log.exception("unhandled error", extra={"fields": {"request_id": request_id, "path": path}})
    return ShoalError("internal error")


def _error_response(dialect: Dialect, error: ShoalError, request_id: str, path: str = "",
                    route: Route | None = None) -> Response:
    body, status, content_type = dialect.render(error, request_id, path)
    if route is not None:
        content_type = route.error_media_types.get(status, content_type)
    response = Response(json.dumps(body), status=status, content_type=content_type)
    for key, value in error.headers.items():
        response.headers[key] = value
    return response


def metrics_response() -> Response:
    """This process's Prometheus exposition (GET /metrics of every function, HTTP and event alike)."""
    body, content_type = metrics.exposition()
    return Response(body, status=200, content_type=content_type)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The one JSON serialisation path."""
    return Response(json.dumps(body, default=str), status=status, content_type="application/json",
                    headers=headers)


def _to_response(value: Any) -> Response:
    if isinstance(value, BaseResponse):  # flask's Response and werkzeug's (e.g. redirect()) alike
        return value
    if value is None:
        return Response(status=204)
    if isinstance(value, tuple):
        body, status = value
        return Response(status=status) if body is None else json_response(body, status)
    return json_response(value)
