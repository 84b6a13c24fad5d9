"""Credential-free GitHub repository root URLs, the only `repoURL`/`repo_url` the monitors accept.

Accepted: `https://github.com/owner/repo`, `https://github.com/owner/repo.git` (a trailing slash is
tolerated) and `git@github.com:owner/repo.git`, and the same paths under `SHOAL_GITHUB_GIT_URL` (a
GitHub Enterprise host). Refused: pull request, issue, branch/tree,
blob/file and commit URLs (any extra path), query strings, fragments, other hosts, plain HTTP and
embedded credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.config import get_settings

_SEGMENT = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,99})$")
_SSH = re.compile(r"^git@github\.com:(?P<owner>[^/\s]+)/(?P<repo>[^/\s]+?)(?:\.git)?$")


@dataclass(frozen=True)
class GitHubRepo:
    owner: str
    repo: str

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    @property
    def html_url(self) -> str:
        return f"https://github.com/{self.owner}/{self.repo}"


def _web_roots() -> set[tuple[str, str]]:
    """(scheme, host) of github.com, plus the configured GitHub's own (`SHOAL_GITHUB_GIT_URL`: GitHub
    Enterprise, or a test's git server)."""
    configured = urlsplit(get_settings().github_git_url)
    return {("https", "github.com"), ("https", "www.github.com"), (configured.scheme, configured.netloc.lower())}


def parse_repo_url(url: str) -> GitHubRepo | None:
    """The owner and repository of a GitHub repository root URL, or None when it is not one."""
    if not isinstance(url, str) or not url or url != url.strip():
        return None
    ssh = _SSH.match(url)
    if ssh:
        owner, repo = ssh.group("owner"), ssh.group("repo")
    else:
        parts = urlsplit(url)
        if ((parts.scheme, parts.netloc.lower()) not in _web_roots()
                or parts.query or parts.fragment or "?" in url or "#" in url):
            return None
        segments = parts.path.strip("/").split("/")
        if len(segments) != 2 or parts.path.count("//"):
            return None
        owner, repo = segments
        repo = repo[:-4] if repo.endswith(".git") else repo
    if not (_SEGMENT.match(owner) and _SEGMENT.match(repo)) or repo.endswith(".git"):
        return None
    return GitHubRepo(owner, repo)
