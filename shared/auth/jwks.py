"""Signed-JWT verification shared by OIDC and Txn-Token: JWKS through PyJWT, fetched via the SSRF guard.

Keys come from PyJWT's `PyJWKClient` (JWK parsing, `kid` lookup, a cached key set refreshed when
a token names an unknown `kid`); only its HTTP fetch is replaced, so every JWKS and discovery
request goes through `shared.net.outbound` like any other outbound call. RS256 only: `alg: none`,
HS256 (e.g. signed with the public key as an HMAC secret) and every other algorithm are refused
before any key is looked up. PyJWT and cryptography load on first use, never at import.
"""

from __future__ import annotations

import base64
import inspect
import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.config import get_settings
from shared.net.outbound import outbound_client


class TokenRejected(Exception):
    """The token is not acceptable; the message says why (for logs, never for clients)."""


@dataclass(frozen=True)
class Peek:
    """A JWT's header and claims read WITHOUT verification: only for routing to an authenticator."""

    header: dict[str, Any]
    claims: dict[str, Any]


def _b64json(part: str) -> dict[str, Any] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def peek(token: str) -> Peek | None:
    """Header and claims of a compact JWS, or None when the token is not shaped like a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header, claims = _b64json(parts[0]), _b64json(parts[1])
    if header is None or claims is None:
        return None
    return Peek(header, claims)


def _check_url(url: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme != "https" and not (scheme == "http" and get_settings().auth_allow_http):
        raise TokenRejected(f"refusing non-https key URL {url}")


def _fetch_json(url: str) -> Any:
    _check_url(url)
    # An identity provider inside the cluster must be admitted by SHOAL_OUTBOUND_ALLOW like any other.
    try:
        with outbound_client(timeout=10.0) as http:
            response = http.get(url, headers={"Accept": "application/json"})
        if response.status_code != 200:
            raise TokenRejected(f"{url} answered {response.status_code}")
        return response.json()
    except TokenRejected:
        raise
    except Exception as exc:  # BlockedURL (SSRF guard), transport errors, a body that is not JSON
        raise TokenRejected(f"fetching {url} failed: {getattr(exc, 'message', None) or type(exc).__name__}") from None


_clients: dict[str, Any] = {}
_discovered: dict[str, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def _jwk_client(url: str) -> Any:
    """One cached PyJWKClient per JWKS URL (a cache: losing it costs one fetch)."""
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = _clients[url] = _make_client(url)
        return client


def _make_client(url: str) -> Any:
    from jwt import PyJWKClient
    from jwt.exceptions import PyJWKClientConnectionError

    settings = get_settings()

    class GuardedJWKClient(PyJWKClient):
        def fetch_data(self) -> Any:
            try:
                data = _fetch_json(self.uri)
            except TokenRejected as exc:
                raise PyJWKClientConnectionError(str(exc)) from None
            except Exception as exc:  # transport errors, bad JSON, BlockedURL
                raise PyJWKClientConnectionError(f"JWKS fetch failed: {type(exc).__name__}") from None
            validate = getattr(self, "_as_jwk_set_payload", None)
            if validate is not None:
                data = validate(data)
            if self.jwk_set_cache is not None:
                self.jwk_set_cache.put(data)
            if hasattr(self, "_last_successful_fetch"):
                self._last_successful_fetch = time.monotonic()
            return data

    kwargs: dict[str, Any] = {"cache_keys": False, "lifespan": settings.jwks_cache_seconds, "timeout": 10}
    if "cooldown_duration" in inspect.signature(PyJWKClient.__init__).parameters:
        kwargs["cooldown_duration"] = settings.jwks_refresh_cooldown_seconds
    return GuardedJWKClient(url, **kwargs)


def discovery_document(issuer: str) -> dict[str, Any]:
    """`<issuer>/.well-known/openid-configuration` (whose `issuer` must match), cached like the JWKS."""
    now = time.monotonic()
    cached = _discovered.get(issuer)
    if cached and cached[0] > now:
        return cached[1]
    doc = _fetch_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
    if not isinstance(doc, dict) or doc.get("issuer") != issuer:
        raise TokenRejected("OIDC discovery document does not match the issuer")
    _discovered[issuer] = (now + get_settings().jwks_cache_seconds, doc)
    return doc


def discover_jwks_url(issuer: str) -> str:
    """`jwks_uri` from the issuer's discovery document."""
    uri = discovery_document(issuer).get("jwks_uri")
    if not isinstance(uri, str):
        raise TokenRejected("OIDC discovery document does not match the issuer")
    return uri


def verify_rs256(token: str, *, jwks_url: str, issuer: str | None, audience: str,
                 require: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a valid RS256 token whose `kid` is in the JWKS; TokenRejected otherwise."""
    import jwt

    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"malformed token: {exc}") from None
    if header.get("alg") != "RS256":
        raise TokenRejected(f"algorithm {header.get('alg')!r} is not allowed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenRejected("token has no kid")
    try:
        key = _jwk_client(jwks_url).get_signing_key(kid)
        options: dict[str, Any] = {"require": require}
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer=issuer,
                            leeway=get_settings().jwt_leeway_seconds, options=options)
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"{type(exc).__name__}: {exc}") from None
    return header, claims


def reset_caches() -> None:
    """Forget JWKS clients and discovery results (tests switch identity providers)."""
    with _lock:
        _clients.clear()
        _discovered.clear()
