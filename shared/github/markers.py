"""The hidden PR review marker: proof that a review of this repository, PR and exact head exists.

Format (an HTML comment GitHub does not render), placed unchanged in the review body, as Orka writes it:
    <!-- orka:pr-review repo=owner/repo pr=12 head_sha=<sha> sig=<hex> -->
`sig` = HMAC-SHA256(ORKA_PR_REVIEW_MARKER_SECRET, "owner/repo\\n12\\n<sha>") with repository and SHA
lower-cased (Orka's payload, so markers written by an Orka deployment with the same key verify here),
so it does not depend on any GitHub token and survives token rotation. Keys listed in
ORKA_PR_REVIEW_MARKER_PREVIOUS_SECRETS still verify during a key rotation. Markers written by earlier
Shoal versions (`orka-pr-review`, payload "repo#pr#sha") still verify. Comparisons are constant-time.

The secret is optional (the spec): without it a marker is still written, signed with the empty key
as Orka does, and no key verifies it. A marker then counts only when its author is the trusted author
(ORKA_PR_REVIEW_MARKER_TRUSTED_AUTHOR, else the GitHub user of the task's own token, the account that
posts the reviews); from the trusted author any marker for this repository, PR and head counts,
signed or legacy (no `sig`), as in Orka.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable

from shared.config import get_settings

_BLOCK = re.compile(r"<!--\s*orka[:-]pr-review\b(?P<attrs>.*?)-->", re.S)


def _payloads(repo: str, pr: int, sha: str) -> tuple[bytes, bytes]:
    """Orka's signed payload (what is written) and the one of earlier Shoal markers (still read)."""
    repo, sha = repo.strip().lower(), sha.strip().lower()  # GitHub's SHAs are lower-case hex
    return f"{repo}\n{pr}\n{sha}".encode(), f"{repo}#{pr}#{sha}".encode()


def _sign(key: str, payload: bytes) -> str:
    return hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()


def make_marker(repo: str, pr: int, sha: str) -> str:
    """The marker for this head; signed with the empty key when no secret is configured (Orka's fallback)."""
    key = (get_settings().pr_review_marker_secret or "").strip()
    sig = _sign(key, _payloads(repo, pr, sha)[0])
    return f"<!-- orka:pr-review repo={repo.strip().lower()} pr={pr} head_sha={sha.strip().lower()} sig={sig} -->"


def _keys() -> list[str]:
    settings = get_settings()
    previous = [k.strip() for k in settings.pr_review_marker_previous_secrets.split(",") if k.strip()]
    return [k for k in [(settings.pr_review_marker_secret or "").strip(), *previous] if k]


def _attrs(block: str) -> dict[str, str]:
    return dict(field.split("=", 1) for field in block.split() if "=" in field)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.lower().encode(), b.lower().encode())


def has_marker(bodies: Iterable[tuple[str, str | None]], repo: str, pr: int, sha: str, *,
               trusted_author: Callable[[], str] | None = None) -> bool:
    """Does any (body, author) carry a valid marker for exactly this repository, PR and head?

    `trusted_author` names the trusted author when ORKA_PR_REVIEW_MARKER_TRUSTED_AUTHOR is unset (the
    token's own login); it is called at most once, and only when a marker needs it."""
    keys, payloads = _keys(), _payloads(repo, pr, sha)
    expected = [_sign(k, p) for k in keys for p in payloads]
    trusted: list[str] = []

    def is_trusted(author: str | None) -> bool:
        if not trusted:
            configured = (get_settings().pr_review_marker_trusted_author or "").strip()
            trusted.append(configured or (trusted_author() if trusted_author else "") or "")
        return bool(trusted[0] and author and _same(author.strip(), trusted[0]))

    for body, author in bodies:
        for block in _BLOCK.finditer(body or ""):
            attrs = _attrs(block["attrs"])
            if not _same(attrs.get("head_sha", ""), sha.strip()):
                continue
            scoped = _same(attrs.get("repo", ""), repo.strip()) and attrs.get("pr") == str(pr)
            sig = attrs.get("sig", "")
            if scoped and sig and any(hmac.compare_digest(e.encode(), sig.lower().encode()) for e in expected):
                return True
            # Orka's trusted-author rule: a signed marker of this head, or the legacy `head_sha=` only form
            if (scoped or set(attrs) == {"head_sha"}) and is_trusted(author):
                return True
    return False
