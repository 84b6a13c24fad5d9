"""Clone-time checks of a git remote, and scrubbing secrets out of git's text.

The rules are the create-time ones (shared.net.git_urls); at clone the host's addresses are resolved
and checked too, since a name may point somewhere else by then.
"""

from __future__ import annotations

import re

from shared.net.git_urls import check_git_url as _check
from shared.redact import redact_text

FIELD = "spec.workspace.gitRepo"
# Beyond shared.redact: git's credential protocol (GIT_TRACE, helper output) and `password=` pairs.
_GIT_PAIRS = re.compile(r"(?i)(\b(?:password|passwd|token)\s*[=:]\s*)[^\s\"',;]+")


def check_git_url(url: str) -> None:
    """Raise Invalid unless `url` is a credential-free remote whose host may be called now."""
    _check(url, FIELD, resolve=True)


def redact(text: str) -> str:
    """`text` (git's stderr, a log line) with URL userinfo, tokens and auth headers hidden."""
    return _GIT_PAIRS.sub(lambda m: m.group(1) + "***", redact_text(text))
