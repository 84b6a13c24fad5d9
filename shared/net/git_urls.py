"""Git repository URLs a client may hand us, checked when they are accepted (task create, job submit).

Accepted: `https://host/path`, `ssh://[user@]host[:port]/path` and scp-like `user@host:path`; plain
`http://` only for hosts SHOAL_OUTBOUND_ALLOW names (an in-cluster or test git server).
Refused, each as a 400 naming the field:
- credentials in the URL (`https://x:TOKEN@host/…`, `https://TOKEN@host/…`, an ssh password):
  they would be stored and returned verbatim; a token belongs in a Secret named by `gitSecretRef`;
- any other scheme (`file://`, `git://`, `http://` to a host not allowed), remote-helper transports (`ext::…`, `fd::…`,
  which run commands), plain paths, and anything starting with `-` (read by git as an option);
- hosts that are loopback, link-local (cloud metadata), private or otherwise internal, unless
  SHOAL_OUTBOUND_ALLOW allows them (the outbound guard's own host rules, `check_host`).

At create, names are not resolved (validation works offline, and a name can point elsewhere by
clone time); the clone-time check (`resolve=True`, shared.runtimes.git_workspace) resolves them. Labrats jobs may carry a token in the URL (their spec
says so): `allow_credentials=True` keeps every other rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from shared.errors import Invalid
from shared.net.outbound import BlockedURL, allow_listed, check_host, literal_ip

SCHEMES = ("https", "ssh")
CREDENTIALS = "must not contain credentials; put the token in a Secret and name it in gitSecretRef"
_SCP = re.compile(r"(?:(?P<userinfo>[^@/]+)@)?(?P<host>\[[^\]/]*\]|[^:/\[\]]+):(?P<path>.*)", re.S)
_SCP_USER = re.compile(r"[A-Za-z0-9._-]+")
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f]")
_HELPER = re.compile(r"[A-Za-z0-9][A-Za-z0-9+.-]*::")  # git's `<transport>::<address>`
_HOST_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")  # never a leading '-'
Refusal = Callable[[str], Invalid]


def check_git_url(url: str, field: str, *, allow_credentials: bool = False, resolve: bool = False) -> None:
    """Invalid("invalid <field>: <reason>") unless `url` is a git URL we may store and clone; with
    `resolve`, every address the host resolves to must pass the outbound guard too (clone time)."""

    def bad(reason: str) -> Invalid:
        return Invalid(f"invalid {field}: {reason}")

    if not isinstance(url, str) or not url:
        raise bad("must be a non-empty string")
    if _UNSAFE.search(url):
        raise bad("must not contain whitespace or control characters")
    if url.startswith("-"):
        raise bad("must not start with '-'")
    if _HELPER.match(url):
        raise bad("remote helper transports such as ext:: are not allowed; use https, ssh or git@host:path")
    if "://" in url:
        host, port = _url_host(url, bad, allow_credentials)
    else:
        host, port = _scp_host(url, bad, allow_credentials)
    if literal_ip(host) is None and not _HOST_NAME.fullmatch(host):  # e.g. "-oProxyCommand=…" for ssh
        raise bad("has an invalid host")
    try:
        check_host(host, port=port, resolve=resolve)
    except BlockedURL as exc:
        raise bad(exc.message) from None


def _url_host(url: str, bad: Refusal, allow_credentials: bool) -> tuple[str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "http" and not (parts.hostname and allow_listed(parts.hostname, port=_port(parts) or 80)):
        raise bad("must use https (plain http only for hosts in SHOAL_OUTBOUND_ALLOW)")
    if scheme not in (*SCHEMES, "http"):
        raise bad(f'scheme "{scheme}" is not allowed; use https, ssh or git@host:path')
    # http(s): any userinfo is a credential (a token is often sent as the user name); ssh: a password.
    has_credentials = parts.password is not None or (scheme != "ssh" and parts.username is not None)
    if has_credentials and not allow_credentials:
        raise bad(CREDENTIALS)
    if not parts.hostname:
        raise bad("must name a host")
    try:
        port = parts.port
    except ValueError:
        raise bad("has an invalid port") from None
    if not parts.path.strip("/"):
        raise bad("must name a repository path")
    return parts.hostname, port


def _port(parts) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def _scp_host(url: str, bad: Refusal, allow_credentials: bool) -> tuple[str, int | None]:
    match = _SCP.fullmatch(url)
    if match is None:
        raise bad("must be an https, ssh or git@host:path URL")
    user = match.group("userinfo") or "git"
    if ":" in user and not allow_credentials:
        raise bad(CREDENTIALS)
    if not _SCP_USER.fullmatch(user.split(":", 1)[0]):
        raise bad("must be an https, ssh or git@host:path URL")
    path = match.group("path")
    if not path.strip("/") or path.startswith("-"):
        raise bad("must name a repository path")
    return match.group("host").strip("[]"), None
