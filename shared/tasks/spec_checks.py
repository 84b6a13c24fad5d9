"""Semantic checks of a TaskSpec beyond its JSON shape; each failure is a 400 naming the field.

They run after Orka's six create checks (see `shared.tasks.validation`), so the documented order
and messages stay exactly as Orka has them; these only add what Orka leaves to its CRD schema.
Messages take the form `invalid spec.<field>: <reason>` (`unknown field spec.<field>` for typos).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from shared.config import get_settings
from shared.duration import parse_go_duration
from shared.errors import Invalid
from shared.kube_resources import BadResources
from shared.kube_resources import check_resources as check
from shared.net.git_urls import check_git_url

RETRY_KEYS = {"maxRetries", "backoff", "backoffMultiplier", "maxBackoff"}
MAX_RETRIES = 10
WORKSPACE_KEYS = {"enabled", "provider", "templateRef", "reusePolicy", "cleanupPolicy", "boot", "poolRef",
                  "snapshot", "hibernation"}
WORKSPACE_PROVIDERS = ("agent-sandbox", "substrate")


def _bad(field: str, reason: str) -> Invalid:
    return Invalid(f"invalid spec.{field}: {reason}")


def _object(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(field, "must be an object")
    return value


def _known(value: dict[str, Any], keys: set[str], field: str) -> None:
    for key in value:
        if key not in keys:
            raise Invalid(f"unknown field spec.{field}.{key}")


def _duration(value: Any, field: str) -> float:
    if not isinstance(value, str):
        raise _bad(field, "must be a duration string such as 30s")
    try:
        seconds = parse_go_duration(value)
    except ValueError as exc:
        raise _bad(field, str(exc)) from None
    if seconds <= 0:
        raise _bad(field, "must be positive")
    return seconds


def check_timeout(spec: dict[str, Any]) -> None:
    if spec.get("timeout") is not None and parse_go_duration(spec["timeout"]) < 0:
        raise Invalid("invalid timeout: must not be negative")


def check_retry_policy(spec: dict[str, Any]) -> None:
    if spec.get("retryPolicy") is None:
        return
    policy = _object(spec["retryPolicy"], "retryPolicy")
    _known(policy, RETRY_KEYS, "retryPolicy")
    retries = policy.get("maxRetries", 0)
    if not isinstance(retries, int) or isinstance(retries, bool) or not 0 <= retries <= MAX_RETRIES:
        raise _bad("retryPolicy.maxRetries", f"must be an integer between 0 and {MAX_RETRIES}")
    for key in ("backoff", "maxBackoff"):
        if key in policy:
            _duration(policy[key], f"retryPolicy.{key}")
    multiplier = policy.get("backoffMultiplier", 2)
    if not isinstance(multiplier, int | float) or isinstance(multiplier, bool) or not 1 <= multiplier <= 10:
        raise _bad("retryPolicy.backoffMultiplier", "must be a number between 1 and 10")


def check_webhook_url(spec: dict[str, Any]) -> None:
    """Shape only: the SSRF guard checks the resolved address when the notification is sent."""
    url = spec.get("webhookURL")
    if url is None:
        return
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad("webhookURL", "must be an absolute http or https URL")
    if parts.username or parts.password:
        raise _bad("webhookURL", "must not contain credentials")


def check_session_ref(spec: dict[str, Any]) -> None:
    ref = spec.get("sessionRef")
    if ref is None:
        return
    if not ref.get("name"):
        raise _bad("sessionRef.name", "must not be empty")
    if not 1 <= int(ref.get("maxMessages", 50)) <= 10000:
        raise _bad("sessionRef.maxMessages", "must be between 1 and 10000")


def check_schedule(spec: dict[str, Any]) -> None:
    zone = spec.get("timeZone")
    if zone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            if not isinstance(zone, str) or not zone:
                raise ValueError
            ZoneInfo(zone)
        except (ValueError, ZoneInfoNotFoundError):
            raise _bad("timeZone", f"{zone!r} is not an IANA time zone") from None
    schedule = spec.get("schedule")
    if schedule is None:
        return
    from croniter import croniter

    if not isinstance(schedule, str) or not schedule.strip() or not croniter.is_valid(schedule):
        raise _bad("schedule", f"{schedule!r} is not a valid cron expression")


def check_workspace(spec: dict[str, Any]) -> None:
    """spec.execution.workspace, by the table in orka-api.txt ("Task Execution Workspace Schema")."""
    execution = spec.get("execution")
    if execution is None:
        return
    execution = _object(execution, "execution")
    if execution.get("workspace") is None:
        return
    ws = _object(execution["workspace"], "execution.workspace")
    _known(ws, WORKSPACE_KEYS, "execution.workspace")
    f = "execution.workspace."
    for key in ("enabled", "boot"):
        if key in ws and not isinstance(ws[key], bool):
            raise _bad(f + key, "must be a boolean")
    if spec.get("type") != "agent":
        raise _bad("execution.workspace", "workspace requests are only valid on agent tasks")
    settings = get_settings()
    provider = ws.get("provider", settings.workspace_default_provider)
    if provider not in WORKSPACE_PROVIDERS:
        raise _bad(f + "provider", f'"{provider}" must be one of agent-sandbox, substrate')
    for ref_key in ("templateRef", "poolRef"):
        if ref_key in ws:
            ref = _object(ws[ref_key], f + ref_key)
            _known(ref, {"name", "namespace"}, f + ref_key)
            for key, value in ref.items():
                if not isinstance(value, str) or not value:
                    raise _bad(f"{f}{ref_key}.{key}", "must be a non-empty string")
    reuse = ws.get("reusePolicy", "none")
    if reuse not in ("none", "session"):
        raise _bad(f + "reusePolicy", f'"{reuse}" must be one of none, session')
    if reuse == "session" and not (spec.get("sessionRef") or {}).get("name"):
        raise _bad(f + "reusePolicy", "session requires spec.sessionRef.name")
    cleanup = ws.get("cleanupPolicy", settings.workspace_default_cleanup)
    if cleanup not in ("delete", "retain"):
        raise _bad(f + "cleanupPolicy", f'"{cleanup}" must be one of delete, retain')
    if provider != "substrate":
        for key in ("boot", "poolRef", "snapshot", "hibernation"):
            if ws.get(key):
                raise _bad(f + key, "is only supported by the substrate provider")
    if ws.get("poolRef") and cleanup != "delete":
        raise _bad(f + "cleanupPolicy", "pooled workspaces require delete")
    if "snapshot" in ws and _object(ws["snapshot"], f + "snapshot"):
        raise _bad(f + "snapshot", "restore and checkpoint settings are not supported yet")
    if "hibernation" in ws:
        hibernation = _object(ws["hibernation"], f + "hibernation")
        if hibernation.get("processMode") == "resident":
            raise _bad(f + "hibernation.processMode", "resident is not supported yet")
    if ws.get("enabled"):
        enabled = {p.strip() for p in settings.workspace_providers.split(",") if p.strip()}
        if provider not in enabled:
            raise _bad(f + "provider", f'"{provider}" is not enabled on this platform')
        if not (ws.get("templateRef") or {}).get("name") and not settings.workspace_default_template:
            raise _bad(f + "templateRef.name", "is required when enabled and no default template is configured")


def check_git_repo(spec: dict[str, Any], *, allow_credentials: bool = False) -> None:
    """`spec.workspace.gitRepo`: https, ssh or git@host:path to an allowed host, without credentials
    (shared.net.git_urls); labrats jobs, whose spec allows a token in the URL, pass allow_credentials."""
    workspace = spec.get("workspace")
    if isinstance(workspace, dict) and workspace.get("gitRepo") is not None:
        check_git_url(workspace["gitRepo"], "spec.workspace.gitRepo", allow_credentials=allow_credentials)
    if isinstance(workspace, dict):
        check_publishing(workspace)
        check_validation_commands(workspace)


MAX_VALIDATION_COMMANDS, MAX_COMMAND_LENGTH = 20, 2000


def check_validation_commands(workspace: dict[str, Any]) -> None:
    """`workspace.validationCommands` (Shoal: a repository monitor's `validation.commands`, run by the
    worker in the cloned workspace before the agent): up to 20 non-empty shell command strings."""
    commands = workspace.get("validationCommands")
    if commands is None:
        return
    field = "workspace.validationCommands"
    if not isinstance(commands, list) or len(commands) > MAX_VALIDATION_COMMANDS:
        raise _bad(field, f"must be a list of at most {MAX_VALIDATION_COMMANDS} commands")
    if not all(isinstance(c, str) and c.strip() and len(c) <= MAX_COMMAND_LENGTH for c in commands):
        raise _bad(field, f"must hold non-empty commands of at most {MAX_COMMAND_LENGTH} characters")


_REF_NAME = re.compile(r"^(?!-)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]{1,200}(?<![./])$")


def check_publishing(workspace: dict[str, Any]) -> None:
    """How a coding-agent task publishes its work (docs/agents.md): `pushBranch`, `pullRequest`, `push`."""
    f = "workspace."
    branch = workspace.get("pushBranch")
    if branch is not None and (not isinstance(branch, str) or not _REF_NAME.match(branch) or branch.endswith(".lock")):
        raise _bad(f + "pushBranch", "must be a branch name")
    if "push" in workspace and not isinstance(workspace["push"], bool):
        raise _bad(f + "push", "must be a boolean")
    wanted = workspace.get("pullRequest")
    if wanted and workspace.get("push") is False:
        raise _bad(f + "pullRequest", "needs the work to be pushed (push is false)")
    if wanted is None or isinstance(wanted, bool):
        return
    options = _object(wanted, f + "pullRequest")
    _known(options, {"base", "title", "body"}, f + "pullRequest")
    for key, value in options.items():
        if not isinstance(value, str) or not value.strip():
            raise _bad(f"{f}pullRequest.{key}", "must be a non-empty string")
    if "base" in options and not _REF_NAME.match(options["base"]):
        raise _bad(f + "pullRequest.base", "must be a branch name")


def check_resources(spec: dict[str, Any]) -> None:
    """`spec.resources` (the executor Job's container requirements), as the API server would check them."""
    if spec.get("resources") is None:
        return

    try:
        check(spec["resources"])
    except BadResources as exc:
        raise _bad(f"resources.{exc.field}" if exc.field else "resources", exc.reason) from None


def check_spec(spec: dict[str, Any], *, allow_git_credentials: bool = False) -> None:
    """All semantic checks, in field order of the spec table (then the fields Orka's table lacks)."""
    check_timeout(spec)
    check_retry_policy(spec)
    check_webhook_url(spec)
    check_session_ref(spec)
    check_schedule(spec)
    check_workspace(spec)
    check_git_repo(spec, allow_credentials=allow_git_credentials)
    check_resources(spec)
