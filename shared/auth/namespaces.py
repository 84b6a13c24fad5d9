"""Which namespace a request acts in (Orka's resolution rules), with isolation and authorization.

- dev and system principals: the explicit namespace, else their own, else the default;
- a namespace-bound principal (ServiceAccount, OIDC, Txn-Token): its namespace; another one only
  when RBAC (a SubjectAccessReview for the route's action) allows it, else 403;
- a TokenReview user that is not a ServiceAccount: explicit or default, decided by RBAC;
- any other principal without a namespace: 403 "namespace-bound identity required".
Every namespace resolved during a request is checked against the route's permission.
"""

from __future__ import annotations

from shared.auth.authorization import (
    AUTHENTICATED,
    WORKER,
    authorize_current,
    check_route_kind,
    current_request,
    rbac_allows_current,
)
from shared.auth.messages import INVALID
from shared.auth.principal import Principal
from shared.config import get_settings
from shared.errors import Forbidden, Unauthorized


def _namespace(principal: Principal, explicit: str | None) -> str:
    default = get_settings().default_namespace
    if principal.kind in ("dev", "system"):
        return explicit or principal.namespace or default
    if principal.namespace is None:
        if principal.kind == "kubernetes":
            return explicit or default
        raise Forbidden("namespace-bound identity required")
    if explicit and explicit != principal.namespace:
        if rbac_allows_current(principal, explicit):
            return explicit
        raise Forbidden(f'namespace "{explicit}" not allowed, restricted to "{principal.namespace}"')
    return principal.namespace


def resolve_namespace(principal: Principal, explicit: str | None) -> str:
    """Explicit value, then the identity's namespace, then the default; a bound identity stays home."""
    namespace = _namespace(principal, explicit)
    authorize_current(principal, namespace)
    return namespace


def require_same_namespace(principal: Principal, namespace: str) -> None:
    """Worker API rule: a namespaced caller may only touch its own namespace."""
    if principal.kind in ("dev", "system"):
        return
    if principal.namespace is None:
        raise Forbidden("namespace-bound identity required")
    if principal.namespace != namespace:
        raise Forbidden("cross-namespace access denied")


def check_route(explicit_namespace: str | None) -> None:
    """The route-level check, before the handler runs: worker rule, then namespace + permission."""
    state = current_request()
    if state is None:
        return
    # First, so no permission (not even AUTHENTICATED or the worker API's) lets a runtime's token through.
    check_route_kind(state.principal, state.rule)
    if state.permission == WORKER:
        if state.principal.kind not in ("serviceaccount", "dev", "system"):
            raise Unauthorized(INVALID)  # the worker API authenticates ServiceAccount tokens only
        return
    if state.permission == AUTHENTICATED:
        return
    resolve_namespace(state.principal, explicit_namespace)
