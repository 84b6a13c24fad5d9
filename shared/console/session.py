"""Who the console acts for: the caller's credential, kept in cookies, and the CSRF check of its writes.

The console holds no privilege of its own. It forwards the caller's credential to the public API,
which authenticates and authorizes exactly as for any client:

- a pasted token (the `make run` dev token, a Kubernetes ServiceAccount/`kubectl create token`
  token, an OIDC JWT) lives in the HttpOnly, SameSite=Strict cookie `shoal_console_token`;
- otherwise the labrats dashboard's `auth_token` cookie (its OIDC login, `shared.auth.dashboard`).

Either is sent to the API as `Authorization: Bearer`. Writes authenticated by a cookie need a CSRF
token: an HMAC of the credential (so it is bound to this sign-in and needs no server state), sent
as the `csrf` form field or the `X-CSRF-Token` header, and no cross-site `Sec-Fetch-Site`. The
sign-in form itself is protected by a double-submit cookie (`shoal_console_login`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from shared.auth.dashboard import SESSION_COOKIE, is_https
from shared.errors import Forbidden

TOKEN_COOKIE = "shoal_console_token"
LOGIN_COOKIE = "shoal_console_login"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
CSRF_REFUSED = "CSRF check failed: reload the page and try again"
LOGIN_SECONDS = 1800
_CSRF_CONTEXT = b"shoal-console-csrf-v1"


def credential(request: Any) -> str | None:
    """The bearer token the console forwards for this caller, or None (not signed in)."""
    return request.cookies.get(TOKEN_COOKIE) or request.cookies.get(SESSION_COOKIE) or None


def csrf_token(cred: str) -> str:
    return hmac.new(cred.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


def _same_origin(request: Any) -> bool:
    """Not a cross-site request by the browser's own account (`Sec-Fetch-Site`). The `Origin` host
    cannot be compared with ours: the gateway rewrites Host to the function's service name."""
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


def _sent_token(request: Any) -> str:
    return request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""


def check_csrf(request: Any, cred: str) -> None:
    """403 unless this cookie-authenticated write carries the credential's CSRF token, same-origin."""
    if not _same_origin(request) or not hmac.compare_digest(_sent_token(request), csrf_token(cred)):
        raise Forbidden(CSRF_REFUSED)


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def check_login_csrf(request: Any) -> None:
    expected = request.cookies.get(LOGIN_COOKIE) or ""
    if not expected or not _same_origin(request) or not hmac.compare_digest(_sent_token(request), expected):
        raise Forbidden(CSRF_REFUSED)


def set_cookie(response: Any, request: Any, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="Strict",
                        secure=is_https(request))


def clear_credentials(response: Any, request: Any) -> None:
    for name in (TOKEN_COOKIE, SESSION_COOKIE):
        samesite = "Strict" if name == TOKEN_COOKIE else "Lax"
        response.delete_cookie(name, path="/", httponly=True, samesite=samesite, secure=is_https(request))
