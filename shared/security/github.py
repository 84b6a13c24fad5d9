"""The GitHub REST calls of security scans, over the guarded outbound client (timeouts + SSRF guard).

The token is the RepositoryScan's `spec.gitSecretRef` Secret (`token`, `password` or `GITHUB_TOKEN`),
else `SHOAL_SECURITY_GITHUB_TOKEN`; it is only ever sent as the Authorization header.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shared.config import get_settings
from shared.errors import UpstreamError


class GitHub:
    def __init__(self, token: str | None) -> None:
        from shared.github.client import API_VERSION

        self.base_url = get_settings().github_api_url.rstrip("/")
        self.headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
                        "User-Agent": "shoal"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
             ok: tuple[int, ...] = (200, 201), tolerate: tuple[int, ...] = ()) -> tuple[int, Any]:
        from shared.net.outbound import outbound_client

        with outbound_client(timeout=30.0, headers=self.headers) as http:
            response = http.request(method, self.base_url + path, params=params, json=body)
        if response.status_code in tolerate:
            return response.status_code, None
        if response.status_code not in ok:
            raise UpstreamError(f"GitHub answered {response.status_code} for {path}")
        return response.status_code, response.json() if response.content else None


def token_for(namespace: str, spec: dict[str, Any]) -> str | None:
    if spec.get("gitSecretRef"):
        from shared.monitors.execute import _git_token

        token = _git_token(namespace, spec)
        if token:
            return token
    return get_settings().security_github_token


def top_level_dirs(spec: dict[str, Any], token: str | None) -> list[str]:
    """The repository's top-level directories at the scan's ref (or branch), sorted."""
    gh = GitHub(token)
    ref = spec.get("ref") or spec.get("branch") or "main"
    _, tree = gh.call("GET", f"/repos/{spec['owner']}/{spec['repository']}/git/trees/{quote(ref, safe='')}")
    entries = (tree or {}).get("tree") or []
    return sorted({e["path"] for e in entries if isinstance(e, dict) and e.get("type") == "tree"
                   and isinstance(e.get("path"), str) and "/" not in e["path"]})
