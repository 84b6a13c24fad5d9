"""The one way to make outbound HTTP calls: timeouts plus an SSRF guard on every request and redirect.

The guard resolves the host and refuses loopback, link-local (incl. cloud metadata), private,
unique-local, multicast, reserved and unspecified addresses, unless the address or host name is
allowed by SHOAL_OUTBOUND_ALLOW. It checks every address the name resolves to, and runs again for
each redirect hop (the transport sees every request).
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from shared.config import get_settings
from shared.errors import Forbidden

if TYPE_CHECKING:  # httpx (with idna, http.cookiejar) loads with the first client, not at a cold start
    import httpx

METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}
# Digits, hex digits, `x` and dots only: what inet_aton may read as an IPv4 address.
_LEGACY_IPV4 = re.compile(r"(?i)[0-9a-fx.]+")


class BlockedURL(Forbidden):
    """The URL points somewhere the platform must not call."""


def _allow_list(extra: Iterable[str] = ()) -> tuple[list[ipaddress._BaseNetwork], set[str]]:
    nets, hosts = [], set()
    raw = [x.strip() for x in get_settings().outbound_allow.split(",") if x.strip()] + list(extra)
    for entry in raw:
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry.lower())
    return nets, hosts


def _forbidden_ip(ip: ipaddress._BaseAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified)


def check_url(url: str, *, schemes: tuple[str, ...] = ("http", "https"), allow: Iterable[str] = ()) -> None:
    """Raise BlockedURL unless `url` is an http(s) URL whose every resolved address may be called."""
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise BlockedURL(f"URL scheme {parts.scheme or '(none)'!r} is not allowed")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise BlockedURL("URL has no host")
    if parts.username or parts.password:
        raise BlockedURL("URL must not contain credentials")
    check_host(host, port=parts.port or (443 if parts.scheme == "https" else 80), allow=allow)


def literal_ip(host: str) -> ipaddress._BaseAddress | None:
    """The address a host name spells literally, legacy IPv4 forms included ("127.1", "0x7f.0.0.1",
    "2130706433": git, curl and the C resolver all read them as 127.0.0.1); None for a name."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        pass
    if _LEGACY_IPV4.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_host(host: str, *, port: int | None = None, allow: Iterable[str] = (), resolve: bool = True) -> None:
    """Raise BlockedURL unless calling `host` is allowed (SHOAL_OUTBOUND_ALLOW, then the address rules).

    With resolve=False a name is not looked up (validation that must work offline, where a later
    connect-time check resolves it); literal addresses, metadata names and `localhost` still count.
    """
    host = host.lower().rstrip(".")
    nets, hosts = _allow_list(allow)
    if host in hosts or host.strip("[]") in hosts:
        return
    if host in METADATA_HOSTS:
        raise BlockedURL(f"host {host} is not allowed")
    literal = literal_ip(host)
    if literal is not None:
        addresses = {literal}
    elif not resolve:
        if host != "localhost" and not host.endswith(".localhost"):
            return
        addresses = {ipaddress.ip_address("127.0.0.1")}  # RFC 6761: always loopback
    else:
        addresses = _addresses(host, port or 443)
    for ip in addresses:
        if _forbidden_ip(ip) and not any(ip in net for net in nets):
            raise BlockedURL(f"address {ip} of host {host} is not allowed")


def allow_listed(host: str, *, port: int = 443) -> bool:
    """True when SHOAL_OUTBOUND_ALLOW names `host`, or holds every address it resolves to.

    For callers that admit something weaker than the default (plain http for git) only for
    explicitly allowed peers; an unresolvable host is not allowed.
    """
    host = host.lower().rstrip(".")
    nets, hosts = _allow_list()
    if host in hosts:
        return True
    try:
        addresses = _addresses(host, port)
    except BlockedURL:
        return False
    return bool(addresses) and all(any(ip in net for net in nets) for ip in addresses)


def _addresses(host: str, port: int) -> set[ipaddress._BaseAddress]:
    literal = literal_ip(host)
    if literal is not None:
        return {literal}
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise BlockedURL(f"host {host} does not resolve") from None
    return {ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}


@functools.cache
def _transports() -> tuple[type[httpx.HTTPTransport], type[httpx.AsyncHTTPTransport]]:
    """The guarded transports, defined when the first client is made: every function imports this
    module (the auth resolver checks issuer URLs with it), few make an outbound call at once."""
    import httpx

    class GuardedTransport(httpx.HTTPTransport):
        def __init__(self, allow: tuple[str, ...], **kwargs) -> None:
            super().__init__(**kwargs)
            self._allow = allow

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            check_url(str(request.url), allow=self._allow)
            return super().handle_request(request)

    class GuardedAsyncTransport(httpx.AsyncHTTPTransport):
        def __init__(self, allow: tuple[str, ...], **kwargs) -> None:
            super().__init__(**kwargs)
            self._allow = allow

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            check_url(str(request.url), allow=self._allow)
            return await super().handle_async_request(request)

    return GuardedTransport, GuardedAsyncTransport


def outbound_client(*, timeout: float = 30.0, allow: Iterable[str] = (), follow_redirects: bool = False,
                    headers: dict[str, str] | None = None) -> httpx.Client:
    """An httpx client whose every request (and redirect hop) passes the SSRF guard."""
    import httpx

    guarded, _ = _transports()
    return httpx.Client(transport=guarded(tuple(allow)), timeout=timeout, follow_redirects=follow_redirects,
                        headers=headers)


def outbound_async_client(*, timeout: float | httpx.Timeout = 30.0, allow: Iterable[str] = (),
                          follow_redirects: bool = False, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    """The async twin of outbound_client (for SDKs that take an httpx.AsyncClient, e.g. MCP)."""
    import httpx

    _, guarded = _transports()
    return httpx.AsyncClient(transport=guarded(tuple(allow)), timeout=timeout, follow_redirects=follow_redirects,
                             headers=headers)
