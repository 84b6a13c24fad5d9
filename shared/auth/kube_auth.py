"""Kubernetes-backed identity and authorization: TokenReview and SubjectAccessReview.

Active only where a Kubernetes API is configured (in a pod, or SHOAL_KUBE_API_URL), so a local run
without Kubernetes never calls one. Results are cached briefly: TokenReview by sha256(token) (the
token itself is never kept), SubjectAccessReview by (user, groups, attributes). The caches are only
caches: a cold replica asks the apiserver again.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from shared.auth.principal import Principal
from shared.auth.ttl_cache import TTLCache
from shared.config import get_settings
from shared.errors import Unavailable
from shared.kube import api_client
from shared.logs import get_logger

log = get_logger("auth")
_reviews = TTLCache()
_decisions = TTLCache()


def kube_configured() -> bool:
    """A Kubernetes API is reachable by configuration: SHOAL_KUBE_API_URL, or running in a pod."""
    return bool(get_settings().kube_api_url or os.environ.get("KUBERNETES_SERVICE_HOST"))


def _api_identity() -> str:
    # Part of every cache key: an answer from one apiserver is never reused for another.
    return get_settings().kube_api_url or "in-cluster"


def principal_from_user(user: Any) -> Principal:
    """A Principal from a TokenReview `status.user`; ServiceAccounts are bound to their namespace."""
    username = user.username or ""
    groups = tuple(user.groups or ())
    extra = {k: list(v) for k, v in (user.extra or {}).items()}
    parts = username.split(":")
    if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"] and parts[2] and parts[3]:
        return Principal(kind="serviceaccount", subject=username, username=username, namespace=parts[2],
                         groups=groups, claims={"uid": user.uid, "extra": extra})
    return Principal(kind="kubernetes", subject=username, username=username, namespace=None, groups=groups,
                     claims={"uid": user.uid, "extra": extra})


def review_token(token: str) -> Principal | None:
    """The TokenReview verdict for `token`: a Principal, or None when the apiserver does not know it."""
    key = (_api_identity(), hashlib.sha256(token.encode()).hexdigest())
    hit, cached = _reviews.get(key)
    if hit:
        return cached
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    audiences = [a.strip() for a in get_settings().token_audiences.split(",") if a.strip()]
    spec = client.V1TokenReviewSpec(token=token, audiences=audiences or None)
    try:
        review = client.AuthenticationV1Api(api_client()).create_token_review(
            client.V1TokenReview(api_version="authentication.k8s.io/v1", kind="TokenReview", spec=spec))
    except ApiException as exc:
        log.error("token review failed", extra={"fields": {"status": exc.status, "reason": exc.reason}})
        raise Unavailable("token review unavailable") from None
    except Exception as exc:  # transport errors: the apiserver is unreachable
        log.error("token review failed", extra={"fields": {"error": type(exc).__name__}})
        raise Unavailable("token review unavailable") from None
    status = review.status
    principal = None
    authenticated = bool(status is not None and status.authenticated and status.user is not None
                         and status.user.username)
    # With audiences requested, the apiserver must confirm at least one of them.
    if authenticated and (not audiences or set(status.audiences or ()) & set(audiences)):
        principal = principal_from_user(status.user)
    _reviews.put(key, principal, get_settings().token_cache_seconds)
    return principal


def subject_access_review(principal: Principal, *, namespace: str, verb: str, resource: str, group: str,
                          name: str | None = None, subresource: str | None = None) -> bool:
    """May the principal do `verb` on `group/resource` in `namespace`? Asked of the apiserver."""
    extra = principal.claims.get("extra") or {}
    key = (_api_identity(), principal.username, principal.groups, namespace, verb, group, resource, name, subresource)
    hit, cached = _decisions.get(key)
    if hit:
        return cached
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    attributes = client.V1ResourceAttributes(namespace=namespace, verb=verb, group=group, resource=resource,
                                             name=name or None, subresource=subresource or None)
    spec = client.V1SubjectAccessReviewSpec(user=principal.username, groups=list(principal.groups) or None,
                                            uid=principal.claims.get("uid"), extra=extra or None,
                                            resource_attributes=attributes)
    try:
        review = client.AuthorizationV1Api(api_client()).create_subject_access_review(
            client.V1SubjectAccessReview(api_version="authorization.k8s.io/v1", kind="SubjectAccessReview",
                                         spec=spec))
    except ApiException as exc:
        log.error("subject access review failed", extra={"fields": {"status": exc.status, "reason": exc.reason}})
        raise Unavailable("authorization check unavailable") from None
    except Exception as exc:
        log.error("subject access review failed", extra={"fields": {"error": type(exc).__name__}})
        raise Unavailable("authorization check unavailable") from None
    allowed = bool(review.status and review.status.allowed)
    _decisions.put(key, allowed, get_settings().authz_cache_seconds)
    return allowed


def reset_caches() -> None:
    _reviews.clear()
    _decisions.clear()
