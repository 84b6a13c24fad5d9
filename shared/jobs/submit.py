"""Validate a job submission and create the job as a task (the one path for every job)."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from typing import Any

from shared.auth.namespaces import resolve_namespace
from shared.auth.principal import Principal
from shared.errors import Invalid
from shared.jobs import stores
from shared.jobs.effective import effective_config, executor_fields, task_ai
from shared.jobs.model import (
    CHAIN_LABEL,
    DEFAULT_MAX_TURNS,
    DEFAULT_PRIORITY,
    DEFAULT_TIMEOUT_MS,
    JOB_ANNOTATION,
    JOB_LABEL,
    SOURCE_LABEL,
    TYPE_LABEL,
)
from shared.jobs.vocabulary import CONFIG_CHOICES, check_choice
from shared.net.git_urls import check_git_url
from shared.net.outbound import BlockedURL, check_url
from shared.store import AlreadyExists, Record, counters
from shared.tasks.service import create_task

PIPELINES = ("pdf-sections",)


def _string(body: dict, key: str, *, required: bool = False, where: str = "") -> str | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise Invalid(f"{where}{key} is required")
        return None
    if not isinstance(value, str):
        raise Invalid(f"{where}{key} must be a string")
    return value


def _number(value: Any, name: str, *, positive: bool = False, integer: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(f"{name} must be a number")
    if integer and int(value) != value:
        raise Invalid(f"{name} must be an integer")
    if positive and value <= 0:
        raise Invalid(f"{name} must be a positive number")
    return int(value) if integer else value


def _config(raw: Any) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise Invalid("config must be an object")
    config = dict(raw)
    for key in ("model", "executorImage"):
        _string(config, key, where="config.")
    for key, allowed in CONFIG_CHOICES.items():
        value = _string(config, key, where="config.")
        if value is not None:
            check_choice(f"config.{key}", value, allowed)
    for key in ("fast", "reactEnabled"):
        if key in config and not isinstance(config[key], bool):
            raise Invalid(f"config.{key} must be a boolean")
    # Refused rather than silently ignored (docs/jobs.md "What config does"):
    if config.get("fast") is True:
        raise Invalid("config.fast is not supported: Shoal's worker calls the provider's API, which has no "
                      "Claude Code fast mode")
    if config.get("reactEnabled") is False:
        raise Invalid("config.reactEnabled=false is not supported: Shoal's worker always runs the "
                      "tool-calling loop")
    config["timeoutMs"] = _number(config.get("timeoutMs", DEFAULT_TIMEOUT_MS), "config.timeoutMs",
                                  positive=True, integer=True)
    config["maxTurns"] = _number(config.get("maxTurns", DEFAULT_MAX_TURNS), "config.maxTurns",
                                 positive=True, integer=True)
    return config


def _workspace_setup(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise Invalid("workspaceSetup must be an object")
    repo = _string(raw, "gitRepo", where="workspaceSetup.")
    if repo is not None:  # a token may ride in the URL (the spec says so); every other rule holds
        check_git_url(repo, "workspaceSetup.gitRepo", allow_credentials=True)
    _string(raw, "gitRef", where="workspaceSetup.")
    if raw.get("gitDepth") is not None:
        _number(raw["gitDepth"], "workspaceSetup.gitDepth", positive=True, integer=True)
    return dict(raw)


def _workspace_files(raw: Any) -> list[dict[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Invalid("workspaceFiles must be an array")
    files = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"] \
                or not isinstance(item.get("data"), str):
            raise Invalid(f"workspaceFiles[{i}] must be {{name, data}}")
        if item["name"].startswith("/") or ".." in item["name"].split("/"):
            raise Invalid(f"workspaceFiles[{i}].name must be a relative path inside the workspace")
        try:
            base64.b64decode(item["data"], validate=True)
        except (binascii.Error, ValueError):
            raise Invalid(f"workspaceFiles[{i}].data must be base64") from None
        files.append({"name": item["name"], "data": item["data"]})
    return files


def _workspace_uploads(raw: Any) -> list[dict[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Invalid("workspaceUploads must be an array")
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("name"), str):
            raise Invalid(f"workspaceUploads[{i}] must be {{id, name}}")
    return [{"id": u["id"], "name": u["name"]} for u in raw]


def validate_submission(body: Any) -> dict[str, Any]:
    """The job fields of a `POST /api/jobs/submit` body, defaults filled; Invalid on bad input."""
    if not isinstance(body, dict):
        raise Invalid("invalid request body")
    source = _string(body, "source", required=True)
    type_ = _string(body, "type", required=True)
    prompt = _string(body, "prompt")
    errors = body.get("errors")
    if errors is not None and not isinstance(errors, list):
        raise Invalid("errors must be an array")
    if prompt is None and type_ != "error-reporting":
        raise Invalid("prompt is required")
    if type_ == "error-reporting" and prompt is None and not errors:
        raise Invalid("errors is required when type is error-reporting and no prompt is given")
    priority = _number(body.get("priority", DEFAULT_PRIORITY), "priority", integer=True)
    agent_role = _string(body, "agentRole")
    callback = _string(body, "callbackUrl")
    if callback is not None:
        try:
            check_url(callback)
        except BlockedURL as exc:
            raise Invalid(f"invalid callbackUrl: {exc.message}") from None
    pipeline = body.get("pipeline")
    if pipeline is not None and (not isinstance(pipeline, dict) or pipeline.get("type") not in PIPELINES):
        raise Invalid("pipeline.type must be pdf-sections")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise Invalid("metadata must be an object")
    return {
        "source": source, "type": type_, "prompt": prompt, "errors": errors, "priority": priority,
        "agentRole": agent_role, "workspaceSetup": _workspace_setup(body.get("workspaceSetup")),
        "workspaceFiles": _workspace_files(body.get("workspaceFiles")),
        "workspaceUploads": _workspace_uploads(body.get("workspaceUploads")),
        "config": _config(body.get("config")), "callbackUrl": callback, "pipeline": pipeline,
        "metadata": metadata or {},
    }


def _prompt_of(job: dict[str, Any]) -> str:
    if job.get("prompt"):
        return job["prompt"]
    return "Analyse and fix these reported errors:\n" + json.dumps(job.get("errors") or [], indent=2)


def _label_value(value: Any) -> str:
    text = "".join(c if c.isalnum() or c in "-_." else "-" for c in str(value or ""))[:63].strip("-_.")
    return text or "none"


def create_job(job: dict[str, Any], principal: Principal, *, chain: dict[str, Any] | None = None,
               trigger: dict[str, Any] | None = None) -> Record:
    """Create the task of a validated job (plus its index entries and counters); returns the task."""
    namespace = resolve_namespace(principal, None)
    own = job["config"]
    job = {**job, "config": effective_config(namespace, own)}
    extra, notes = executor_fields(namespace, job, own)
    if notes:  # settings this deployment cannot apply: said on the job, never silently dropped
        job["notes"] = notes
    doc = {**job, "chain": chain, "trigger": trigger}
    labels = {JOB_LABEL: "true", SOURCE_LABEL: _label_value(job["source"]), TYPE_LABEL: _label_value(job["type"])}
    if chain:
        labels[CHAIN_LABEL] = chain["chainId"]
    config = job["config"]
    body = {"type": "ai", "prompt": _prompt_of(job), "timeout": f"{config['timeoutMs']}ms",
            # labrats: lower runs first, default 2; Orka: 0–1000, higher first.
            "priority": max(0, min(1000, 1000 - int(job["priority"]))), "maxTurns": config["maxTurns"]}
    ai = task_ai(config)
    if ai:
        body["ai"] = ai
    if config.get("executorResources"):
        body["resources"] = config["executorResources"]
    body.update(extra)
    setup = job.get("workspaceSetup") or {}
    if setup.get("gitRepo"):  # the executor clones it into the task's workspace
        body["workspace"] = {k: v for k, v in (("gitRepo", setup["gitRepo"]), ("branch", setup.get("gitRef")),
                                               ("depth", setup.get("gitDepth"))) if v is not None}
    inverted = 10**13 - int(time.time() * 1000)
    for _ in range(5):
        job_id = f"ir-{secrets.token_hex(4)}"
        # Index first: an index entry without its task is skipped on read, a task without one
        # would be invisible to lists.
        stores.job_index.create(namespace, f"{inverted:013d}-{job_id}", {"jobId": job_id})
        if chain:
            stores.chain_index.create(f"{namespace}/{chain['chainId']}",
                                      f"{int(chain['chainDepth']):04d}-{job_id}", {"jobId": job_id})
        try:
            # labrats-ai-agents-api.txt: workspaceSetup.gitRepo is a "Clone URL (may include token)".
            record = create_task({"name": job_id, "spec": body}, principal, server_labels=labels,
                                 server_annotations={JOB_ANNOTATION: json.dumps(doc)}, allow_git_credentials=True)
            break
        except AlreadyExists:
            continue
    else:  # pragma: no cover - 2^32 ids
        raise Invalid("could not allocate a job id")
    counters.add(stores.STATS_SET, namespace, {
        "total": 1, f"type:{job['type']}": 1, f"source:{job['source']}": 1,
        f"model:{job['config'].get('model') or 'default'}": 1,
        f"repo:{(job.get('metadata') or {}).get('repo') or 'none'}": 1})
    return record
