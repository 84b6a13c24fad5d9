"""Authorization: what each route needs, and whether the principal has it.

Every non-public route has a Permission: declared with `Router.route(permission=...)` or derived
from its path and method (`/api/v1/memory-proposals/<id>/review` POST → verb `review` on
`memoryproposals`), so routes need no edit to be checked. Decisions by principal kind:

- dev (the local platform's token) and system (the platform itself): everything;
- ServiceAccount and other TokenReview users: a SubjectAccessReview in the target namespace against
  the real or virtual resource (group core.orka.ai), so RBAC is the only source of truth;
- OIDC: namespace isolation (its configured namespace only);
- Txn-Token: namespace isolation (`tctx.namespace`) plus the scope check in the configured mode
  (off, audit = log only, enforce = 403 "context token is not authorized for <verb> <resource>");
- task (a running task's model token): the compat model routes only, in the task's namespace;
  every other route is 403 (decided in `check_route`, before any route-specific rule).

The route's permission lives in a context variable for the duration of the request, so
`resolve_namespace` re-checks it for whichever namespace a handler finally acts in.
"""

from __future__ import annotations

import contextvars
import re
from dataclasses import dataclass
from typing import Any

from shared.auth.kube_auth import kube_configured, subject_access_review
from shared.auth.principal import Principal
from shared.config import get_settings
from shared.errors import Forbidden
from shared.logs import get_logger

log = get_logger("auth")
GROUP = "core.orka.ai"
AUTHENTICATED = "authenticated"  # any authenticated principal; no resource check
WORKER = "worker"                # the worker API: ServiceAccounts (and dev) only, namespace-checked by the route
# The only routes a task token may call: the compat model endpoints its runtime talks to.
MODEL_ROUTE_PREFIXES = ("/openai/v1/", "/anthropic/v1/")
TASK_TOKEN_FORBIDDEN = "task tokens may only call the model endpoints (/openai/v1, /anthropic/v1)"


@dataclass(frozen=True)
class Permission:
    resource: str
    verb: str
    group: str = GROUP
    subresource: str | None = None
    name_arg: str | None = None  # the path argument naming the object, for SubjectAccessReview `name`
    scope_area: str | None = None  # the Txn-Token scope area (`orka:<area>:<verb>`), default resource
    operate: bool = False  # starts work (a monitor run, a scan): Txn-Token scope class `operate`

    @property
    def action(self) -> str:
        return f"{self.verb} {self.resource}"


RoutePermission = Permission | str

# Sub-resources whose POST is a verb of its own (Orka's virtual RBAC verbs).
ACTION_VERBS = {("memoryproposals", "review"): "review", ("memoryproposals", "apply"): "apply"}
# POSTs that start work on an object rather than change it (Txn-Token scope class `operate`).
OPERATE_ACTIONS = {"runs", "scans", "validate", "patch", "pull-request"}
# Two-level collections: (area, collection) → resource.
NESTED = {("monitors", "repositories"): "repositorymonitors", ("monitors", "events"): "repositorymonitors",
          ("security", "repositories"): "repositoryscans", ("security", "findings"): "securityfindings"}
# Resource names that are not "<segment>s".
RESOURCE_NAMES = {"chat": "chats", "memory": "memories", "analyze": "analyses", "analyses": "analyses",
                  "report-outcome": "analyses", "reports": "analyses", "incident": "incidents"}
_VERSION = re.compile(r"^v\d+(alpha\d+|beta\d+)?$")
_PARAM = re.compile(r"^<(?:[a-z]+:)?([A-Za-z_][A-Za-z0-9_]*)>$")


def _resource_name(segment: str) -> str:
    if segment in RESOURCE_NAMES:
        return RESOURCE_NAMES[segment]
    name = segment.replace("-", "").replace("_", "").lower()
    return name if name.endswith("s") else name + "s"


