"""The one GitHub REST client (PR reviews, monitors, worker tools, security scans and remediation PRs),
over the process's pooled, guarded outbound httpx client (timeouts + SSRF guard)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shared.config import get_settings
from shared.errors import UpstreamError
from shared.net.outbound import outbound_client
from shared.net.pool import pooled

if TYPE_CHECKING:
    import httpx

API_VERSION = "2022-11-28"


def github_http() -> httpx.Client:
    """The guarded client every GitHub REST call of this process shares (through shared.net.pool)."""
    return outbound_client(timeout=30.0)


class GitHubClient:
    def __init__(self, token: str | None = None, *, base_url: str | None = None) -> None:
        self.base_url = (base_url or get_settings().github_api_url).rstrip("/")
        self.headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
                        "User-Agent": "shoal"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
             accept: str | None = None, raw: bool = False, ok: tuple[int, ...] = (200, 201),
             tolerate: tuple[int, ...] = ()) -> tuple[int, Any]:
        """(status, the answer's JSON or text; None when empty) for an `ok` status; (status, None) for a
        `tolerate`d one; UpstreamError for any other."""
        headers = {**self.headers, **({"Accept": accept} if accept else {})}
        response = pooled("github", github_http).request(method, self.base_url + path, params=params,
                                                           json=body, headers=headers)
        if response.status_code in tolerate:
            return response.status_code, None
        if response.status_code not in ok:
            # Never echo the body: it may quote request details; the status says enough.
            raise UpstreamError(f"GitHub answered {response.status_code} for {path}")
        if raw:
            return response.status_code, response.text
        return response.status_code, response.json() if response.content else None

    def _request(self, method: str, path: str, **options: Any) -> Any:
        return self.call(method, path, **options)[1]

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._request("GET", path, params=params)

    def pull_diff(self, owner: str, repo: str, number: int) -> str:
        return self._request("GET", f"/repos/{owner}/{repo}/pulls/{number}", accept="application/vnd.github.diff",
                             raw=True)

    def authenticated_login(self) -> str:
        """The login of the token's own account ("" when GitHub does not say): the trusted marker author."""
        try:
            user = self._get("/user")
        except UpstreamError:
            return ""
        login = user.get("login") if isinstance(user, dict) else None
        return login.strip() if isinstance(login, str) else ""

    def reviews(self, owner: str, repo: str, number: int) -> list[dict[str, Any]]:
        return self._get(f"/repos/{owner}/{repo}/pulls/{number}/reviews", {"per_page": 100})

    def issue_comments(self, owner: str, repo: str, number: int) -> list[dict[str, Any]]:
        return self._get(f"/repos/{owner}/{repo}/issues/{number}/comments", {"per_page": 100})

    def post_review(self, owner: str, repo: str, number: int, body: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", f"/repos/{owner}/{repo}/pulls/{number}/reviews", body=body)

    def issues(self, owner: str, repo: str, *, per_page: int, page: int) -> list[dict[str, Any]]:
        return self._get(f"/repos/{owner}/{repo}/issues", {"state": "open", "per_page": per_page, "page": page})

    def issue(self, owner: str, repo: str, number: int) -> dict[str, Any]:
        return self._get(f"/repos/{owner}/{repo}/issues/{number}")

    def comment(self, owner: str, repo: str, number: int, body: str) -> dict[str, Any]:
        return self._request("POST", f"/repos/{owner}/{repo}/issues/{number}/comments", body={"body": body})

    def open_pulls(self, owner: str, repo: str, *, limit: int) -> list[dict[str, Any]]:
        """Open pull requests, most recently updated first, at most `limit` (one page up to 100)."""
        pulls = self._get(f"/repos/{owner}/{repo}/pulls",
                          {"state": "open", "sort": "updated", "direction": "desc", "per_page": min(limit, 100)})
        return list(pulls)[:limit] if isinstance(pulls, list) else []

    def pulls_page(self, owner: str, repo: str, *, per_page: int, page: int) -> list[dict[str, Any]]:
        return self._get(f"/repos/{owner}/{repo}/pulls", {"state": "open", "per_page": per_page, "page": page})

    def pull(self, owner: str, repo: str, number: int) -> dict[str, Any]:
        return self._get(f"/repos/{owner}/{repo}/pulls/{number}")

    def create_pull(self, owner: str, repo: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """The new pull request; None when GitHub refuses it (422: e.g. one is already open for the head)."""
        return self._request("POST", f"/repos/{owner}/{repo}/pulls", body=body, tolerate=(422,))

    def open_pull_for_head(self, owner: str, repo: str, branch: str) -> dict[str, Any] | None:
        found = self._get(f"/repos/{owner}/{repo}/pulls", {"state": "open", "head": f"{owner}:{branch}"})
        return found[0] if isinstance(found, list) and found else None

    def merge_pull(self, owner: str, repo: str, number: int, body: dict[str, Any]) -> dict[str, Any] | None:
        """The merge result; None when GitHub says the pull request cannot be merged (405, 409)."""
        return self._request("PUT", f"/repos/{owner}/{repo}/pulls/{number}/merge", body=body, tolerate=(405, 409))

    def check_runs(self, owner: str, repo: str, sha: str) -> list[dict[str, Any]]:
        found = self._get(f"/repos/{owner}/{repo}/commits/{sha}/check-runs", {"per_page": 100})
        return list((found or {}).get("check_runs") or [])

    def commit_statuses(self, owner: str, repo: str, sha: str) -> list[dict[str, Any]]:
        found = self._get(f"/repos/{owner}/{repo}/commits/{sha}/status", {"per_page": 100})
        return list((found or {}).get("statuses") or [])

    def collaborator_permission(self, owner: str, repo: str, login: str) -> str:
        """The account's permission on the repository (admin, maintain, write, triage, read or none):
        the built-in role when GitHub names one, else the legacy `permission` field (Orka's rule)."""
        found = self._get(f"/repos/{owner}/{repo}/collaborators/{quote(login, safe='')}/permission")
        role = str((found or {}).get("role_name") or "").strip().lower()
        if role in ("admin", "maintain", "write", "triage", "read"):
            return role
        return str((found or {}).get("permission") or "none").strip().lower()

    def remove_label(self, owner: str, repo: str, number: int, label: str) -> None:
        """Take a label off an issue or pull request (already gone: nothing to do)."""
        self._request("DELETE", f"/repos/{owner}/{repo}/issues/{number}/labels/{quote(label, safe='')}",
                      tolerate=(404,))

    def compare_status(self, owner: str, repo: str, base: str, head: str) -> str:
        """How `head` relates to `base`: ahead, behind, diverged or identical."""
        found = self._get(f"/repos/{owner}/{repo}/compare/{base}...{head}")
        return str((found or {}).get("status") or "")
