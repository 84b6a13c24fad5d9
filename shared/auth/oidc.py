"""OIDC JWT authentication (ORKA_OIDC_*): RS256 tokens of one issuer, for one audience.

A token whose `iss` is the configured issuer must pass here (no fall-through to other
authenticators); any other token is not ours. Checked: signature (key by `kid` from the JWKS URL or
discovery), `iss`, `aud`, `exp`, `nbf`, `iat` with a small leeway, a non-empty `sub`, and, when one is set, the
subject allow-list. Issuer and audience are what the spec requires: an empty allow-list admits every
valid token of the issuer (authorization, SAR or namespace isolation, still applies per route).
"""

from __future__ import annotations

import re
from functools import lru_cache

from shared.auth.jwks import Peek, TokenRejected, discover_jwks_url, verify_rs256
from shared.auth.principal import Principal
from shared.config import get_settings
from shared.logs import get_logger

log = get_logger("auth")
USERNAME_CLAIMS = ("preferred_username", "email", "name", "sub")


def configured() -> bool:
    settings = get_settings()
    return bool(settings.oidc_issuer and settings.oidc_audience)


def claims_ours(peeked: Peek | None) -> bool:
    return configured() and peeked is not None and peeked.claims.get("iss") == get_settings().oidc_issuer


@lru_cache(maxsize=64)
def _pattern(glob: str) -> re.Pattern[str]:
    # Only `*` and `?` are wildcards; everything else (brackets included) is literal.
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob) + r"\Z")


def subject_allowed(subject: str, allow_list: str) -> bool:
    patterns = [p.strip() for p in allow_list.split(",") if p.strip()]
    return any(_pattern(p).match(subject) for p in patterns)


def authenticate_oidc(token: str) -> Principal:
    """The principal of a token that claims our issuer; TokenRejected when it does not verify."""
    settings = get_settings()
    issuer, audience = settings.oidc_issuer or "", settings.oidc_audience or ""
    jwks_url = settings.oidc_jwks_url or discover_jwks_url(issuer)
    _, claims = verify_rs256(token, jwks_url=jwks_url, issuer=issuer, audience=audience,
                             require=["exp", "iss", "aud", "sub"])
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise TokenRejected("token has no subject")
    if settings.oidc_allowed_subjects.strip() and not subject_allowed(subject, settings.oidc_allowed_subjects):
        raise TokenRejected("subject is not in ORKA_OIDC_ALLOWED_SUBJECTS")
    username = next(str(claims[c]) for c in USERNAME_CLAIMS if isinstance(claims.get(c), str) and claims[c])
    groups = claims.get("groups")
    roles = claims.get("roles")
    return Principal(
        kind="oidc", subject=subject, username=username,
        namespace=settings.oidc_namespace or settings.default_namespace,
        groups=tuple(g for g in groups if isinstance(g, str)) if isinstance(groups, list) else (),
        claims={"iss": issuer, "email": claims.get("email") if isinstance(claims.get("email"), str) else None,
                "roles": [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else []})
