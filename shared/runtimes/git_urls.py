"""Which git remotes a task may name (spec.workspace.gitRepo), and scrubbing secrets out of git's text.

Pure checks, no subprocess: the API can validate a Task with them, and git_workspace re-checks at clone.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from shared.errors import Invalid
from shared.net.outbound import BlockedURL, allow_listed, check_url

FIELD = "spec.workspace.gitRepo"
_SSH_SCHEMES = ("ssh", "git+ssh", "ssh+git")  # git treats all three as ssh
# `<transport>::<address>` hands the address to a remote helper (ext:: runs a command).
_REMOTE_HELPER = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*::")
# scp-like `[user@]host:path`: git reads it so only when no slash comes before the first colon.
_SCP = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):(?P<path>.+)$")


def check_git_url(url: str) -> None:
    """Raise Invalid unless `url` is a credential-free https, ssh or scp-like remote on an allowed host.

    Plain http is accepted only for hosts SHOAL_OUTBOUND_ALLOW names (a test or in-cluster git server);
    every host must pass the same SSRF guard as outbound HTTP (no loopback, metadata, private ranges).
    """
    if not isinstance(url, str) or not url:
        raise Invalid(f"{FIELD} must be a non-empty string")
    # Whitespace and control characters: git's credential protocol is line-based (CVE-2020-5260).
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise Invalid(f"{FIELD} must not contain whitespace or control characters")
    if _REMOTE_HELPER.match(url):
        raise Invalid(f"{FIELD} must not use a transport::address remote helper")
    if "://" in url:
        _check_url_form(url)
        return
    match = _SCP.match(url)
    if not match:
        raise Invalid(f"{FIELD} must be an https or ssh URL (local paths are not allowed)")
    _check_host(f"ssh://{match['host']}/", ("ssh",))


def _check_url_form(url: str) -> None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        hostname, port = parts.hostname or "", parts.port
    except ValueError:
        raise Invalid(f"{FIELD} has an invalid port") from None
    # A user name is how ssh says which account (ssh://git@host); anywhere else userinfo is a token.
    if parts.password is not None or (parts.username is not None and scheme not in _SSH_SCHEMES):
        raise Invalid(f"{FIELD} must not embed credentials; use gitSecretRef")
    if not hostname or hostname.startswith("-"):
        raise Invalid(f"{FIELD} must name a host")
    host = f"[{hostname}]" if ":" in hostname else hostname
    hostport = f"{host}:{port}" if port else host
    if scheme == "https":
        _check_host(f"https://{hostport}/", ("https",))
    elif scheme == "http":
        if not allow_listed(hostname, port=port or 80):
            raise Invalid(f"{FIELD} must use https (plain http only for hosts in SHOAL_OUTBOUND_ALLOW)")
        _check_host(f"http://{hostport}/", ("http",))
    elif scheme in _SSH_SCHEMES:
        _check_host(f"ssh://{hostport}/", ("ssh",))
    else:
        raise Invalid(f"{FIELD} scheme {scheme!r} is not allowed; use https or ssh")


def _check_host(url: str, schemes: tuple[str, ...]) -> None:
    try:
        check_url(url, schemes=schemes)
    except BlockedURL as e:
        raise Invalid(f"{FIELD}: {e.message}") from None


REDACTED = "[REDACTED]"
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s\"']+@")
_TOKENS = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9_]{4,}|github_pat_[A-Za-z0-9_]{4,}|glpat-[A-Za-z0-9_-]{8,})")
_LABELLED = (
    re.compile(r"(?i)(\bauthorization\s*:\s*(?:bearer|basic|token)\s+)[^\s\"',;]+"),
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    # git's credential protocol (GIT_TRACE, helper output) and `password=`-style pairs.
    re.compile(r"(?i)(\b(?:password|passwd|token)\s*[=:]\s*)[^\s\"',;]+"),
)


def redact(text: str) -> str:
    """`text` (git's stderr, a log line) with URL userinfo, GitHub tokens and auth headers hidden."""
    text = _USERINFO.sub(r"\1***@", text)
    text = _TOKENS.sub(REDACTED, text)
    for pattern in _LABELLED:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    return text
