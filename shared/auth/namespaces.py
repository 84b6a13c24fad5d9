"""Which namespace a request acts in (Orka's resolution rules)."""

from __future__ import annotations

from shared.auth.principal import Principal
from shared.config import get_settings
from shared.errors import Forbidden


def resolve_namespace(principal: Principal, explicit: str | None) -> str:
    """Explicit value, then the identity's namespace, then the default; a bound identity stays home."""
    if principal.namespace is not None:
        if explicit and explicit != principal.namespace:
            raise Forbidden(f'namespace "{explicit}" not allowed, restricted to "{principal.namespace}"')
        return principal.namespace
    return explicit or get_settings().default_namespace


def require_same_namespace(principal: Principal, namespace: str) -> None:
    """Worker API rule: a namespaced caller may only touch its own namespace."""
    if principal.namespace is not None and principal.namespace != namespace:
        raise Forbidden("cross-namespace access denied")
