"""Resolve the request's principal, once, in a fixed order of authenticators.

Order (DESIGN §5): ServiceAccount token via TokenReview, OIDC JWT, Txn-Token, API key, dev token.
Each authenticator returns a Principal, None ("not mine, try the next") or raises Unauthorized.
A token that names the OIDC issuer, or has `typ: txntoken+jwt`, is never sent to TokenReview: it
belongs to its own authenticator, which must accept it or refuse it. A task's model token
(`shoal_tt_…`, shared.auth.task_tokens) is recognised by its prefix before all of them, for the same
reason: it never leaves Shoal, not even to the apiserver.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping

from shared.auth import dashboard, oidc, task_tokens, txn
from shared.auth.jwks import TokenRejected, peek
from shared.auth.kube_auth import kube_configured, review_token
from shared.auth.messages import INVALID
from shared.auth.principal import Principal
from shared.config import get_settings
from shared.errors import Unauthorized
from shared.logs import get_logger

Authenticator = Callable[[str, Mapping[str, str]], Principal | None]

MISSING = "missing authorization header"
BAD_FORMAT = "invalid authorization header format"

log = get_logger("auth")


def _rejected(kind: str, exc: TokenRejected) -> Unauthorized:
    # The reason is logged for operators, never returned: a client learns only "invalid token".
    log.info("token rejected", extra={"fields": {"authenticator": kind, "reason": str(exc)}})
    return Unauthorized(INVALID)


def _is_dev_token(token: str) -> bool:
    # Under `make run` the printed dev token is never sent to an apiserver (it may be a real cluster).
    settings = get_settings()
    return bool(settings.platform == "local" and settings.dev_token
                and hmac.compare_digest(token.encode(), settings.dev_token.encode()))


def service_account_authenticator(token: str, headers: Mapping[str, str]) -> Principal | None:
    """Kubernetes TokenReview, where a Kubernetes API is configured (in a pod or SHOAL_KUBE_API_URL)."""
    if not token or not kube_configured() or _is_dev_token(token):
        return None
    peeked = peek(token)
    if oidc.claims_ours(peeked) or txn.is_txn_token(peeked):
        return None
    return review_token(token)


def oidc_authenticator(token: str, headers: Mapping[str, str]) -> Principal | None:
    if not token or not oidc.claims_ours(peek(token)):
        return None
    try:
        return oidc.authenticate_oidc(token)
    except TokenRejected as exc:
        raise _rejected("oidc", exc) from None


def txn_authenticator(token: str, headers: Mapping[str, str]) -> Principal | None:
    if not txn.configured():
        return None
    raw = txn.header_token(headers)
    if raw is None and token and txn.is_txn_token(peek(token)):
        if not txn.bearer_allowed():
            raise Unauthorized(txn.BEARER_REFUSED)
        raw = token
    if raw is None:
        return None
    try:
        return txn.authenticate_txn(raw)
    except TokenRejected as exc:
        raise _rejected("txn", exc) from None


def task_token_authenticator(token: str, headers: Mapping[str, str]) -> Principal | None:
    """A running task's model token; anything else is not this authenticator's."""
    if not token or not task_tokens.is_task_token(token):
        return None
    return task_tokens.authenticate_task_token(token)


def dashboard_session_authenticator(token: str, headers: Mapping[str, str]) -> Principal | None:
    """Shoal's own dashboard session JWT (the `auth_token` cookie's value) presented as a bearer token:
    the console calls the API with it for a user signed in through the OIDC login. It is the same
    principal the labrats routes get from the cookie (kind oidc, the default namespace)."""
    peeked = peek(token) if token else None
    if peeked is None or peeked.claims.get("iss") != "shoal-dashboard":
        return None

    claims = dashboard.verify(token, "session")
    if claims is None:
        raise Unauthorized(INVALID)
    return dashboard.session_principal(claims)


def dev_token_authenticator(token: str, headers: Mapping[str, str]) -> Principal | None:
    """The local platform's printed token; honoured only when the process runs under `make run`."""
    settings = get_settings()
    if not token or settings.platform != "local" or not settings.dev_token:
        return None
    if hmac.compare_digest(token.encode(), settings.dev_token.encode()):
        return Principal(kind="dev", subject="dev", username="dev", namespace=None, groups=("system:authenticated",))
    return None


# Authenticators in resolution order; an API-key authenticator goes before the dev token.
AUTHENTICATORS: list[Authenticator] = [task_token_authenticator, dashboard_session_authenticator,
                                       service_account_authenticator, oidc_authenticator, txn_authenticator,
                                       dev_token_authenticator]


def bearer_token(headers: Mapping[str, str]) -> str:
    """The token of `Authorization: Bearer <token>`, with Orka's 401 messages.

    Without an Authorization header, `x-api-key` carries the token (as in Orka: the Anthropic SDKs
    before 2.x send their key there).
    """
    value = headers.get("Authorization")
    if value is None or not value.strip():
        api_key = (headers.get("x-api-key") or "").strip()
        if api_key:
            return api_key
        raise Unauthorized(MISSING)
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(BAD_FORMAT)
    return token.strip()


def request_token(headers: Mapping[str, str]) -> str:
    """The bearer token, else `x-api-key` (Anthropic clients), else "" (no credential in those headers)."""
    value = headers.get("Authorization")
    if value is None or not value.strip():
        return (headers.get("x-api-key") or "").strip()
    return bearer_token(headers)


def authenticate(headers: Mapping[str, str]) -> Principal:
    """The caller's principal, or Unauthorized with the exact Orka message."""
    token = request_token(headers)
    if not token and not (txn.configured() and txn.header_token(headers)):
        raise Unauthorized(MISSING)
    for authenticator in AUTHENTICATORS:
        principal = authenticator(token, headers)
        if principal is not None:
            return principal
    raise Unauthorized(INVALID)
