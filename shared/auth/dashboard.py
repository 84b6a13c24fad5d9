"""The labrats dashboard session: the `auth_token` cookie and its authenticator.

After the OIDC login (`shared.auth.oidc_login`), Shoal issues its own short JWT (HS256, signed with
SHOAL_DASHBOARD_JWT_SECRET, `iss`/`aud` "shoal-dashboard", `typ` "session") in an HttpOnly,
SameSite=Lax cookie (Secure when the request came over https). The login state travels in a second,
shorter-lived JWT cookie (`typ` "oidc-state") so the callback needs no server-side storage.

`authenticate_dashboard` is the jobs routers' authenticator: an `Authorization` header goes to the
API keys authenticator; otherwise a valid `auth_token` cookie (or, on the local platform, the dev
token in that cookie) is the principal; an invalid or expired cookie is a 401.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from shared.auth.principal import Principal
from shared.config import get_settings
from shared.errors import Unavailable

SESSION_COOKIE = "auth_token"
STATE_COOKIE = "oidc_state"
STATE_SECONDS = 600
ISSUER = AUDIENCE = "shoal-dashboard"
INVALID_SESSION = "invalid or expired session"
MIN_SECRET_BYTES = 32


def _secret() -> str:
    secret = get_settings().dashboard_jwt_secret
    if not secret or len(secret.encode()) < MIN_SECRET_BYTES:
        # A short HMAC key can be brute-forced offline from any issued cookie.
        raise Unavailable("OIDC login is not configured")
    return secret


def sign(claims: dict[str, Any], typ: str, lifetime: int) -> str:
    import jwt

    now = int(time.time())
    body = {**claims, "iss": ISSUER, "aud": AUDIENCE, "typ": typ, "iat": now, "exp": now + lifetime}
    return jwt.encode(body, _secret(), algorithm="HS256")


def verify(token: str, typ: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired token of this type signed with our key; None otherwise."""
    import jwt

    try:
        claims = jwt.decode(token, _secret(), algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER,
                            options={"require": ["exp", "iat", "iss", "aud", "sub"]})
    except (jwt.PyJWTError, Unavailable):
        return None
    return claims if claims.get("typ") == typ else None


def issue_session(subject: str, username: str, email: str | None, name: str | None) -> str:
    claims = {"sub": subject, "username": username, "email": email, "name": name}
    return sign({k: v for k, v in claims.items() if v is not None}, "session",
                get_settings().dashboard_session_seconds)


def session_principal(claims: dict[str, Any]) -> Principal:
    return Principal(kind="oidc", subject=str(claims["sub"]), username=str(claims.get("username") or claims["sub"]),
                     namespace=get_settings().default_namespace,
                     claims={"iss": ISSUER, "email": claims.get("email"), "name": claims.get("name"),
                             "dashboard": True})


def cookie(headers: Mapping[str, str], name: str) -> str | None:
    from werkzeug.http import parse_cookie

    return parse_cookie(headers.get("Cookie", "")).get(name) or None


def is_https(request: Any) -> bool:
    """The browser talked https (directly, or to the gateway in front of us)."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.scheme == "https" or forwarded == "https"
