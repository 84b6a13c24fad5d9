"""Redact secrets from text before it becomes durable memory.

Patterns cover the credentials agents most often echo: provider API keys, cloud access keys,
GitHub/GitLab/Slack tokens, JWTs, PEM private keys, bearer tokens and `password=…`-style pairs.
"""

from __future__ import annotations

import functools
import re

REDACTED = "[REDACTED]"


_PATTERNS: tuple[tuple[str, int], ...] = (
    (r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
    (r"\bsk-ant-[A-Za-z0-9_\-]{16,}", 0),
    (r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{20,}", 0),
    (r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0),
    (r"\bgh[pousr]_[A-Za-z0-9]{30,}\b", 0),
    (r"\bgithub_pat_[A-Za-z0-9_]{30,}\b", 0),
    (r"\bglpat-[A-Za-z0-9_\-]{20,}\b", 0),
    (r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b", 0),
    (r"\bAIza[0-9A-Za-z_\-]{35}\b", 0),
    (r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\b", 0),
)
# Keep the label, hide the value: "Bearer abc" → "Bearer [REDACTED]", "password: x" → "password: [REDACTED]".
_LABELLED: tuple[str, ...] = (
    r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=\-]{8,}",
    r"(?i)(\b(?:password|passwd|pwd|secret|client_secret|api[_-]?key|access[_-]?token|auth[_-]?token"
    r"|token|private[_-]?key)\b\s*[:=]\s*[\"']?)[^\s\"',;]{4,}",
)


@functools.cache
def _patterns() -> tuple[tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...]]:
    """(whole matches, labelled values), compiled at the first redaction: the functions that load this
    module (memory, internal) would otherwise compile them at every cold start (~10 ms) to write none."""
    return tuple(re.compile(p, f) for p, f in _PATTERNS), tuple(re.compile(p) for p in _LABELLED)


def redact(text: str) -> str:
    whole, labelled = _patterns()
    for pattern in whole:
        text = pattern.sub(REDACTED, text)
    for pattern in labelled:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text