def derive_permission(rule: str, method: str) -> RoutePermission:
    """The permission a route needs, from its path and method (see the module docstring)."""
    method = method.upper()
    segments = [s for s in rule.strip("/").split("/") if s]
    if segments[:1] == ["internal"]:
        return WORKER
    if segments[:1] in (["openai"], ["anthropic"]):
        # Compat APIs act as chats (Orka #584: `create chats.core.orka.ai`).
        return Permission("chats", "create" if method == "POST" else "get", scope_area="chats")
    index = 1 if segments[:1] == ["api"] else 0
    if len(segments) > index and _VERSION.match(segments[index]):
        index += 1
    rest = segments[index:]
    if not rest or rest[0] == "auth" or _PARAM.match(rest[0]):
        return AUTHENTICATED
    area = rest[0]
    if len(rest) > 1 and (area, rest[1]) in NESTED:
        resource, rest = NESTED[(area, rest[1])], rest[2:]
    else:
        resource, rest = _resource_name(area), rest[1:]
    scope_area = area.replace("-", "").lower()
    name_arg = None
    if rest and _PARAM.match(rest[0]):
        name_arg = _PARAM.match(rest[0]).group(1)
        rest = rest[1:]
    statics = [s for s in rest if not _PARAM.match(s)]
    if name_arg is None:
        if statics:  # e.g. /chat/config: a virtual sub-resource of the collection
            sub = "/".join(statics)
            verb = "get" if method == "GET" else "create" if method == "POST" else "update"
            return Permission(resource, verb, subresource=sub, scope_area=scope_area)
        verb = {"GET": "list", "POST": "create", "DELETE": "deletecollection"}.get(method, "update")
        return Permission(resource, verb, scope_area=scope_area)
    if not statics:
        verb = {"GET": "get", "DELETE": "delete"}.get(method, "update")
        return Permission(resource, verb, name_arg=name_arg, scope_area=scope_area)
    action = statics[0]
    if method == "GET":
        return Permission(resource, "get", name_arg=name_arg, scope_area=scope_area)
    verb = ACTION_VERBS.get((resource, action), "update")
    return Permission(resource, verb, name_arg=name_arg, scope_area=scope_area,
                      operate=action in OPERATE_ACTIONS and verb == "update")


def route_permission(declared: Any, rule: str, method: str) -> RoutePermission:
    """Normalise `Router.route(permission=...)`: None = derive; a (resource, verb[, group]) tuple; a constant."""
    if declared is None:
        return derive_permission(rule, method)
    if isinstance(declared, Permission) or declared in (AUTHENTICATED, WORKER):
        return declared
    if isinstance(declared, tuple) and 2 <= len(declared) <= 3:
        derived = derive_permission(rule, method)
        name_arg = derived.name_arg if isinstance(derived, Permission) else None
        return Permission(declared[0], declared[1], *(declared[2:] or (GROUP,)), name_arg=name_arg)
    raise ValueError(f"invalid permission {declared!r} for {method} {rule}")


# -- per-request state ----------------------------------------------------------------------------

@dataclass
class _RequestAuth:
    principal: Principal
    permission: RoutePermission
    name: str | None
    checked: set[str]
    rule: str = ""  # the matched route's path rule


_current: contextvars.ContextVar[_RequestAuth | None] = contextvars.ContextVar("shoal_request_auth", default=None)


def begin(principal: Principal, permission: RoutePermission, path_args: dict[str, Any],
          rule: str = "") -> contextvars.Token:
    name = None
    if isinstance(permission, Permission) and permission.name_arg:
        value = path_args.get(permission.name_arg)
        name = value if isinstance(value, str) else None
    return _current.set(_RequestAuth(principal, permission, name, set(), rule))


def is_model_route(rule: str) -> bool:
    return rule.startswith(MODEL_ROUTE_PREFIXES)


def check_route_kind(principal: Principal, rule: str) -> None:
    """Principals bound to some routes whatever the route's permission: a task token to the model routes.
    Run by `check_route` for every protected route, and by a public route that authenticates by itself."""
    if principal.kind == "task" and not is_model_route(rule):
        raise Forbidden(TASK_TOKEN_FORBIDDEN)


def end(token: contextvars.Token) -> None:
    _current.reset(token)


def current_request() -> _RequestAuth | None:
    """The auth state of the request being handled (None outside a protected route)."""
    return _current.get()


def authorize_current(principal: Principal, namespace: str) -> None:
    """Check the current route's permission for `namespace` (once per namespace per request)."""
    state = _current.get()
    if state is None or state.principal is not principal or not isinstance(state.permission, Permission):
        return
    if namespace in state.checked:
        return
    authorize(principal, state.permission, namespace, name=state.name)
    state.checked.add(namespace)


