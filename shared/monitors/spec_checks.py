"""Spec rules shared by the GitHub-repository resources (RepositoryMonitor, RepositoryScan)."""

from __future__ import annotations

import re
from typing import Any

from shared.errors import Invalid
from shared.github.repo_url import parse_repo_url
from shared.monitors import references

REPO_URL_MESSAGE = ("spec.repoURL must be a credential-free GitHub repository root URL such as "
                    "https://github.com/owner/repo")
_CRON_FIELD = re.compile(r"^[0-9*/,\-?LW#A-Za-z]+$")


def obj(value: Any, field: str) -> dict[str, Any]:
    """An optional object field: {} when absent, Invalid("<field> must be an object") when not one."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(f"{field} must be an object")
    return value


def check_schedule(schedule: Any) -> None:
    """A 5-field cron expression, or Invalid with the message both resources use."""
    if not isinstance(schedule, str) or len(schedule.split()) != 5 or not all(
            _CRON_FIELD.match(f) for f in schedule.split()):
        raise Invalid(f"invalid schedule {schedule!r}: must be a 5-field cron expression")
    from croniter import croniter

    if not croniter.is_valid(schedule):
        raise Invalid(f"invalid schedule {schedule!r}: must be a 5-field cron expression")


def apply_repo_url(spec: dict[str, Any]) -> None:
    """`spec.repoURL` (present) must be a credential-free GitHub root; sets provider (github only) and
    owner/repository from it (when given, they must match)."""
    repo_url = spec["repoURL"]
    repo = parse_repo_url(repo_url) if isinstance(repo_url, str) else None
    if repo is None:
        raise Invalid(REPO_URL_MESSAGE)
    provider = spec.get("provider") or "github"
    if provider != "github":
        raise Invalid(f'unsupported provider "{provider}": only github is supported')
    spec["provider"] = "github"
    for field, value in (("owner", repo.owner), ("repository", repo.repo)):
        if spec.get(field) and str(spec[field]).lower() != value.lower():
            raise Invalid(f"spec.{field} does not match spec.repoURL")
        spec[field] = value


def check_git_secret(spec: dict[str, Any], namespace: str, field: str = "gitSecretRef",
                     what: str = "git secret") -> str | None:
    """An optional `spec.<field>` (gitSecretRef) must name a Secret of the namespace holding a git token; its name."""
    git_ref = spec.get(field)
    if git_ref is None:
        return None
    git_name = obj(git_ref, f"spec.{field}").get("name")
    if not isinstance(git_name, str) or not git_name:
        raise Invalid(f"spec.{field}.name is required")
    found = references.secret_has_key(namespace, git_name, references.GIT_KEYS)
    if found is None:
        raise Invalid(f'{what} "{git_name}" not found in namespace "{namespace}"')
    if not found:
        raise Invalid(f'{what} "{git_name}" must contain a non-empty token, password, or GITHUB_TOKEN key')
    return git_name
