"""Validate a Tool spec (plain HTTP or MCP) and compute its non-secret status.

Rules, in order (Orka's API rules plus the spec table's defaults):
- through the REST API (`rest=True`), `spec.http.authSecretRef` and `spec.http.outboundAccessPolicyRef`
  → 400 "… is not allowed through the REST API; create tools with Kubernetes RBAC instead", as Orka
  does: a REST caller must not point a Secret-injecting tool at a host of its choosing; operators
  provision such tools with `shared.catalog.tools.provision_tool`;
- `outboundAccessPolicyRef` anywhere else → 400 (not supported);
- `spec.description` is required; `spec.parameters` must be a JSON Schema object;
- an MCP tool (`spec.mcp`) names `substrateActor.templateRef.name` or, as a Shoal extension for
  remote MCP servers, `spec.mcp.url`; it must not set `spec.http.url` nor `authInject: body`;
- a plain HTTP tool needs `spec.http.url` (parsable, as Go's url.Parse would: "spec.http.url is
  invalid" for a bad `%` escape, a control character or space, a broken IPv6 host; http/https, a
  host, no userinfo, no credential-like query parameter such as `api_key` or `token`);
- `method` ∈ GET/POST/PUT/PATCH/DELETE (default POST); `timeout` is a Go duration (default 30s);
- static `headers` may not carry credentials (use authSecretRef) nor set reserved headers;
- `authSecretRef` needs `name` and `key`; `authInject` ∈ header/body (default header), and `body`
  needs `authBodyKey`.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from shared.config import get_settings
from shared.duration import parse_go_duration
from shared.errors import Invalid
from shared.http.models import resolve

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DEFAULT_TIMEOUT = "30s"
# Headers the transport or token propagation owns; a tool may never set them.
RESERVED_HEADERS = frozenset({"txn-token", "host", "content-length", "transfer-encoding", "connection",
                              "upgrade", "te", "keep-alive", "mcp-session-id", "mcp-protocol-version"})
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
                                "api-key", "apikey", "x-auth-token", "x-access-token", "private-token",
                                "x-goog-api-key", "x-amz-security-token"})
_CREDENTIAL_PARAMS = frozenset({"key", "auth", "sig", "signature", "code"})
_CREDENTIAL_WORDS = ("token", "secret", "password", "passwd", "apikey", "api-key", "api_key", "credential")
# A `%` not followed by two hex digits, or a character no URL may hold raw: Go's url.Parse refuses both.
_BAD_URL = re.compile(r"%(?![0-9A-Fa-f]{2})|[\x00-\x20\x7f]")
REST_ONLY = "is not allowed through the REST API; create tools with Kubernetes RBAC instead"


def _has_policy_ref(value: Any) -> bool:
    if isinstance(value, dict):
        return any(k == "outboundAccessPolicyRef" or _has_policy_ref(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_policy_ref(v) for v in value)
    return False


def _check_url(url: Any, field: str) -> str:
    if not isinstance(url, str) or not url:
        raise Invalid(f"{field} is required")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (a non-numeric port raises here)
    except ValueError:
        raise Invalid(f"{field} is invalid") from None
    if _BAD_URL.search(url):
        raise Invalid(f"{field} is invalid")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"{field} must be an absolute http or https URL")
    if parts.username is not None or parts.password is not None:
        raise Invalid(f"{field} must not contain credentials")
    for key, _ in parse_qsl(parts.query, keep_blank_values=True):
        lower = key.lower()
        if lower in _CREDENTIAL_PARAMS or any(w in lower for w in _CREDENTIAL_WORDS):
            raise Invalid(f'{field} must not carry credentials in query parameter "{key}"; '
                          "use spec.http.authSecretRef")
    return url


def _check_headers(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in headers.items()):
        raise Invalid("spec.http.headers must be a map of strings")
    for key in headers:
        lower = key.lower()
        if lower in RESERVED_HEADERS:
            raise Invalid(f'header "{key}" is reserved')
        if lower in CREDENTIAL_HEADERS or any(w in lower for w in _CREDENTIAL_WORDS):
            raise Invalid(f'header "{key}" must not carry credentials; use spec.http.authSecretRef')
    return dict(headers)


def _ref(value: Any, field: str, *, key: bool = False) -> dict[str, Any]:
    if not isinstance(value, dict) or not isinstance(value.get("name"), str) or not value["name"]:
        raise Invalid(f"{field}.name is required")
    if key and (not isinstance(value.get("key"), str) or not value["key"]):
        raise Invalid(f"{field}.key is required")
    return value


def validate_tool_spec(spec: dict[str, Any], *, rest: bool = True) -> dict[str, Any]:
    """The spec with defaults applied, or Invalid with the first rule it breaks. `rest`: the spec came
    through the REST API, which may not attach Secrets or outbound policies (see the module doc)."""
    spec = copy.deepcopy(spec)
    if rest and isinstance(spec.get("http"), dict):
        for field in ("authSecretRef", "outboundAccessPolicyRef"):
            if field in spec["http"]:
                raise Invalid(f"spec.http.{field} {REST_ONLY}")
    if _has_policy_ref(spec):
        raise Invalid("outboundAccessPolicyRef is not supported")
    if rest:  # an operator's provisioning (rest=False) may carry more than the REST API documents
        reject_unknown_fields(spec)
    if not isinstance(spec.get("description"), str) or not spec["description"].strip():
        raise Invalid("spec.description is required")
    if "parameters" in spec and not isinstance(spec["parameters"], dict):
        raise Invalid("spec.parameters must be a JSON Schema object")
    http = spec.get("http")
    if http is not None and not isinstance(http, dict):
        raise Invalid("spec.http must be an object")
    mcp = spec.get("mcp")
    if mcp is not None and not isinstance(mcp, dict):
        raise Invalid("spec.mcp must be an object")
    http = dict(http or {})
    if mcp is not None:
        if http.get("url"):
            raise Invalid("spec.http.url must be omitted for MCP tools; the endpoint is resolved")
        path = mcp.get("path", "/mcp")
        if not isinstance(path, str) or not path.startswith("/"):
            raise Invalid('spec.mcp.path must start with "/"')
        mcp["path"] = path
        if "url" in mcp:
            _check_url(mcp["url"], "spec.mcp.url")
        else:
            actor = mcp.get("substrateActor")
            if not isinstance(actor, dict) or not isinstance(actor.get("templateRef"), dict) \
                    or not actor["templateRef"].get("name"):
                raise Invalid("spec.mcp.substrateActor.templateRef.name is required")
            if "poolRef" in actor:
                _ref(actor["poolRef"], "spec.mcp.substrateActor.poolRef")
            if not isinstance(actor.get("boot", False), bool):
                raise Invalid("spec.mcp.substrateActor.boot must be a boolean")
            if not get_settings().substrate_router_url:
                raise Invalid("MCP actor-backed tools require Substrate support to be enabled")
        spec["mcp"] = mcp
        if http.get("authInject") == "body":
            raise Invalid("spec.http.authInject body is invalid for MCP actor-backed tools")
    else:
        _check_url(http.get("url"), "spec.http.url")
        method = http.get("method", "POST")
        if method not in METHODS:
            raise Invalid(f"spec.http.method must be one of {', '.join(METHODS)}")
        http["method"] = method
    http["headers"] = _check_headers(http.get("headers"))
    timeout = http.get("timeout", DEFAULT_TIMEOUT)
    try:
        if not isinstance(timeout, str) or parse_go_duration(timeout) <= 0:
            raise ValueError(f'time: invalid duration "{timeout}"')
    except ValueError as exc:
        raise Invalid(f"invalid spec.http.timeout: {exc}") from None
    http["timeout"] = timeout
    if "authSecretRef" in http:
        _ref(http["authSecretRef"], "spec.http.authSecretRef", key=True)
    inject = http.get("authInject", "header")
    if inject not in ("header", "body"):
        raise Invalid("spec.http.authInject must be header or body")
    http["authInject"] = inject
    if inject == "body" and (not isinstance(http.get("authBodyKey"), str) or not http["authBodyKey"]):
        raise Invalid("spec.http.authBodyKey is required when authInject is body")
    if not http["headers"]:
        del http["headers"]
    spec["http"] = http
    return spec


def safe_endpoint(url: str) -> str:
    """The URL without userinfo, query or fragment: a status field must never carry a secret."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def tool_status(namespace: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """status.{endpoint, available, actor}: resolved and non-secret; `available` turns true after a call reaches it."""
    mcp = spec.get("mcp")
    if mcp is None:
        return {"endpoint": safe_endpoint(spec["http"]["url"]), "available": False, "kind": "http"}
    if "url" in mcp:
        return {"endpoint": safe_endpoint(mcp["url"]), "available": False, "kind": "mcp"}
    actor = mcp["substrateActor"]
    template = {"name": actor["templateRef"]["name"],
                "namespace": actor["templateRef"].get("namespace") or namespace}
    router = get_settings().substrate_router_url.rstrip("/")
    actor_id = f"mcp-{namespace}-{name}"
    status: dict[str, Any] = {
        "kind": "mcp",
        "endpoint": safe_endpoint(f"{router}/actors/{actor_id}{mcp['path']}"),
        "available": False,
        "actor": {"provider": "substrate", "actorID": actor_id, "routeHost": urlsplit(router).hostname or "",
                  "template": template, "boot": bool(actor.get("boot", False))},
    }
    if "poolRef" in actor:
        status["actor"]["pool"] = {"name": actor["poolRef"]["name"],
                                   "namespace": actor["poolRef"].get("namespace") or namespace}
    return status


# The documented shape (shared.catalog.resources), named, not imported: its models use this module's
# METHODS and DEFAULT_TIMEOUT.
_SHAPE = "shared.catalog.resources:{}"


def reject_unknown_fields(spec: dict[str, Any]) -> None:
    from shared.catalog.crd import reject_unknown

    reject_unknown(spec, resolve(_SHAPE.format("ToolSpec")))
    if isinstance(spec.get("http"), dict):
        reject_unknown(spec["http"], resolve(_SHAPE.format("ToolHttpCall")), "spec.http")
    if isinstance(spec.get("mcp"), dict):
        reject_unknown(spec["mcp"], resolve(_SHAPE.format("ToolMcpServer")), "spec.mcp")
