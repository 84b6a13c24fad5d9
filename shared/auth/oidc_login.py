"""The dashboard's OIDC authorization-code login (the relying-party side).

Discovery, JWKS and ID-token signature checks are the shared machinery of `shared.auth.jwks`
(every fetch through the SSRF guard); this module adds what a login needs on top: the
authorization URL, the code exchange at the token endpoint (through `shared.net.outbound`), and the
ID-token checks a login adds (`aud` = our client id, `nonce` = the one we sent).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from shared.auth.jwks import TokenRejected, _check_url, discover_jwks_url, discovery_document, verify_rs256
from shared.auth.oidc import USERNAME_CLAIMS, subject_allowed
from shared.config import get_settings
from shared.errors import Forbidden, Invalid, Unauthorized, Unavailable, UpstreamError
from shared.logs import get_logger
from shared.net.outbound import outbound_client

log = get_logger("auth")
NOT_CONFIGURED = "OIDC login is not configured"
INVALID_STATE = "invalid OIDC state"


@dataclass(frozen=True)
class LoginConfig:
    issuer: str
    client_id: str
    client_secret: str
    redirect_url: str
    scopes: str


@dataclass(frozen=True)
class User:
    subject: str
    username: str
    email: str | None
    name: str | None


def config() -> LoginConfig:
    settings = get_settings()
    issuer = settings.dashboard_oidc_issuer or settings.oidc_issuer
    values = (issuer, settings.dashboard_oidc_client_id, settings.dashboard_oidc_client_secret,
              settings.dashboard_oidc_redirect_url, settings.dashboard_jwt_secret)
    if not all(values):
        raise Unavailable(NOT_CONFIGURED)
    return LoginConfig(issuer or "", settings.dashboard_oidc_client_id or "", settings.dashboard_oidc_client_secret or "",
                       settings.dashboard_oidc_redirect_url or "", settings.dashboard_oidc_scopes)


def _endpoint(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value:
        raise UpstreamError(f"OIDC discovery document has no {name}")
    return value


def _discovery(cfg: LoginConfig) -> dict[str, Any]:
    try:
        return discovery_document(cfg.issuer)
    except TokenRejected as exc:
        log.warning("oidc discovery failed", extra={"reason": str(exc)})
        raise UpstreamError("OIDC discovery failed") from None


def start() -> tuple[str, str, str]:
    """(authorization URL, state, nonce) of a new login."""
    cfg = config()
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    query = urlencode({"response_type": "code", "client_id": cfg.client_id, "redirect_uri": cfg.redirect_url,
                       "scope": cfg.scopes, "state": state, "nonce": nonce})
    authorize = _endpoint(_discovery(cfg), "authorization_endpoint")
    return f"{authorize}{'&' if '?' in authorize else '?'}{query}", state, nonce


def state_matches(expected: str, received: str) -> bool:
    return hmac.compare_digest(expected.encode(), received.encode())


def _exchange(cfg: LoginConfig, code: str) -> str:
    token_url = _endpoint(_discovery(cfg), "token_endpoint")
    try:
        _check_url(token_url)  # https only (http only with SHOAL_AUTH_ALLOW_HTTP)
        with outbound_client(timeout=10.0) as http:
            # client_secret_basic: the default client authentication of OIDC providers.
            response = http.post(token_url, data={"grant_type": "authorization_code", "code": code,
                                                  "redirect_uri": cfg.redirect_url},
                                 auth=(cfg.client_id, cfg.client_secret), headers={"Accept": "application/json"})
        body = response.json() if response.status_code == 200 else None
    except Exception as exc:  # BlockedURL, TokenRejected, transport errors, a body that is not JSON
        log.warning("oidc token exchange failed", extra={"reason": type(exc).__name__})
        raise UpstreamError("OIDC token exchange failed") from None
    if response.status_code in (400, 401):
        raise Unauthorized("OIDC code exchange was refused")  # a bad, reused or expired code
    token = body.get("id_token") if isinstance(body, dict) else None
    if not isinstance(token, str):
        raise UpstreamError("OIDC token exchange failed")
    return token


def finish(code: str, nonce: str) -> User:
    """Exchange the code and verify the ID token: the signed-in user."""
    cfg = config()
    if not code:
        raise Invalid("code is required")
    id_token = _exchange(cfg, code)
    try:
        _, claims = verify_rs256(id_token, jwks_url=discover_jwks_url(cfg.issuer), issuer=cfg.issuer,
                                 audience=cfg.client_id, require=["exp", "iat", "iss", "aud", "sub"])
    except TokenRejected as exc:
        log.warning("oidc id token rejected", extra={"reason": str(exc)})
        raise Unauthorized("invalid ID token") from None
    if not isinstance(claims.get("nonce"), str) or not state_matches(nonce, claims["nonce"]):
        raise Unauthorized("invalid ID token")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthorized("invalid ID token")
    if not subject_allowed(subject, get_settings().dashboard_allowed_subjects):
        raise Forbidden("user is not allowed to sign in")
    username = next(str(claims[c]) for c in USERNAME_CLAIMS if isinstance(claims.get(c), str) and claims[c])
    text = {k: claims[k] if isinstance(claims.get(k), str) else None for k in ("email", "name")}
    return User(subject, username, text["email"], text["name"])
