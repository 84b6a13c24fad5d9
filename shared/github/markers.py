"""The hidden PR review marker: proof that a review of this repository, PR and exact head exists.

Format (an HTML comment GitHub does not render), placed unchanged in the review body:
    <!-- orka-pr-review repo=owner/repo pr=12 head_sha=<40 hex> sig=<hex> -->
`sig` = HMAC-SHA256(ORKA_PR_REVIEW_MARKER_SECRET, "owner/repo#12#<sha>") over lower-cased fields,
so it does not depend on any GitHub token and survives token rotation. Keys listed in
ORKA_PR_REVIEW_MARKER_PREVIOUS_SECRETS still verify during a key rotation. A legacy marker
without `sig` counts only when its author is the trusted author. Comparisons are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

from shared.config import get_settings

_MARKER = re.compile(r"<!--\s*orka-pr-review\s+repo=(?P<repo>\S+)\s+pr=(?P<pr>\d+)\s+head_sha=(?P<sha>[0-9a-fA-F]+)"
                     r"(?:\s+sig=(?P<sig>[0-9a-fA-F]+))?\s*-->")


class MarkerKeyMissing(Exception):
    """No ORKA_PR_REVIEW_MARKER_SECRET: markers cannot be signed."""


def _message(repo: str, pr: int, sha: str) -> bytes:
    return f"{repo.lower()}#{pr}#{sha.lower()}".encode()


def _sign(key: str, repo: str, pr: int, sha: str) -> str:
    return hmac.new(key.encode(), _message(repo, pr, sha), hashlib.sha256).hexdigest()


def make_marker(repo: str, pr: int, sha: str) -> str:
    key = get_settings().pr_review_marker_secret
    if not key:
        raise MarkerKeyMissing("ORKA_PR_REVIEW_MARKER_SECRET is not set")
    return f"<!-- orka-pr-review repo={repo.lower()} pr={pr} head_sha={sha.lower()} sig={_sign(key, repo, pr, sha)} -->"


def _keys() -> list[str]:
    settings = get_settings()
    previous = [k.strip() for k in settings.pr_review_marker_previous_secrets.split(",") if k.strip()]
    return [k for k in [settings.pr_review_marker_secret or "", *previous] if k]


def has_marker(bodies: Iterable[tuple[str, str | None]], repo: str, pr: int, sha: str) -> bool:
    """Does any (body, author) carry a valid marker for exactly this repository, PR and head?"""
    keys = _keys()
    trusted = get_settings().pr_review_marker_trusted_author
    for body, author in bodies:
        for match in _MARKER.finditer(body or ""):
            if (match["repo"].lower() != repo.lower() or int(match["pr"]) != pr
                    or match["sha"].lower() != sha.lower()):
                continue
            sig = match["sig"]
            if sig is None:
                if trusted and author and hmac.compare_digest(author.lower().encode(), trusted.lower().encode()):
                    return True
                continue
            if any(hmac.compare_digest(_sign(k, repo, pr, sha).encode(), sig.lower().encode()) for k in keys):
                return True
    return False
