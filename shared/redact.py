"""Credential-shaped values hidden from what Shoal shows: API responses and log lines.

One helper for both: `redact_text` for a string, `redact` for a JSON-like value. It hides URL
userinfo (`https://x:TOKEN@host` → `https://***@host`, where git tokens travel), GitHub tokens
(`ghp_…`, `gho_…`, `ghu_…`, `ghs_…`, `ghr_…`, `github_pat_…`), Shoal's own API keys (`lrk_…`),
provider keys (`sk-…`), AWS access key ids, JWTs and the value of `Bearer …` / `Authorization:
token|basic …`. A recognisable prefix stays, so a reader knows what kind of secret was there.

What it does not do: make a stored secret safe. Durable memory has its own, broader rules
(shared.memory.redact); stored documents keep what the worker needs (a labrats clone URL).
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"

# (pattern, replacement): the first group, when a pattern has one, is kept.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://userinfo@ — no quote or backslash inside, so a JSON log line stays valid JSON
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s\"'\\]+@"), r"\1" + MASK + "@"),
    (re.compile(r"\b(gh[pousr]_)[A-Za-z0-9]{8,}"), r"\1" + MASK),
    (re.compile(r"\b(github_pat_)[A-Za-z0-9_]{8,}"), r"\1" + MASK),
    (re.compile(r"\b(lrk_)[A-Za-z0-9_-]{20,}"), r"\1" + MASK),
    (re.compile(r"\b(sk-(?:ant-|proj-)?)[A-Za-z0-9_-]{20,}"), r"\1" + MASK),
    (re.compile(r"\b((?:AKIA|ASIA))[0-9A-Z]{16}\b"), r"\1" + MASK),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), MASK),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + MASK),
    (re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?(?:token|basic)\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + MASK),
)


# What any match of _RULES contains: case-sensitive literals, and (for the case-insensitive rules with
# letters) lowercase literals looked for in the lowercased text. Exact for ASCII text only: with
# IGNORECASE a pattern's `i`, `k` or `s` also matches four non-ASCII letters (U+0130, U+0131, U+017F,
# U+212A), so other text always goes through the rules.
_HINTS = ("://", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "lrk_", "sk-", "AKIA", "ASIA", "eyJ")
_HINTS_ANY_CASE = ("bearer", "authorization")


def _may_match(text: str) -> bool:
    """False only when no rule can match (most strings: a status, a name, a request's log line): one
    pass of substring searches instead of nine regular-expression scans (~60 µs for a log line)."""
    if not text.isascii() or any(hint in text for hint in _HINTS):
        return True
    lowered = text.lower()
    return any(hint in lowered for hint in _HINTS_ANY_CASE)


def redact_text(text: str) -> str:
    """`text` with every credential-shaped value masked."""
    if not _may_match(text):
        return text
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any) -> Any:
    """A copy of a JSON-like value with every string redacted (keys stay as they are)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
