"""`/healthz` and `/readyz`, answered by every function itself (Knative probes)."""

from __future__ import annotations

from collections.abc import Callable

from shared.errors import NotReady
from shared.http.api import RequestContext, Router, json_response
from shared.http.models import Reply
from shared.store.bootstrap import check_state

Check = Callable[[], str]
_READINESS = "shared.http.common_models:Readiness"


def store_check() -> str:
    check_state()
    return "ok"


def health_router(checks: dict[str, Check] | None = None, *, extra: Callable[[], dict] | None = None) -> Router:
    """A router with `/healthz` (process alive) and `/readyz` (dependencies answer)."""
    router = Router(dialect="orka", tag="health")
    ready_checks = {"store": store_check} if checks is None else checks

    @router.route("/healthz", public=True, summary="Liveness",
                  responses={200: Reply("Alive", "shared.http.common_models:Liveness")})
    def healthz(ctx: RequestContext):
        return {"status": "ok"}

    @router.route("/readyz", public=True, summary="Readiness: the store answers", responses={
        200: Reply("Ready", _READINESS), 503: Reply("A dependency does not answer", _READINESS)})
    def readyz(ctx: RequestContext):
        results, ok = {}, True
        for name, check in ready_checks.items():
            try:
                results[name] = check()
            except NotReady as exc:
                results[name] = f"error: {exc}"
                ok = False
            except Exception as exc:  # readiness reports, it does not raise
                results[name] = f"error: {type(exc).__name__}"
                ok = False
        body = {"status": "ok" if ok else "not ready", "checks": results}
        if extra:
            body.update(extra())
        return json_response(body, 200 if ok else 503)

    return router
