"""A webhook source's job settings: `defaults` and per-repository `repoOverrides`.

Both hold the job `config` fields of a submission (model, effort, provider, fast, timeoutMs,
maxTurns, executorImage, reactEnabled) plus `priority` (labrats scale: lower runs first).
`repoOverrides` is keyed by "owner/repo" (matched case-insensitively, as GitHub names are).

For a job started by that source's webhook or ingested event the layers are, weakest first:
the agent's own defaults (defaultModel/defaultEffort/defaultProvider), the source's `defaults`,
the source's `repoOverrides[<owner/repo>]`, and the trigger's explicit `config`, which wins.
"""

from __future__ import annotations

import re
from typing import Any

from shared.errors import Invalid
from shared.jobs.effective import check_executor_image
from shared.jobs.vocabulary import CONFIG_CHOICES, check_choice

FIELDS = ("model", "effort", "provider", "fast", "timeoutMs", "maxTurns", "executorImage", "reactEnabled",
          "priority")
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def _check_settings(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(f"{where} must be an object")
    for key, item in value.items():
        if key not in FIELDS:
            raise Invalid(f'{where}: unknown field "{key}" (allowed: {", ".join(FIELDS)})')
        name = f"{where}.{key}"
        if key in ("model", "executorImage") and (not isinstance(item, str) or not item):
            raise Invalid(f"{name} must be a non-empty string")
        if key == "executorImage":
            check_executor_image(item, name)
        if key in CONFIG_CHOICES:
            check_choice(name, item, CONFIG_CHOICES[key])
        if key in ("fast", "reactEnabled") and not isinstance(item, bool):
            raise Invalid(f"{name} must be a boolean")
        if key in ("timeoutMs", "maxTurns") and (isinstance(item, bool) or not isinstance(item, int) or item <= 0):
            raise Invalid(f"{name} must be a positive integer")
        if key == "priority" and (isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= 1000):
            raise Invalid(f"{name} must be an integer from 0 to 1000")
    return dict(value)


def validate_defaults(value: Any) -> dict[str, Any]:
    return _check_settings(value, "defaults")


def validate_repo_overrides(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise Invalid("repoOverrides must be an object")
    seen: set[str] = set()
    for repo in value:
        if not _REPO.match(repo):
            raise Invalid(f'repoOverrides key "{repo}" must be a repository as "owner/repo"')
        if repo.lower() in seen:
            raise Invalid(f'repoOverrides has "{repo}" twice (repository names are case-insensitive)')
        seen.add(repo.lower())
    return {repo: _check_settings(settings, f'repoOverrides["{repo}"]') for repo, settings in value.items()}


def for_repo(source_doc: dict[str, Any] | None, repo: str | None) -> dict[str, Any]:
    """The source's settings for a job on `repo`: its defaults, then that repository's override."""
    if not source_doc:
        return {}
    merged = dict(source_doc.get("defaults") or {})
    if repo:
        overrides = source_doc.get("repoOverrides") or {}
        match = next((v for k, v in overrides.items() if k.lower() == repo.lower()), None)
        merged.update(match or {})
    return merged
