"""The official Kubernetes client, created lazily (importing it costs ~320 ms).

Configuration: SHOAL_KUBE_API_URL (+ SHOAL_KUBE_TOKEN) when set (tests run a fake API server over
HTTP this way), else the in-cluster ServiceAccount, else the local kubeconfig.
"""

from __future__ import annotations

import threading
from typing import Any

from shared.config import get_settings
from shared.errors import Unavailable

_lock = threading.Lock()
_client: Any = None


def api_client() -> Any:
    """A cached kubernetes.client.ApiClient."""
    global _client
    if _client is not None:
        return _client
    with _lock:
        if _client is None:
            from kubernetes import client, config

            settings = get_settings()
            if settings.kube_api_url:
                cfg = client.Configuration(host=settings.kube_api_url)
                if settings.kube_token:
                    cfg.api_key = {"BearerToken": settings.kube_token}
                    cfg.api_key_prefix = {"BearerToken": "Bearer"}
                _client = client.ApiClient(cfg)
            else:
                try:
                    config.load_incluster_config()
                except config.ConfigException:
                    try:
                        config.load_kube_config()
                    except (config.ConfigException, OSError):
                        # A clear 503 in the route's dialect, not a 500 with a traceback.
                        raise Unavailable("no Kubernetes API is configured (run in a pod, set "
                                          "SHOAL_KUBE_API_URL, or provide a kubeconfig)") from None
                _client = client.ApiClient()
        return _client


def reset_client() -> None:
    global _client
    with _lock:
        _client = None


def core_v1() -> Any:
    from kubernetes import client

    return client.CoreV1Api(api_client())


def batch_v1() -> Any:
    from kubernetes import client

    return client.BatchV1Api(api_client())


def custom_objects() -> Any:
    from kubernetes import client

    return client.CustomObjectsApi(api_client())
