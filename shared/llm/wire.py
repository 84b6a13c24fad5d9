"""A provider's own HTTP wire, for callers that already speak its format (the compat proxy).

The SDKs model every request and response (pydantic), about 2 ms a call: more than a proxied call to
a fast upstream takes. A same-wire proxy needs none of that, only the endpoint, the credentials, a
pooled keep-alive connection and the SDKs' retry rule. One `RawWire` per built provider (the
registry caches providers), so its connections are reused across requests.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shared.llm.base import ProviderError
from shared.net.hop import TransportHop

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})  # as the SDKs retry
MAX_RETRIES = 2
DEFAULT_BASE_URLS = {"openai": ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
                     "anthropic": ("ANTHROPIC_BASE_URL", "https://api.anthropic.com")}
ANTHROPIC_VERSION = "2023-06-01"


def base_url_for(wire: str, base_url: str | None) -> str:
    """The configured base URL, else the SDK's environment variable, else the vendor's endpoint."""
    env, default = DEFAULT_BASE_URLS[wire]
    return (base_url or os.environ.get(env) or default).rstrip("/")


def auth_headers(wire: str, api_key: str | None) -> dict[str, str]:
    if wire == "anthropic":
        return {"x-api-key": api_key or "", "anthropic-version": ANTHROPIC_VERSION}
    return {"Authorization": f"Bearer {api_key or 'unused'}"}


class RawWire:
    """POST JSON to `<base_url><path>` with the provider's credentials; failures are ProviderErrors
    worded as the SDK-backed providers word them ("<kind> provider error <status>: <message>")."""

    def __init__(self, kind: str, wire: str, base_url: str | None, api_key: str | None, timeout: float) -> None:
        self.kind, self.wire = kind, wire
        self._base_url = base_url_for(wire, base_url)
        self._headers = {**auth_headers(wire, api_key), "Content-Type": "application/json"}
        self._timeout = timeout
        self._client: Any = None
        self._hop: TransportHop | None = None
        self._lock = threading.Lock()

    def _http(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import httpx

                    self._client = httpx.Client(
                        base_url=self._base_url, headers=self._headers,
                        timeout=httpx.Timeout(self._timeout, connect=10.0),
                        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
        return self._client

    def _send(self, path: str, body: bytes, extra: dict[str, str] | None, *, stream: bool) -> Any:
        """One POST through the client's own transport (`TransportHop`); the answer read unless `stream`."""
        hop = self._hop
        if hop is None:
            client = self._http()  # takes the lock itself
            with self._lock:
                hop = self._hop = self._hop or TransportHop(client, self._base_url)
        return hop.post(path, body, {k: v for k, v in (extra or {}).items() if v}, stream=stream)

    def post(self, path: str, body: bytes, *, headers: dict[str, str] | None = None) -> bytes:
        """The upstream's 2xx body; retried like the SDKs (connection errors, 408/409/429/5xx)."""
        import httpx

        for attempt in range(MAX_RETRIES + 1):
            try:
                response = self._send(path, body, headers, stream=False)
            except httpx.HTTPError as exc:
                if attempt == MAX_RETRIES:
                    raise ProviderError(f"{self.kind} provider error: {type(exc).__name__}", retryable=True) from None
                self._pause(attempt, None)
                continue
            if response.status_code < 300:
                return response.content
            if response.status_code in RETRY_STATUSES and attempt < MAX_RETRIES:
                self._pause(attempt, response.headers.get("retry-after"))
                continue
            raise self._status_error(response.status_code, response.content)
        raise AssertionError("unreachable")

    @contextmanager
    def stream(self, path: str, body: bytes, *, headers: dict[str, str] | None = None) -> Iterator[Iterator[str]]:
        """The upstream's response lines, once it answered 2xx (a failure before that is raised here,
        retried like `post`; after it, a broken connection ends the lines with a ProviderError)."""
        import httpx

        for attempt in range(MAX_RETRIES + 1):
            try:
                response = self._send(path, body, headers, stream=True)
            except httpx.HTTPError as exc:
                if attempt == MAX_RETRIES:
                    raise ProviderError(f"{self.kind} provider error: {type(exc).__name__}", retryable=True) from None
                self._pause(attempt, None)
                continue
            if response.status_code >= 300:
                content = response.read()
                response.close()
                if response.status_code in RETRY_STATUSES and attempt < MAX_RETRIES:
                    self._pause(attempt, response.headers.get("retry-after"))
                    continue
                raise self._status_error(response.status_code, content)
            break
        try:
            yield self._lines(response)
        finally:
            response.close()

    def _lines(self, response: Any) -> Iterator[str]:
        import httpx

        try:
            yield from response.iter_lines()
        except httpx.HTTPError as exc:
            raise ProviderError(f"{self.kind} provider error: {type(exc).__name__}", retryable=True) from None

    def _status_error(self, status: int, content: bytes) -> ProviderError:
        return ProviderError(f"{self.kind} provider error {status}: {error_message(content)}", status=status,
                             retryable=status in RETRY_STATUSES)

    @staticmethod
    def _pause(attempt: int, retry_after: str | None) -> None:
        try:
            delay = float(retry_after) if retry_after else 0.5 * 2 ** attempt
        except ValueError:
            delay = 0.5 * 2 ** attempt
        time.sleep(min(delay, 8.0) * random.uniform(0.75, 1.0))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def error_message(content: bytes) -> str:
    """The message of a vendor error body (both vendors nest it under "error"), else the raw text."""
    try:
        doc = json.loads(content)
    except ValueError:
        return content[:200].decode("utf-8", "replace") or "empty response"
    error = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    return json.dumps(doc)[:200]


class SameWire:
    """For a provider class with `kind`, `wire`, `_base_url`, `_api_key`, `_timeout`: its `raw()` wire."""

    kind: str
    wire: str
    _base_url: str | None
    _api_key: str | None
    _timeout: float

    def raw(self) -> RawWire:
        """This provider's endpoint and credentials without the SDK, built once per provider."""
        wire = self.__dict__.get("_raw_wire")
        if wire is None:
            wire = self.__dict__.setdefault("_raw_wire", RawWire(self.kind, self.wire, self._base_url,
                                                                 self._api_key, self._timeout))
        return wire
