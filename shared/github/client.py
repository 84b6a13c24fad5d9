"""A small GitHub REST client over the guarded outbound httpx client (timeouts + SSRF guard)."""

from __future__ import annotations

from typing import Any

from shared.config import get_settings
from shared.errors import UpstreamError

API_VERSION = "2022-11-28"


class GitHubClient:
    def __init__(self, token: str | None = None, *, base_url: str | None = None) -> None:
        self.base_url = (base_url or get_settings().github_api_url).rstrip("/")
        self.headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
                        "User-Agent": "shoal"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        from shared.net.outbound import outbound_client

        with outbound_client(timeout=30.0, headers=self.headers) as http:
            response = http.get(self.base_url + path, params=params)
        if response.status_code != 200:
            # Never echo the body: it may quote request details; the status says enough.
            raise UpstreamError(f"GitHub answered {response.status_code} for {path}")
        return response.json()

    def open_pulls(self, owner: str, repo: str, *, limit: int) -> list[dict[str, Any]]:
        """Open pull requests, most recently updated first, at most `limit` (one page up to 100)."""
        pulls = self._get(f"/repos/{owner}/{repo}/pulls",
                          {"state": "open", "sort": "updated", "direction": "desc", "per_page": min(limit, 100)})
        return list(pulls)[:limit] if isinstance(pulls, list) else []

    def pull(self, owner: str, repo: str, number: int) -> dict[str, Any]:
        return self._get(f"/repos/{owner}/{repo}/pulls/{number}")
