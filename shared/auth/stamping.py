"""Server-stamped task fields: who asked (`spec.requestedBy`) and under which transaction.

Stamped only for OIDC and Txn-Token callers, after the client's body passed validation (which
rejects any client-sent `requestedBy`/`transaction`, top level or in `spec`), so these fields can
only ever come from a verified token.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from shared.auth.principal import Principal
from shared.auth.txn import digest

TRANSACTION_LABEL = "orka.ai/transaction-id"
PROFILE_LABEL = "orka.ai/auth-profile"
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _label_value(value: str) -> str:
    """A valid Kubernetes label value: the value itself, or a stable hash when it cannot be one."""
    if len(value) <= 63 and _LABEL_VALUE.match(value):
        return value
    return "h-" + hashlib.sha256(value.encode()).hexdigest()[:40]


def requested_by(principal: Principal) -> dict[str, Any]:
    entry: dict[str, Any] = {"subject": principal.subject, "issuer": principal.claims.get("iss"),
                             "username": principal.username, "email": principal.claims.get("email"),
                             "groups": list(principal.groups) or None, "roles": principal.claims.get("roles") or None}
    return {k: v for k, v in entry.items() if v}


def transaction(principal: Principal) -> dict[str, Any]:
    claims = principal.claims
    aud = claims.get("aud")
    scope = str(claims.get("scope", ""))
    entry: dict[str, Any] = {
        "profile": claims.get("profile"), "id": claims.get("txn"), "issuer": claims.get("iss"),
        "audience": aud if isinstance(aud, str) else ",".join(aud) if isinstance(aud, list) else None,
        "subject": principal.subject, "requestingWorkload": claims.get("req_wl"), "scope": scope,
        "scopes": scope.split(), "contextDigest": digest(claims.get("tctx") or {}),
        "requesterContextDigest": digest(claims.get("rctx")), "context": claims.get("tctx") or None}
    return {k: v for k, v in entry.items() if v is not None}


def stamp_task(doc: dict[str, Any], principal: Principal) -> None:
    """Add the server-stamped fields to a validated task document (no-op for other principals)."""
    if principal.kind not in ("oidc", "txn"):
        return
    doc["spec"]["requestedBy"] = requested_by(principal)
    if principal.kind == "txn":
        tx = transaction(principal)
        doc["spec"]["transaction"] = tx
        doc["metadata"]["labels"][TRANSACTION_LABEL] = _label_value(str(tx.get("id", "")))
        doc["metadata"]["labels"][PROFILE_LABEL] = _label_value(str(tx.get("profile", "")))
        annotations = doc["metadata"]["annotations"]
        annotations["orka.ai/transaction-id"] = str(tx.get("id", ""))
        annotations["orka.ai/transaction-subject"] = principal.subject
        annotations["orka.ai/transaction-requesting-workload"] = str(tx.get("requestingWorkload", ""))
        annotations["orka.ai/transaction-context-digest"] = str(tx.get("contextDigest", ""))
