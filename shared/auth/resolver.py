"""Resolve the request's principal, once, in a fixed order of authenticators.

Order (DESIGN §5): ServiceAccount token via TokenReview, OIDC JWT, Txn-Token, API key, dev token.
Each authenticator returns a Principal, None ("not mine, try the next") or raises Unauthorized.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping

from shared.auth.principal import Principal
from shared.config import get_settings
from shared.errors import Unauthorized

Authenticator = Callable[[str, Mapping[str, str]], Principal | None]

MISSING = "missing authorization header"
BAD_FORMAT = "invalid authorization header format"
INVALID = "invalid token"


def dev_token_authenticator(token: str, headers: Mapping[str, str]) -> Principal | None:
    """The local platform's printed token; honoured only when the process runs under `make run`."""
    settings = get_settings()
    if settings.platform != "local" or not settings.dev_token:
        return None
    if hmac.compare_digest(token.encode(), settings.dev_token.encode()):
        return Principal(kind="dev", subject="dev", username="dev", namespace=None, groups=("system:authenticated",))
    return None


# Authenticators in resolution order; later issues insert TokenReview, OIDC, Txn-Token and API keys.
AUTHENTICATORS: list[Authenticator] = [dev_token_authenticator]


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


def authenticate(headers: Mapping[str, str]) -> Principal:
    """The caller's principal, or Unauthorized with the exact Orka message."""
    token = bearer_token(headers)
    for authenticator in AUTHENTICATORS:
        principal = authenticator(token, headers)
        if principal is not None:
            return principal
    raise Unauthorized(INVALID)
