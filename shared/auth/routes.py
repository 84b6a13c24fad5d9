"""`/api/v1/auth/**` (Orka dialect): answers who the caller is. Served by the `catalog` function."""

from __future__ import annotations

from shared.auth.authorization import AUTHENTICATED
from shared.http import RequestContext, Router

router = Router("/api/v1/auth", dialect="orka", tag="auth")


@router.route("/validate", ["GET"], summary="Validate auth token", permission=AUTHENTICATED)
def validate(ctx: RequestContext):
    return {"authenticated": True, **ctx.require_principal().public_fields()}


@router.route("/whoami", ["GET"], summary="The resolved principal (non-secret fields)", permission=AUTHENTICATED)
def whoami(ctx: RequestContext):
    return ctx.require_principal().public_fields()
