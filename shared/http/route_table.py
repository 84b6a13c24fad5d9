"""Which routers each HTTP function serves: the one route table, used by the functions and by
`/openapi.json`. (Which paths reach which function is `infra/httproutes.yaml`; tests/unit/test_wiring_agreement.py
checks the two agree. The event functions' twin is `shared.events.handler_table`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.coldstart import loading
from shared.wiring import load

if TYPE_CHECKING:  # the pipeline (pydantic, auth, the store) loads in build_api, under shared.coldstart
    from shared.http.api import Api

FUNCTION_ROUTERS: dict[str, tuple[str, ...]] = {
    "meta": ("shared.meta.routes:router",),
    "tasks": ("shared.tasks.routes:router",),
    "internal": ("shared.workerapi.routes:router", "shared.workerapi.workspace_inputs_routes:router",
                 "shared.workerapi.tool_routes:router", "shared.memory.worker_routes:router"),
    "jobs": ("shared.jobs.job_routes:router", "shared.jobs.agent_routes:agents_router",
             "shared.jobs.agent_routes:instructions_router", "shared.jobs.admin_routes:api_keys_router",
             "shared.jobs.admin_routes:sources_router", "shared.jobs.admin_routes:config_router",
             "shared.jobs.admin_routes:stats_router", "shared.jobs.admin_routes:auth_router",
             "shared.jobs.upload_routes:uploads_router", "shared.jobs.upload_routes:models_router",
             "shared.jobs.workspace_routes:router"),
    "webhooks": ("shared.jobs.ingest_routes:events_router", "shared.jobs.ingest_routes:github_router",
                 "shared.github.webhook_routes:router"),
    "incidents": ("shared.incidents.routes:router", "shared.incidents.routes:platform"),
    "analyze": ("shared.analyze.routes:router",),
    "catalog": ("shared.catalog.agents:router", "shared.catalog.skills:router", "shared.catalog.tools:router",
                "shared.catalog.secrets:secrets_router", "shared.catalog.secrets:auth_router"),
    "memory": ("shared.memory.memory_routes:router", "shared.memory.proposal_routes:router",
               "shared.memory.session_routes:router"),
    "chat": ("shared.chat.routes:router",),
    "compat": ("shared.compat.openai_routes:router", "shared.compat.anthropic_routes:router"),
    "security": ("shared.monitors.routes:router", "shared.security.routes:router",
                 "shared.security.finding_routes:router"),
    "mcp": ("shared.mcp_http:router",),
    "console": ("shared.console.routes:router",),
}

# The dialect of a function's answers when no route matches (a 404, a 405): the routers' own, where
# they have no common prefix that would decide it.
DEFAULT_DIALECTS: dict[str, str] = {"analyze": "fastapi"}


# Functions that call the model themselves: their /readyz also reports the default provider.
MODEL_FUNCTIONS = frozenset({"chat", "compat", "analyze"})


def _llm_check() -> str:
    from shared.llm.readiness import check_default_provider

    return check_default_provider()


def build_api(function: str) -> Api:
    """The Api of an HTTP function: its routers plus `/healthz` and `/readyz` (meta has its own)."""
    with loading():
        from shared.http.api import Api, Router
        from shared.http.health import health_router, store_check

        routers: list[Router] = [load(p) for p in FUNCTION_ROUTERS[function]]
    if function in MODEL_FUNCTIONS:
        routers.append(health_router({"store": store_check, "llm": _llm_check}))
    elif function != "meta":
        routers.append(health_router())
    api = Api(function, routers, default_dialect=DEFAULT_DIALECTS.get(function, "orka"))
    _adopt_unrouted(api)
    return api


def _adopt_unrouted(api: Api) -> None:
    """functions-framework routes every path to the function through `/<path:path>`, whose pattern
    stops at a newline: such a request would get Flask's HTML 404. Built inside create_app (its app
    context, outside any request), the Api takes those too, so every answer is in the route's dialect."""
    from flask import current_app, has_app_context, has_request_context, request

    if has_app_context() and not has_request_context():  # meta builds Apis per request, for /openapi.json
        current_app.register_error_handler(404, lambda _error: api.handle(request))
