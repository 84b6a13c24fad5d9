"""Which routers each HTTP function serves: the one route table, used by the functions and by
`/openapi.json`. (Which paths reach which function is `infra/httproutes.yaml`; a test checks the two agree.)
"""

from __future__ import annotations

import importlib

from shared.http.api import Api, Router
from shared.http.health import health_router

FUNCTION_ROUTERS: dict[str, tuple[str, ...]] = {
    "meta": ("shared.meta.routes:router",),
    "tasks": ("shared.tasks.routes:router",),
    "internal": ("shared.tasks.internal_routes:router",),
    "webhooks": ("shared.github.webhook_routes:router",),
    "security": ("shared.monitors.routes:router",),
}


def load_router(path: str) -> Router:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def build_api(function: str) -> Api:
    """The Api of an HTTP function: its routers plus `/healthz` and `/readyz` (meta has its own)."""
    routers = [load_router(p) for p in FUNCTION_ROUTERS[function]]
    if function != "meta":
        routers.append(health_router())
    return Api(function, routers)
