"""Txn-Token authentication (ORKA_CONTEXT_TOKEN_*; draft-ietf-oauth-transaction-tokens).

Read from the `Txn-Token` header; from `Authorization: Bearer` only when ORKA_CONTEXT_TOKEN_HEADERS
lists `Authorization:Bearer`. Checked: header `typ` exactly `txntoken+jwt` (the older `txn_token`
and `N_A` spellings are refused on purpose), RS256 with a `kid` from the JWKS (default
`<issuer>/.well-known/jwks.json`), `iss`, `aud` (the trust domain), `exp`/`iat`/`nbf` with leeway,
and non-empty `sub`, `txn`, `scope`, `req_wl`. The namespace is `tctx.namespace`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from shared.auth.jwks import Peek, TokenRejected, verify_rs256
from shared.auth.principal import Principal
from shared.config import get_settings

TYP = "txntoken+jwt"
HEADER = "Txn-Token"
REQUIRED_STRINGS = ("sub", "txn", "scope", "req_wl")
BEARER_REFUSED = "context tokens must be sent in the Txn-Token header"


def configured() -> bool:
    settings = get_settings()
    return bool(settings.context_token_issuer and settings.context_token_audience)


def bearer_allowed() -> bool:
    entries = {e.strip().lower().replace(" ", "") for e in get_settings().context_token_headers.split(",")}
    return "authorization:bearer" in entries


def is_txn_token(peeked: Peek | None) -> bool:
    return peeked is not None and str(peeked.header.get("typ", "")).lower() == TYP


def digest(value: Any) -> str | None:
    if value is None:
        return None
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def header_token(headers: Mapping[str, str]) -> str | None:
    value = (headers.get(HEADER) or "").strip()
    return value or None


def authenticate_txn(token: str) -> Principal:
    """The principal of a verified Txn-Token; TokenRejected otherwise."""
    settings = get_settings()
    issuer, audience = settings.context_token_issuer or "", settings.context_token_audience or ""
    jwks_url = settings.context_token_jwks_url or issuer.rstrip("/") + "/.well-known/jwks.json"
    import jwt

    try:
        typ = jwt.get_unverified_header(token).get("typ")
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"malformed token: {exc}") from None
    if typ != TYP:
        raise TokenRejected(f"typ {typ!r} is not {TYP}")
    header, claims = verify_rs256(token, jwks_url=jwks_url, issuer=issuer, audience=audience,
                                  require=["exp", "iat", "iss", "aud", *REQUIRED_STRINGS])
    for name in REQUIRED_STRINGS:
        if not isinstance(claims.get(name), str) or not claims[name].strip():
            raise TokenRejected(f"claim {name} must be a non-empty string")
    tctx = claims.get("tctx") if isinstance(claims.get("tctx"), dict) else {}
    namespace = tctx.get("namespace") if isinstance(tctx.get("namespace"), str) and tctx.get("namespace") else None
    username = next((str(tctx[k]) for k in ("username", "preferred_username", "email")
                     if isinstance(tctx.get(k), str) and tctx[k]), claims["sub"])
    aud = claims.get("aud")
    return Principal(
        kind="txn", subject=claims["sub"], username=username, namespace=namespace,
        groups=tuple(g for g in tctx.get("groups", []) if isinstance(g, str)) if isinstance(tctx.get("groups"), list)
        else (),
        claims={"iss": issuer, "aud": aud, "txn": claims["txn"], "scope": claims["scope"],
                "req_wl": claims["req_wl"], "tctx": tctx, "rctx": claims.get("rctx"),
                "profile": settings.context_token_profile or "kontxt", "kid": header.get("kid"),
                "email": tctx.get("email") if isinstance(tctx.get("email"), str) else None,
                "roles": [r for r in tctx.get("roles", []) if isinstance(r, str)]
                if isinstance(tctx.get("roles"), list) else []})
