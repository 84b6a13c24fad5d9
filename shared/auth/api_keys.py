"""API keys of the labrats dialect: `Authorization: Bearer <key>`.

Accepted keys: SUBMIT_API_KEYS (comma-separated, the spec's fast path, compared in constant time),
keys created through `/api/api-keys`, and keys in Secrets labelled `labrats.work/type=ai-api-key`
(shared.auth.secret_api_keys, listed at most every 10 s). A created key is stored only as a hash (SHA-256, or
HMAC-SHA256 with SHOAL_API_KEY_PEPPER) in a lookup record keyed by that hash, plus a listing record
with the display prefix and a name record that keeps names unique per owner: all three in one
transaction, so a duplicate name is a 409 however many creates race. Authentication reads the
lookup record with a consistent GetItem on every request (no in-process cache), so a revocation is
effective at once on every replica.

`authenticate_api_key` is a dialect authenticator for `Router(authenticator=...)`: it tries the API
keys, then falls back to the shared resolver (dev token, and whatever other identities it accepts).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from shared.auth import dashboard
from shared.auth.key_hash import hash_key
from shared.auth.principal import Principal
from shared.auth.resolver import authenticate, bearer_token, dev_token_authenticator
from shared.clock import now_rfc3339
from shared.config import get_settings
from shared.errors import Conflict, NotFound, Unauthorized
from shared.store import AlreadyExists, Companion, ObjectStore, VersionConflict

KEY_PREFIX = "lrk_"
PREFIX_CHARS = 12            # what lists show: "lrk_" + 8 characters
SCOPE = "_global"            # API keys are not namespaced: one partition for the whole platform

keys = ObjectStore("apikey")          # listing: id -> {id, name, prefix, createdAt}
key_hashes = ObjectStore("apikeyhash")  # lookup: hash -> {id}
# Uniqueness: one item per (owner, name), partition = sha256(owner), sort key = name -> {id}. It is
# created in the same transaction as the key's two records, so two concurrent creates of one name
# cannot both succeed (a conditional put, not a read-then-write check).
key_names = ObjectStore("apikeyname")

INVALID_KEY = "invalid API key"


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["id"], "name": doc["name"], "prefix": doc["prefix"], "createdAt": doc["createdAt"]}


def _owner_scope(owner: str) -> str:
    # Subjects are free-form (OIDC `sub`, e-mail, "apikey:…"): a digest keeps the partition key short.
    return hashlib.sha256(owner.encode()).hexdigest()


def duplicate_name(name: str) -> Conflict:
    return Conflict(f'API key "{name}" already exists')


def create_key(name: str, created_by: str) -> dict[str, Any]:
    """Store a new key, unique by name per owner (409 otherwise); the returned dict carries the full
    key (the only time it is shown). Name, lookup and listing records are one transaction."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = uuid.uuid4().hex[:12]
    doc = {"id": key_id, "name": name, "prefix": key[:PREFIX_CHARS], "createdAt": now_rfc3339(),
           "createdBy": created_by}
    records = (Companion(key_hashes, SCOPE, hash_key(key), {"id": key_id}),
               Companion(keys, SCOPE, key_id, {**doc, "hash": hash_key(key)}))
    scope = _owner_scope(created_by)
    try:
        key_names.create(scope, name, {"id": key_id}, companions=records)
    except AlreadyExists:
        _take_stale_name(scope, name, key_id, records)
    return {**_public(doc), "key": key}


def _take_stale_name(scope: str, name: str, key_id: str, records: tuple[Companion, ...]) -> None:
    """The name is taken: by a live key (409), or by one whose revocation stopped before freeing its
    name, which this create then takes over, conditional on the name record it read."""
    entry = key_names.get(scope, name)
    if entry is None or keys.get(SCOPE, entry.doc.get("id", "")) is not None:
        raise duplicate_name(name)
    try:
        key_names.replace(scope, name, {"id": key_id}, expected_version=entry.version, companions=records)
    except VersionConflict:
        raise duplicate_name(name) from None


def list_keys() -> list[dict[str, Any]]:
    records, _ = keys.list_page(SCOPE, limit=None)
    return sorted((_public(r.doc) for r in records), key=lambda d: d["createdAt"])


def revoke_key(key_id: str) -> None:
    """Revoke at once (the lookup record goes first), then free the key's name for its owner."""
    record = keys.get(SCOPE, key_id)
    if record is None:
        raise NotFound("API key not found")
    key_hashes.delete(SCOPE, record.doc["hash"])
    keys.delete(SCOPE, key_id)
    scope = _owner_scope(str(record.doc.get("createdBy", "")))
    entry = key_names.get(scope, str(record.doc.get("name", "")))
    if entry is not None and entry.doc.get("id") == key_id:  # keys made before names were unique have none
        with contextlib.suppress(VersionConflict):  # taken over meanwhile: no longer ours to free
            key_names.delete(scope, entry.name, expected_version=entry.version)


def verify(token: str) -> Principal | None:
    """The principal of a valid API key, or None when the token is not one."""
    settings = get_settings()
    for configured in (k.strip() for k in settings.submit_api_keys.split(",")):
        if configured and hmac.compare_digest(configured.encode(), token.encode()):
            return Principal(kind="apikey", subject="apikey:env", username="submit-api-key",
                             namespace=settings.default_namespace)
    lookup = key_hashes.get(SCOPE, hash_key(token))
    if lookup is None:
        from shared.auth.secret_api_keys import secret_key_name

        secret = secret_key_name(token)  # a labelled Secret's key (the spec's ApiKeyWatcher)
        if secret is None:
            return None
        return Principal(kind="apikey", subject=f"apikey:secret:{secret}", username=secret,
                         namespace=settings.default_namespace)
    listing = keys.get(SCOPE, lookup.doc["id"])
    if listing is None:  # revoked between the two deletes
        return None
    return Principal(kind="apikey", subject=f"apikey:{listing.doc['id']}", username=listing.doc["name"],
                     namespace=settings.default_namespace)


def authenticate_api_key(headers: Mapping[str, str]) -> Principal:
    """API key, else the shared resolver (dev token, ...); 401 with the shared messages otherwise."""
    token = bearer_token(headers)
    principal = verify(token)
    if principal is not None:
        return principal
    try:
        return authenticate(headers)
    except Unauthorized:
        raise Unauthorized(INVALID_KEY) from None


def authenticate_dashboard(headers: Mapping[str, str]) -> Principal:
    """API key (or the shared resolver) when an Authorization header is sent, else the session cookie."""
    token = dashboard.cookie(headers, dashboard.SESSION_COOKIE)
    if headers.get("Authorization") or not token:
        return authenticate_api_key(headers)
    claims = dashboard.verify(token, "session")
    if claims is not None:
        return dashboard.session_principal(claims)
    principal = dev_token_authenticator(token, headers)  # `make run`: the dev token works as a cookie too
    if principal is not None:
        return principal
    raise Unauthorized(dashboard.INVALID_SESSION)
