"""What monitor validation needs from outside: the reviewer Agent and Kubernetes Secrets.

Agents are read from the object store (kind `agent`, the catalog's Agent records); Secrets from
the Kubernetes API. A Secret that cannot be read counts as missing: validation fails closed.
"""

from __future__ import annotations

import base64
from typing import Any

from shared.auth.kube_auth import kube_configured
from shared.kube import core_v1
from shared.logs import get_logger

log = get_logger("monitors")
CLAUDE_KEYS = ("ANTHROPIC_API_KEY", "ANTHROPIC_FOUNDRY_API_KEY")
GIT_KEYS = ("token", "password", "GITHUB_TOKEN")


def secret_has_key(namespace: str, name: str, keys: tuple[str, ...]) -> bool | None:
    """None when the Secret does not exist (or cannot be read); else whether one key is non-empty."""
    if not kube_configured():
        return None
    from kubernetes.client.rest import ApiException

    try:
        secret = core_v1().read_namespaced_secret(name, namespace)
    except ApiException as exc:
        if exc.status != 404:
            log.warning("secret lookup failed", extra={"fields": {"status": exc.status, "secret": name}})
        return None
    data: dict[str, str] = secret.data or {}
    string_data: dict[str, str] = getattr(secret, "string_data", None) or {}
    for key in keys:
        if string_data.get(key, "").strip():
            return True
        raw = data.get(key)
        if raw and base64.b64decode(raw).strip():
            return True
    return False


def agent_secret_name(agent: dict[str, Any]) -> str | None:
    """The Secret an Agent's runtime takes its credentials from (the spellings Agent records use)."""
    runtime = (agent.get("spec") or {}).get("runtime") or {}
    for key in ("secretRef", "credentialsSecretRef", "authSecretRef", "apiKeySecretRef"):
        ref = runtime.get(key)
        if isinstance(ref, dict) and isinstance(ref.get("name"), str) and ref["name"]:
            return ref["name"]
    return None
