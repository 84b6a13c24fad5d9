"""One POST target through a pooled httpx client's own transport: the hot outbound hops (the compat
proxy's upstream, every task event's sink) without `httpx.Client.send`'s layers.

What `Client.send` adds on top of the transport costs about as much CPU as the rest of a proxied call
(URL merging, the cookie jar, auth and redirect handling, event hooks, a log line): ~0.3 ms of ~1 ms in
process for the compat proxy, 150–240 µs of an event's POST (docs/performance.md, session 10). None of
it applies to these hops: the URL is fixed, there is no auth flow, redirects are not followed (the
client's default), and no cookies are kept (a same-wire proxy's one jar shared by every principal's
calls would hand one caller's upstream cookies to the next; the broker sets none). What stays is the
client's: its connection pool and limits, the proxy the environment names for the URL, its default
headers and its timeouts; answers are still `httpx.Response`s (decoded as the client decodes them) and
failures still `httpx.HTTPError`s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from shared.net.pool import pooled

if TYPE_CHECKING:  # httpx is imported when a hop is first made
    import httpx

MAX_HOPS = 64  # in all; targets are a handful (K_SINK, explicit sinks), stray ones must not grow the map


class TransportHop:
    """POSTs to `base_url` (plus a path) through `client`'s transport, with the client's headers and timeouts."""

    def __init__(self, client: httpx.Client, base_url: str) -> None:
        import httpx

        self.client = client
        self._headers = client.headers  # the client's defaults (Accept-Encoding, User-Agent, …) and its own
        self._extensions = {"timeout": client.timeout.as_dict()}
        self._urls: dict[str, httpx.URL] = {}
        self._base_url = base_url
        # The proxy the environment names for this URL (HTTP(S)_PROXY, NO_PROXY), as the client picks it.
        self._transport = client._transport_for_url(httpx.URL(base_url + "/"))

    def post(self, path: str, body: bytes, extra: dict[str, str] | None = None, *,
             stream: bool = False) -> httpx.Response:
        """The answer to one POST of `body` to `<base_url><path>`, read and closed unless `stream`;
        `extra` headers replace a default of the same name, as the client merges them."""
        import httpx

        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self._base_url + path)
        headers = self._headers
        if extra:
            headers = headers.copy()
            headers.update(extra)
        request = httpx.Request("POST", url, headers=headers, content=body, extensions=self._extensions)
        response = self._transport.handle_request(request)
        response.request = request
        if not stream:
            try:
                response.read()
            finally:
                response.close()
        return response


_hops: dict[tuple[str, str], TransportHop] = {}
_lock = threading.Lock()


def pooled_hop(purpose: str, factory: Callable[[], httpx.Client], url: str) -> TransportHop:
    """The hop to `url` over the process's pooled client for `purpose` (`shared.net.pool.pooled`),
    made once per target; remade when the pool hands out another client (after a fork or `close_all`)."""
    client = pooled(purpose, factory)
    key = (purpose, url)
    hop = _hops.get(key)
    if hop is not None and hop.client is client:
        return hop
    with _lock:
        hop = _hops.get(key)
        if hop is None or hop.client is not client:
            if len(_hops) >= MAX_HOPS:
                _hops.clear()  # rebuilding a hop is cheap (~20 µs); a leak per stray sink is not
            hop = _hops[key] = TransportHop(client, url)
        return hop
