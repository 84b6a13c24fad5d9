"""The GitHub reads of security scans, through the one GitHub REST client (`shared.github.client`).

The token is the RepositoryScan's `spec.gitSecretRef` Secret (`token`, `password` or `GITHUB_TOKEN`; one
that cannot be read fails the call), else `SHOAL_SECURITY_GITHUB_TOKEN`; it is only ever sent as the Authorization header.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shared.catalog.git_credentials import git_token
from shared.config import get_settings
from shared.github.client import GitHubClient


def token_for(namespace: str, spec: dict[str, Any]) -> str | None:
    """The named Secret's token (GitSecretUnreadable when it cannot be read), else the setting's."""
    return git_token(namespace, spec, default_names=False) or get_settings().security_github_token


def repository_tree(spec: dict[str, Any], token: str | None) -> list[dict[str, Any]]:
    """The repository's entries at the scan's ref (or branch): `{path, type, size?}`, recursively.

    GitHub truncates a recursive listing of a very large repository; then only the top level is
    returned (without sizes, so the planner makes no size-based split).
    """
    gh = GitHubClient(token)
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
