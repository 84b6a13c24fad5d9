"""Who is calling: resolved once per request by `shared.auth.resolver`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# "kubernetes": a TokenReview user that is not a ServiceAccount; "system": the platform acting on
# its own behalf (e.g. the github function creating a label-triggered task); "task": a running task's
# model token (shared.auth.task_tokens), good for the compat model endpoints only.
PrincipalKind = Literal["dev", "serviceaccount", "kubernetes", "oidc", "txn", "apikey", "system", "task"]


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

    def public_fields(self) -> dict[str, Any]:
        """The non-secret fields, for `/auth/validate` and logs."""
        return {"kind": self.kind, "subject": self.subject, "username": self.username,
                "namespace": self.namespace, "groups": list(self.groups)}
