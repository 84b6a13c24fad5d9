"""The RepositoryMonitor fields of maintainer label commands, repair and automerge (Orka's CRD).

- `triggers.github.labels`: `{enabled, consumeCommandLabels, requireActorPermission
  (write|maintain|admin, default write), pullRequests: {review, fix, fixCI, updateBranch, automerge,
  stop, resume}}`; an empty label name means the default `orka:<intent>` label
  (`orka:fix-ci`, `orka:update-branch`, …). `issues` labels are kept but never match: issue targets
  are refused (only pull request monitoring is supported);
- `agents.repairer.name`: the Agent repair tasks run (must exist and name a runtime when
  `repair.enabled`);
- `repair`: `{enabled, maxRepairsPerPR, maxRepairsPerHead}` (budgets ≥ 0);
- `automerge`: `{enabled, requireGlobalMergeGate (default true), allowedMergeMethods (merge,
  squash, rebase)}`;
- `policy.allowedRepositoryPermissions`: which GitHub permissions may issue write commands;
- `forgeCredentialRef`: the Secret of controller-owned GitHub calls (permission checks, label
  removal, merges); the monitor's `gitSecretRef` when absent.
"""

from __future__ import annotations

from typing import Any

from shared.catalog.stores import agent_doc
from shared.errors import Invalid
from shared.monitors.spec_checks import check_git_secret
from shared.monitors.spec_checks import obj as _obj

PR_INTENTS = {"review": "review", "fix": "fix", "fixCI": "fix_ci", "updateBranch": "update_branch",
              "automerge": "automerge", "stop": "stop", "resume": "resume"}  # CRD key → intent
PERMISSIONS = ("write", "maintain", "admin")
MERGE_METHODS = ("merge", "squash", "rebase")


def _bool(section: dict[str, Any], key: str, field: str) -> None:
    if key in section and not isinstance(section[key], bool):
        raise Invalid(f"{field}.{key} must be a boolean")


def _strings(value: Any, field: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{field} must be a list of strings")
    for v in value:
        if allowed and v not in allowed:
            raise Invalid(f"{field} must contain only {', '.join(allowed)}")
    return value


def normalize(spec: dict[str, Any], namespace: str) -> None:
    """Check (and default) the command, repair and automerge fields of a monitor spec, in place."""
    triggers = _obj(spec.get("triggers"), "spec.triggers")
    github = _obj(triggers.get("github"), "spec.triggers.github")
    labels = _obj(github.get("labels"), "spec.triggers.github.labels")
    field = "spec.triggers.github.labels"
    _bool(labels, "enabled", field)
    _bool(labels, "consumeCommandLabels", field)
    permission = labels.get("requireActorPermission") or "write"
    if permission not in PERMISSIONS:
        raise Invalid(f"{field}.requireActorPermission must be one of {', '.join(PERMISSIONS)}")
    for kind in ("pullRequests", "issues"):
        names = _obj(labels.get(kind), f"{field}.{kind}")
        for key, value in names.items():
            if not isinstance(value, str):
                raise Invalid(f"{field}.{kind}.{key} must be a string")
    if labels:
        labels["requireActorPermission"] = permission
        spec["triggers"] = {**triggers, "github": {**github, "labels": labels}}

    repair = _obj(spec.get("repair"), "spec.repair")
    _bool(repair, "enabled", "spec.repair")
    for key in ("maxRepairsPerPR", "maxRepairsPerHead"):
        value = repair.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise Invalid(f"spec.repair.{key} must be a non-negative integer")
    automerge = _obj(spec.get("automerge"), "spec.automerge")
    _bool(automerge, "enabled", "spec.automerge")
    _bool(automerge, "requireGlobalMergeGate", "spec.automerge")
    _strings(automerge.get("allowedMergeMethods"), "spec.automerge.allowedMergeMethods", MERGE_METHODS)
    policy = _obj(spec.get("policy"), "spec.policy")
    _strings(policy.get("allowedRepositoryPermissions"), "spec.policy.allowedRepositoryPermissions", PERMISSIONS)
    for key in ("protectedLabels", "pauseLabels"):
        _strings(policy.get(key), f"spec.policy.{key}")

    repairer = _obj(_obj(spec.get("agents"), "spec.agents").get("repairer"), "spec.agents.repairer")
    if repairer or repair.get("enabled"):
        name = repairer.get("name")
        if not isinstance(name, str) or not name:
            raise Invalid("spec.agents.repairer.name is required when spec.repair.enabled is true")
        agent = agent_doc(namespace, name)
        if agent is None:
            raise Invalid(f'repairer agent "{name}" not found')
        if not isinstance((agent.get("spec") or {}).get("runtime"), dict):
            raise Invalid(f'repairer agent "{name}" has no runtime')
    # the same rules as gitSecretRef (a Secret of the namespace with a git token)
    check_git_secret(spec, namespace, "forgeCredentialRef", "forge credential secret")


def command_labels(spec: dict[str, Any]) -> dict[str, str] | None:
    """Lower-cased label → intent of the monitor's pull request commands; None when intake is off.

    A label configured for two intents matches neither (Orka's rule)."""
    labels = ((spec.get("triggers") or {}).get("github") or {}).get("labels") or {}
    if not labels.get("enabled"):
        return None
    configured = labels.get("pullRequests") or {}
    found: dict[str, str] = {}
    ambiguous: set[str] = set()
    for key, intent in PR_INTENTS.items():
        label = (configured.get(key) or "").strip() or "orka:" + intent.replace("_", "-")
        label = label.lower()
        if label in found:
            ambiguous.add(label)
        found[label] = intent
    return {label: intent for label, intent in found.items() if label not in ambiguous}


LEVELS = {"read": 0, "triage": 1, "write": 2, "maintain": 3, "admin": 4}


def permitted(spec: dict[str, Any], permission: str, intent: str) -> bool:
    """Orka's rule: read-only commands (review) need triage or more; the others the monitor's minimum
    (`requireActorPermission`, default write) and, when set, `policy.allowedRepositoryPermissions`."""
    level = LEVELS.get(permission, -1)
    if intent == "review":
        return level >= LEVELS["triage"]
    labels = ((spec.get("triggers") or {}).get("github") or {}).get("labels") or {}
    allowed = (spec.get("policy") or {}).get("allowedRepositoryPermissions") or []
    return level >= LEVELS[labels.get("requireActorPermission") or "write"] and (not allowed or permission in allowed)
