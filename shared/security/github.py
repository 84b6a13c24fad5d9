"""The GitHub REST calls of security scans, over the process's pooled, guarded GitHub client (timeouts + SSRF guard).

The token is the RepositoryScan's `spec.gitSecretRef` Secret (`token`, `password` or `GITHUB_TOKEN`),
else `SHOAL_SECURITY_GITHUB_TOKEN`; it is only ever sent as the Authorization header.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shared.config import get_settings
from shared.errors import UpstreamError
from shared.github.client import API_VERSION, github_http
from shared.monitors.execute import _git_token
from shared.net.pool import pooled


class GitHub:
    def __init__(self, token: str | None) -> None:
        self.base_url = get_settings().github_api_url.rstrip("/")
        self.headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
                        "User-Agent": "shoal"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
             ok: tuple[int, ...] = (200, 201), tolerate: tuple[int, ...] = ()) -> tuple[int, Any]:
        response = pooled("github", github_http).request(method, self.base_url + path, params=params, json=body,
                                                         headers=self.headers)
        if response.status_code in tolerate:
            return response.status_code, None
        if response.status_code not in ok:
            raise UpstreamError(f"GitHub answered {response.status_code} for {path}")
        return response.status_code, response.json() if response.content else None


def token_for(namespace: str, spec: dict[str, Any]) -> str | None:
    if spec.get("gitSecretRef"):
        token = _git_token(namespace, spec)
        if token:
            return token
    return get_settings().security_github_token


def repository_tree(spec: dict[str, Any], token: str | None) -> list[dict[str, Any]]:
    """The repository's entries at the scan's ref (or branch): `{path, type, size?}`, recursively.

    GitHub truncates a recursive listing of a very large repository; then only the top level is
    returned (without sizes, so the planner makes no size-based split).
    """
    gh = GitHub(token)
    ref = spec.get("ref") or spec.get("branch") or "main"
    path = f"/repos/{spec['owner']}/{spec['repository']}/git/trees/{quote(ref, safe='')}"
    _, tree = gh.call("GET", path, params={"recursive": "1"})
    if (tree or {}).get("truncated"):
        _, tree = gh.call("GET", path)
        return [{"path": e["path"], "type": e.get("type")} for e in _entries(tree) if "/" not in e["path"]]
    return _entries(tree)


def _entries(tree: Any) -> list[dict[str, Any]]:
    entries = (tree or {}).get("tree") if isinstance(tree, dict) else None
    return [e for e in entries or [] if isinstance(e, dict) and isinstance(e.get("path"), str)
            and e.get("type") in ("tree", "blob")]
