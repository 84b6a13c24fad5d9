"""web_search (pluggable backends) and web_fetch (through the SSRF-guarded outbound client)."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

from shared.agent.tools import Tool, fail, ok
from shared.config import get_settings
from shared.llm.base import ToolSpec
from shared.net.outbound import BlockedURL, outbound_client

MAX_FETCH_BYTES = 5 * 1024 * 1024
SearchBackend = Callable[[str, int], list[dict[str, Any]]]


def _tavily(query: str, limit: int) -> list[dict[str, Any]]:
    key = get_settings().web_search_api_key
    with outbound_client(timeout=20.0) as client:
        response = client.post("https://api.tavily.com/search",
                               json={"api_key": key, "query": query, "max_results": limit})
    response.raise_for_status()
    return [{"title": r.get("title"), "url": r.get("url"), "content": r.get("content")}
            for r in response.json().get("results", [])][:limit]


# Backends by name (SHOAL_WEB_SEARCH_BACKEND); add one here to plug another search API in.
BACKENDS: dict[str, SearchBackend] = {"tavily": _tavily}


def search(args: dict[str, Any]) -> dict:
    query = args.get("query")
    if not isinstance(query, str) or not query.strip():
        return fail("query is required")
    try:
        limit = min(20, max(1, int(args.get("limit", 5))))
    except (TypeError, ValueError):
        return fail("limit must be an integer")
    name = get_settings().web_search_backend
    backend = BACKENDS.get(name)
    if backend is None:
        return fail("web_search has no search backend configured on this platform" if not name
                    else f"unknown web_search backend {name!r}", "internal_error",
                    "set SHOAL_WEB_SEARCH_BACKEND (e.g. tavily) and SHOAL_WEB_SEARCH_API_KEY, or use web_fetch")
    try:
        return ok({"query": query, "results": backend(query, limit)})
    except Exception as exc:
        return fail(f"search failed: {type(exc).__name__}: {exc}", "internal_error")


class _Text(HTMLParser):
    SKIP = {"script", "style", "noscript", "template", "svg"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1
        elif tag in ("p", "div", "li", "br", "h1", "h2", "h3", "h4", "tr", "section", "article"):
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping and data.strip():
            self.parts.append(data.strip() + " ")


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    lines = (line.strip() for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def fetch(args: dict[str, Any]) -> dict:
    url = args.get("url")
    if not isinstance(url, str) or not url:
        return fail("url is required")
    try:
        max_chars = max(1, int(args.get("max_chars", 50000)))
    except (TypeError, ValueError):
        return fail("max_chars must be an integer")
    try:
        with outbound_client(timeout=20.0, follow_redirects=True) as client, client.stream("GET", url) as response:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_FETCH_BYTES:
                    break
            status, content_type, final = response.status_code, response.headers.get("content-type", ""), str(
                response.url)
    except BlockedURL as exc:
        return fail(f"refused: {exc.message}", "permission_denied")
    except Exception as exc:
        return fail(f"fetch failed: {type(exc).__name__}: {exc}", "internal_error")
    text = body.decode("utf-8", errors="replace")
    if "html" in content_type and not args.get("raw"):
        text = html_text(text)
    return ok({"url": final, "status": status, "contentType": content_type, "content": text[:max_chars],
               "truncated": len(text) > max_chars})


def web_search_tool() -> Tool:
    return Tool(ToolSpec("web_search", "Search the web via the configured search API", {
        "type": "object", "required": ["query"], "properties": {
            "query": {"type": "string"}, "limit": {"type": "integer", "default": 5}}}), search)


def web_fetch_tool() -> Tool:
    return Tool(ToolSpec("web_fetch", "Fetch a URL and extract its content", {
        "type": "object", "required": ["url"], "properties": {
            "url": {"type": "string"}, "max_chars": {"type": "integer", "default": 50000},
            "raw": {"type": "boolean", "default": False}}}), fetch)
