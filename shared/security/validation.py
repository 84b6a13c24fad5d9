"""Turn a create/update request into a RepositoryScan spec (orka-api.txt, Security; orka-behaviour.md).

Order: server-stamped fields refused; `name`, `spec.repoURL`, `spec.analysisAgentRef.name` required
(each → 400 "<field> is required"); repoURL a credential-free GitHub repository root (the monitors'
parser); provider inferred from the URL host (github only); owner/repository parsed from the URL
(must match when given); branch defaults to `main` unless only `ref` is set (then the workspace
checks out `ref`); validationMode defaults to `light`; schedule a 5-field cron; optional `paths`
(top-level review slices) and `gitSecretRef` (token used to open remediation pull requests).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from shared.errors import Invalid
from shared.monitors.spec_checks import apply_repo_url, check_git_secret, check_schedule

VALIDATION_MODES = ("none", "light", "full")
SERVER_METADATA = ("uid", "creationTimestamp", "resourceVersion", "generation")
_PATH = re.compile(r"^[A-Za-z0-9._-][A-Za-z0-9._/-]*$")
_REF = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
MAX_PATHS = 32


def reject_server_stamped(body: dict[str, Any], *, allow: tuple[str, ...] = ()) -> None:
    """status and metadata stamps are the server's: a client sending them gets 400.

    An update may send `metadata.resourceVersion` (`allow`): it is the optimistic-concurrency precondition.
    """
    if "status" in body:
        raise Invalid("status cannot be set by clients")
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        for key in SERVER_METADATA:
            if key in metadata and key not in allow:
                raise Invalid(f"metadata.{key} cannot be set by clients")


def normalize_spec(raw: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The validated spec with defaults filled in; Invalid with the first rule broken."""
    spec = copy.deepcopy(raw)
    repo_url = spec.get("repoURL")
    if not repo_url:
        raise Invalid("spec.repoURL is required")
    agent = spec.get("analysisAgentRef")
    agent_name = agent.get("name") if isinstance(agent, dict) else None
    if not agent_name:
        raise Invalid("spec.analysisAgentRef.name is required")
    if not isinstance(agent_name, str):
        raise Invalid("spec.analysisAgentRef.name must be a string")
    spec["analysisAgentRef"] = {"name": agent_name}
    apply_repo_url(spec)
    for field in ("branch", "ref"):
        value = spec.get(field)
        if value is not None and (not isinstance(value, str) or not _REF.match(value) or ".." in value):
            raise Invalid(f"spec.{field} must be a git branch, tag or commit name")
    if not spec.get("branch") and not spec.get("ref"):
        spec["branch"] = "main"  # with only `ref` set, workspaces check out that ref (no forced main)
    mode = spec.get("validationMode") or "light"
    if mode not in VALIDATION_MODES:
        raise Invalid(f"spec.validationMode must be one of {', '.join(VALIDATION_MODES)}")
    spec["validationMode"] = mode
    schedule = spec.get("schedule")
    if schedule is not None and schedule != "":
        check_schedule(schedule)
    if not schedule:
        spec.pop("schedule", None)
    spec["paths"] = _paths(spec.get("paths"))
    if not spec["paths"]:
        spec.pop("paths")
    git_name = check_git_secret(spec, namespace)
    if git_name:
        spec["gitSecretRef"] = {"name": git_name}
    return spec


def _paths(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_PATHS:
        raise Invalid(f"spec.paths must be a list of at most {MAX_PATHS} repository paths")
    cleaned: set[str] = set()
    for item in value:
        path = item.strip().strip("/") if isinstance(item, str) else ""
        if not path or not _PATH.match(path) or ".." in path.split("/"):
            raise Invalid(f"invalid spec.paths entry {item!r}: must be a relative repository path")
        cleaned.add(path)
    return sorted(cleaned)