def rbac_allows_current(principal: Principal, namespace: str) -> bool:
    """Does RBAC let this (Kubernetes) principal do the current route's action in another namespace?"""
    state = _current.get()
    if state is None or state.principal is not principal or not isinstance(state.permission, Permission):
        return False
    if principal.kind not in ("serviceaccount", "kubernetes"):
        return False
    return _sar(principal, state.permission, namespace, state.name)


def _sar(principal: Principal, permission: Permission, namespace: str, name: str | None) -> bool:
    if not kube_configured():
        return False  # a Kubernetes principal without a Kubernetes API cannot be authorized
    return subject_access_review(principal, namespace=namespace, verb=permission.verb,
                                 resource=permission.resource, group=permission.group, name=name,
                                 subresource=permission.subresource)


def rbac_grants(principal: Principal, permission: Permission, namespace: str, name: str | None = None) -> bool:
    """Does the cluster's RBAC grant this principal `permission` (no error; False for identities RBAC
    does not govern: API keys, context tokens, OIDC without SHOAL_OIDC_RBAC)?"""
    if principal.kind in ("serviceaccount", "kubernetes"):
        return _sar(principal, permission, namespace, name)
    if principal.kind == "oidc":
        return bool(get_settings().oidc_rbac) and _sar(as_kubernetes_user(principal), permission, namespace, name)
    return False


def as_kubernetes_user(principal: Principal) -> Principal:
    """An OIDC caller as the apiserver's OIDC authenticator would name it (SHOAL_OIDC_RBAC_*), so the
    cluster's RoleBindings for `oidc:alice` / `oidc:devs` govern what it may do through Shoal."""
    settings = get_settings()
    claim = principal.claims.get("email") if settings.oidc_rbac_username_claim == "email" else principal.subject
    if not claim:
        raise Forbidden(f"token has no {settings.oidc_rbac_username_claim} claim to authorize")
    return Principal(kind="kubernetes", subject=principal.subject,
                     username=f"{settings.oidc_rbac_username_prefix}{claim}",
                     groups=tuple(f"{settings.oidc_rbac_groups_prefix}{g}" for g in principal.groups))


def scope_allows(scopes: str, permission: Permission) -> bool:
    """`orka:<area>:<verb>`, its class (read / write / operate), `orka:<area>:*` or `orka:*`."""
    area = permission.scope_area or permission.resource
    klass = ("operate" if permission.operate
             else "read" if permission.verb in ("get", "list", "watch")
             else "write" if permission.verb in ("create", "update", "patch", "delete", "deletecollection")
             else "operate")
    granted = set(scopes.split())
    wanted = {f"orka:{area}:{permission.verb}", f"orka:{area}:{klass}", f"orka:{area}:*", "orka:*"}
    return bool(granted & wanted)


def authorize(principal: Principal, permission: Permission, namespace: str, *, name: str | None = None) -> None:
    """Raise Forbidden unless the principal may do `permission` in `namespace`."""
    if principal.kind in ("dev", "system"):
        return
    if principal.kind in ("serviceaccount", "kubernetes"):
        if not _sar(principal, permission, namespace, name):
            raise Forbidden(f"not authorized to {permission.action}")
        return
    if principal.kind == "txn":
        mode = get_settings().context_token_authorization
        if mode != "off" and not scope_allows(str(principal.claims.get("scope", "")), permission):
            fields = {"subject": principal.subject, "action": permission.action, "namespace": namespace,
                      "txn": principal.claims.get("txn"), "mode": mode}
            log.warning("context token scope denied", extra={"fields": fields})
            if mode == "enforce":
                raise Forbidden(f"context token is not authorized for {permission.action}")
        return
    if principal.kind == "oidc":
        if get_settings().oidc_rbac and not _sar(as_kubernetes_user(principal), permission, namespace, name):
            raise Forbidden(f"not authorized to {permission.action}")
        return
    if principal.kind == "task":
        # `check_route` admitted only the model routes; the task's namespace is its isolation.
        return
    # API-key principals: namespace isolation is their authorization; RBAC is not consulted.
