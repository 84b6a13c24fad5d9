"""Operator credentials of the operator dialect: one static bearer key per operator.

LogJedi's operator sends one static header, `LLM_SERVICE_AUTH_HEADER` (as `Authorization`), and has
no Kubernetes token for Shoal. An operator key fits it: `Authorization: Bearer sok_…`. Each key has a
name (the operator) and the namespaces it may analyse (`*` = all). Only its hash is stored (SHA-256,
or HMAC-SHA256 with SHOAL_API_KEY_PEPPER, as API keys): a lookup record keyed by the hash and a
listing record keyed by the name, written in one transaction. Every request reads the lookup record
(no cache), so a revocation is effective at once on every replica.

Administration is a command run with the tables' credentials (a platform admin's):
    python -m shared.analyze.operator_keys create logjedi --namespaces shop,payments
    python -m shared.analyze.operator_keys list
    python -m shared.analyze.operator_keys revoke logjedi
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from shared.auth.api_keys import hash_key
from shared.auth.principal import Principal
from shared.auth.resolver import INVALID, authenticate, request_token
from shared.clock import now_rfc3339
from shared.errors import Conflict, Forbidden, Invalid, NotFound, ShoalError, Unauthorized
from shared.store import AlreadyExists, Companion, ObjectStore

KEY_PREFIX = "sok_"
SUBJECT_PREFIX = "operator:"
SCOPE = "_global"
ALL = "*"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_NAMESPACE = _NAME

keys = ObjectStore("operator-key")           # name -> {name, namespaces, prefix, createdAt, hash}
key_hashes = ObjectStore("operator-key-hash")  # hash -> {name}


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: doc[k] for k in ("name", "namespaces", "prefix", "createdAt")}


def create_key(name: str, namespaces: list[str]) -> dict[str, Any]:
    """A new key for operator `name` (409 when it has one); the result carries the key, shown only now."""
    if not _NAME.match(name):
        raise Invalid(f"operator name {name!r} must be a DNS label")
    if not namespaces or any(ns != ALL and not _NAMESPACE.match(ns) for ns in namespaces):
        raise Invalid("namespaces must be namespace names or *")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    digest = hash_key(key)
    doc = {"name": name, "namespaces": sorted(set(namespaces)), "prefix": key[:12], "createdAt": now_rfc3339(),
           "hash": digest}
    try:
        keys.create(SCOPE, name, doc, companions=(Companion(key_hashes, SCOPE, digest, {"name": name}),))
    except AlreadyExists:
        raise Conflict(f'operator "{name}" already has a key: revoke it first') from None
    return {**_public(doc), "key": key}


def list_keys() -> list[dict[str, Any]]:
    records, _ = keys.list_page(SCOPE, limit=None)
    return [_public(r.doc) for r in records]


def revoke_key(name: str) -> None:
    """The lookup record goes first: the key stops working at once."""
    record = keys.get(SCOPE, name)
    if record is None:
        raise NotFound(f'operator "{name}" has no key')
    key_hashes.delete(SCOPE, record.doc["hash"])
    keys.delete(SCOPE, name)


def verify(token: str) -> Principal | None:
    from shared.config import get_settings

    lookup = key_hashes.get(SCOPE, hash_key(token))
    listing = keys.get(SCOPE, lookup.doc["name"]) if lookup else None
    if listing is None:
        return None
    namespaces = list(listing.doc["namespaces"])
    # Bound to its first namespace for the route-level check; the handlers decide with operator_namespace.
    home = get_settings().default_namespace if ALL in namespaces else namespaces[0]
    return Principal(kind="apikey", subject=SUBJECT_PREFIX + listing.doc["name"], username=listing.doc["name"],
                     namespace=home, claims={"namespaces": namespaces})


def authenticate_operator(headers: Mapping[str, str]) -> Principal:
    """An operator key (`sok_…`), else the shared resolver (ServiceAccount, OIDC, dev token …)."""
    token = request_token(headers)
    if token.startswith(KEY_PREFIX):
        principal = verify(token)
        if principal is None:
            raise Unauthorized(INVALID)
        return principal
    return authenticate(headers)


def is_operator(principal: Principal) -> bool:
    return principal.kind == "apikey" and principal.subject.startswith(SUBJECT_PREFIX)


def operator_namespace(principal: Principal, requested: str, default: str) -> str:
    """The namespace an operator key acts in: the requested one if the key covers it (403 otherwise);
    none requested = its only namespace, or `default` for an all-namespaces key."""
    allowed = principal.claims.get("namespaces") or []
    if not requested:
        return allowed[0] if len(allowed) == 1 and allowed[0] != ALL else default
    if ALL in allowed or requested in allowed:
        return requested
    raise Forbidden(f'namespace "{requested}" not allowed for operator {principal.username}')


REACH = ("the tables' endpoint and credentials are needed: in a cluster run this in a Shoal pod; under `make run` "
         "set AWS_ENDPOINT_URL to the banner's `tables:` URL, with any AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json
    import sys

    from botocore.exceptions import BotoCoreError  # the CLI's only: boto3 is the store's, imported lazily

    from shared.store.outages import StoreUnavailable

    parser = argparse.ArgumentParser(prog="python -m shared.analyze.operator_keys",
                                     description="Operator keys of the operator dialect (/analyze).")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a key and print it (shown once)")
    create.add_argument("name")
    create.add_argument("--namespaces", default=ALL, help="comma-separated namespaces, or * (default)")
    sub.add_parser("list", help="list keys (no secrets)")
    revoke = sub.add_parser("revoke", help="revoke an operator's key at once")
    revoke.add_argument("name")
    args = parser.parse_args(argv)
    try:
        if args.command == "create":
            print(json.dumps(create_key(args.name, [n.strip() for n in args.namespaces.split(",") if n.strip()])))
        elif args.command == "list":
            print(json.dumps(list_keys()))
        else:
            revoke_key(args.name)
    except (ShoalError, BotoCoreError) as exc:  # one line, not a traceback: bad input, or no tables to reach
        message = exc.message if isinstance(exc, ShoalError) else str(exc)
        if isinstance(exc, StoreUnavailable | BotoCoreError):
            message += f" ({REACH})"
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
