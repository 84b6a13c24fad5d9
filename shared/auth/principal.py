"""Who is calling: resolved once per request by `shared.auth.resolver`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# "kubernetes": a TokenReview user that is not a ServiceAccount; "system": the platform acting on
# its own behalf (e.g. the github function creating a label-triggered task); "task": a running task's
# model token (shared.auth.task_tokens), good for the compat model endpoints only.
PrincipalKind = Literal["dev", "serviceaccount", "kubernetes", "oidc", "txn", "apikey", "system", "task"]


# Orka's `authType` names for the kinds it shares with Shoal; Shoal's own kinds keep their names.
AUTH_TYPES = {"serviceaccount": "tokenReview", "kubernetes": "tokenReview", "oidc": "oidc", "txn": "contextToken"}


@dataclass(frozen=True)
class Principal:
    kind: PrincipalKind
    subject: str
    username: str
    # None = not bound to a namespace (the local dev principal); acts in any namespace it names.
    namespace: str | None = None
    groups: tuple[str, ...] = ()
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_service_account(self) -> bool:
        return self.kind == "serviceaccount"

    def identity(self) -> dict[str, Any]:
        """The sanitised identity of `/api/v1/auth/whoami`, with Orka's field names: never a token,
        a raw claim set or a transaction context, only what names the caller."""
        claims = self.claims
        out: dict[str, Any] = {
            # `kind` is Shoal's name for it (as /auth/validate says); `authType` is Orka's.
            "authenticated": True, "kind": self.kind, "authType": AUTH_TYPES.get(self.kind, self.kind),
            "username": self.username,
            "uid": str(claims.get("uid") or ""), "groups": list(self.groups), "namespace": self.namespace or "",
            "subject": self.subject, "email": claims.get("email") or "", "issuer": claims.get("iss") or "",
            "roles": list(claims.get("roles") or [])}
        if self.kind == "txn":
            scope = str(claims.get("scope") or "")
            audience = claims.get("aud")
            out["transaction"] = {
                "profile": claims.get("profile") or "", "type": "txntoken+jwt", "id": claims.get("txn") or "",
                "issuer": claims.get("iss") or "", "subject": self.subject,
                "audience": audience if isinstance(audience, list) else [audience] if audience else [],
                "scope": scope, "scopes": scope.split(), "requestingWorkload": claims.get("req_wl") or ""}
        return out

    def public_fields(self) -> dict[str, Any]:
        """The non-secret fields, for `/auth/validate` and logs."""
        return {"kind": self.kind, "subject": self.subject, "username": self.username,
                "namespace": self.namespace, "groups": list(self.groups)}
