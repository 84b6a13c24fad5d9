"""labrats API keys held in Kubernetes Secrets labelled `labrats.work/type=ai-api-key`.

The spec's ApiKeyWatcher keeps an in-memory index of those Secrets; here each process lists them
(one label-selected LIST in SHOAL_DEFAULT_NAMESPACE) at most every SECRET_KEYS_TTL seconds and keeps
only the hashes of their keys, so a new or deleted Secret takes effect within that time. The key is
the Secret's `key` (or `apiKey`, `api-key`) data entry. Without a Kubernetes API, or when the LIST
fails, there are no Secret keys (logged; SUBMIT_API_KEYS and created keys keep working).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time

from shared.config import get_settings
from shared.logs import get_logger

LABEL = "labrats.work/type=ai-api-key"
DATA_KEYS = ("key", "apiKey", "api-key")
SECRET_KEYS_TTL = 10.0

log = get_logger("auth")
_lock = threading.Lock()
_cache: dict[str, object] = {"at": None, "source": None, "keys": {}}


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _load(namespace: str) -> dict[str, str]:
    """digest → Secret name, for every labelled Secret with a key."""
    from shared.auth.kube_auth import kube_configured

    if not kube_configured():
        return {}
    from shared.kube import core_v1

    try:
        secrets = core_v1().list_namespaced_secret(namespace, label_selector=LABEL).items
    except Exception as exc:  # an unreachable or refusing apiserver: no Secret keys, not a 500
        log.warning("api-key Secrets not readable", extra={"fields": {"namespace": namespace,
                                                                      "error": type(exc).__name__}})
        return {}
    found: dict[str, str] = {}
    for secret in secrets:
        data = secret.data or {}
        raw = next((data[k] for k in DATA_KEYS if data.get(k)), None)
        if raw is None:
            continue
        try:
            key = base64.b64decode(raw).decode().strip()
        except (ValueError, UnicodeDecodeError):
            continue
        if key:
            found[_digest(key)] = secret.metadata.name
    return found


def secret_key_name(token: str) -> str | None:
    """The name of the labelled Secret holding `token`, or None."""
    settings = get_settings()
    namespace = settings.default_namespace
    source = (settings.kube_api_url, namespace)  # an answer from one apiserver is never reused for another
    with _lock:
        fresh = (_cache["at"] is not None and _cache["source"] == source
                 and time.monotonic() - float(_cache["at"]) < SECRET_KEYS_TTL)  # type: ignore[arg-type]
        keys = _cache["keys"] if fresh else None
    if keys is None:
        keys = _load(namespace)
        with _lock:
            _cache.update(at=time.monotonic(), source=source, keys=keys)
    digest = _digest(token)
    for candidate, name in keys.items():  # type: ignore[union-attr]
        if hmac.compare_digest(candidate, digest):
            return name
    return None


def clear() -> None:
    with _lock:
        _cache.update(at=None, source=None, keys={})
