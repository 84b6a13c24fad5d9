"""Turn a create/update request into a RepositoryMonitor spec, applying every rule of the spec.

Rules (orka-api.txt, Repository Monitors): name and spec.repoURL required; repoURL a credential-free
GitHub repository root; provider github only; only pull request monitoring (issue and commit targets
refused, pull requests cannot be disabled); review.requireGreenCI refused; a reviewer Agent named,
existing, with runtime.type claude and a Secret in the monitor namespace holding a non-empty
ANTHROPIC_API_KEY or ANTHROPIC_FOUNDRY_API_KEY; a gitSecretRef Secret must exist there with a
non-empty token, password or GITHUB_TOKEN. Defaults: provider, owner, repository, branch (main),
pull requests enabled with maxPerRun 10, review.event COMMENT, validation.mode changed.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from shared.catalog.stores import agent_doc
from shared.duration import parse_go_duration
from shared.errors import Invalid
from shared.monitors import command_spec, references
from shared.monitors.spec_checks import apply_repo_url, check_git_secret, check_schedule
from shared.monitors.spec_checks import obj as _obj

REVIEW_EVENTS = ("COMMENT", "APPROVE", "REQUEST_CHANGES")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def identity(body: Any) -> tuple[str | None, str | None, dict[str, Any]]:
    """(name, namespace, spec) of a create body given as `name`/`namespace` or `metadata.*`."""
    if not isinstance(body, dict):
        raise Invalid("invalid request body")
    metadata = _obj(body.get("metadata"), "metadata")
    name = body.get("name") or metadata.get("name")
    namespace = body.get("namespace") or metadata.get("namespace")
    if (name is not None and not isinstance(name, str)) or (namespace is not None and not isinstance(namespace, str)):
        raise Invalid("invalid request body")
    return name, namespace, _obj(body.get("spec"), "spec")


def normalize_spec(raw: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The validated spec with defaults filled in; Invalid with the first rule broken."""
    spec = copy.deepcopy(raw)
    repo_url = spec.get("repoURL")
    if not repo_url:
        raise Invalid("spec.repoURL is required")
    apply_repo_url(spec)
    if spec.get("branch") is not None and (not isinstance(spec["branch"], str) or not spec["branch"].strip()):
        raise Invalid("spec.branch must be a non-empty string")
    spec["branch"] = spec.get("branch") or "main"
    schedule = spec.get("schedule")
    if schedule is not None:
        check_schedule(schedule)

    targets = _obj(spec.get("targets"), "spec.targets")
    for kind, label in (("issues", "issue"), ("commits", "commit")):
        if _obj(targets.get(kind), f"spec.targets.{kind}").get("enabled"):
            raise Invalid(f"{label} targets are not supported: only GitHub pull request monitoring is supported")
    prs = _obj(targets.get("pullRequests"), "spec.targets.pullRequests")
    if prs.get("enabled") is False:
        raise Invalid("pull request monitoring must be enabled: at least one target is required")
    prs["enabled"] = True
    max_per_run = prs.get("maxPerRun", 10)
    if isinstance(max_per_run, bool) or not isinstance(max_per_run, int) or not 1 <= max_per_run <= 100:
        raise Invalid("spec.targets.pullRequests.maxPerRun must be between 1 and 100")
    prs["maxPerRun"] = max_per_run
    prs.setdefault("includeDrafts", False)
    targets["pullRequests"] = prs
    spec["targets"] = targets

    review = _obj(spec.get("review"), "spec.review")
    if "requireGreenCI" in review:
        raise Invalid("spec.review.requireGreenCI is not supported")
    review["event"] = review.get("event") or "COMMENT"
    if review["event"] not in REVIEW_EVENTS:
        raise Invalid(f"spec.review.event must be one of {', '.join(REVIEW_EVENTS)}")
    if review.get("staleReviewTTL") is not None:
        try:
            parse_go_duration(str(review["staleReviewTTL"]))
        except ValueError as exc:
            raise Invalid(f"invalid spec.review.staleReviewTTL: {exc}") from None
    review["exactEventEnabled"] = bool(review.get("exactEventEnabled", False))
    spec["review"] = review
    validation = _obj(spec.get("validation"), "spec.validation")
    validation["mode"] = validation.get("mode") or "changed"
    spec["validation"] = validation

    agents = _obj(spec.get("agents"), "spec.agents")
    reviewer = _obj(agents.get("reviewer"), "spec.agents.reviewer")
    reviewer_name = reviewer.get("name")
    if not isinstance(reviewer_name, str) or not reviewer_name:
        raise Invalid("spec.agents.reviewer.name is required when pull request monitoring is enabled")
    _check_reviewer(namespace, reviewer_name)
    check_git_secret(spec, namespace)
    command_spec.normalize(spec, namespace)
    return spec


def _check_reviewer(namespace: str, name: str) -> None:
    agent = agent_doc(namespace, name)
    if agent is None:
        raise Invalid(f'reviewer agent "{name}" not found')
    runtime = (agent.get("spec") or {}).get("runtime") or {}
    if not isinstance(runtime, dict) or runtime.get("type") != "claude":
        raise Invalid(f'reviewer agent "{name}" must use runtime.type claude')
    secret = references.agent_secret_name(agent)
    if not secret or not references.secret_has_key(namespace, secret, references.CLAUDE_KEYS):
        raise Invalid(f'reviewer agent "{name}" has no usable Claude credentials: its Secret must contain a '
                      "non-empty ANTHROPIC_API_KEY or ANTHROPIC_FOUNDRY_API_KEY key")


def validate_name(name: str | None) -> str:
    if not name:
        raise Invalid("name is required")
    if len(name) > 63 or not _NAME.match(name):
        raise Invalid(f'invalid name "{name}": must be a lowercase RFC 1123 label')
    return name
