"""What a verified GitHub delivery is: its payload, its CloudEvent type, and whether it triggers work."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from shared.config import get_settings
from shared.errors import Invalid
from shared.http.body import parse_json
from shared.http.models import Header

# The headers of a delivery, as both receivers document them.
GITHUB_HEADERS = (
    Header("X-Hub-Signature-256", "`sha256=` + hex HMAC-SHA256 of the raw body with the webhook secret",
           required=True),
    Header("X-GitHub-Event", "The event name (issues, pull_request, ping, …)", required=True),
    Header("X-GitHub-Delivery", "The delivery's GUID: the idempotency key (required except for ping)"),
)

_ACTION = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")


def parse_payload(raw: bytes, content_type: str) -> dict[str, Any]:
    """The JSON payload, sent as `application/json` or form-encoded (`payload=<urlencoded json>`)."""
    try:
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            values = parse_qs(raw.decode("utf-8"), keep_blank_values=True).get("payload")
            if not values or len(values) != 1:
                raise Invalid("invalid request body")
            text = values[0]
        else:
            text = raw.decode("utf-8")
        payload = parse_json(text)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("invalid request body") from None
    if not isinstance(payload, dict):
        raise Invalid("invalid request body")
    return payload


def event_type(event: str, payload: dict[str, Any]) -> str:
    action = payload.get("action")
    return f"com.github.{event}.{action}" if isinstance(action, str) and action else f"com.github.{event}"


def source(payload: dict[str, Any]) -> str:
    repo = payload.get("repository") if isinstance(payload.get("repository"), dict) else {}
    url = repo.get("html_url")
    return url if isinstance(url, str) and url.startswith("https://") else "https://github.com"


def subject(event: str, payload: dict[str, Any]) -> str | None:
    for key, kind in (("pull_request", "pull"), ("issue", "issues")):
        item = payload.get(key)
        if isinstance(item, dict) and isinstance(item.get("number"), int):
            return f"{kind}/{item['number']}"
    return None


@dataclass(frozen=True)
class LabelTrigger:
    """A `labeled` delivery whose label asks an agent to act (`agent:<action>`)."""

    label: str
    action: str
    number: int
    kind: str  # "issue" or "pull_request"
    agent: str | None
    namespace: str
    task_name: str


def agent_for(action: str) -> str | None:
    """ORKA_GITHUB_LABEL_AGENT_<ACTION> (hyphens → underscores), else ORKA_GITHUB_LABEL_TRIGGER_AGENT."""
    override = os.environ.get("ORKA_GITHUB_LABEL_AGENT_" + action.upper().replace("-", "_"))
    return override or get_settings().github_label_trigger_agent


def payload_digest(payload: dict[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def label_trigger(payload: dict[str, Any]) -> LabelTrigger | None:
    """The trigger in a `labeled` issues/pull_request payload, or None when the label is not one."""
    settings = get_settings()
    if payload.get("action") != "labeled":
        return None
    label = payload.get("label", {}).get("name") if isinstance(payload.get("label"), dict) else None
    prefix = settings.github_label_trigger_prefix
    if not isinstance(label, str) or not prefix or not label.startswith(prefix):
        return None
    action = label[len(prefix):].strip().lower()
    if not _ACTION.match(action):
        return None
    kind = "pull_request" if isinstance(payload.get("pull_request"), dict) else "issue"
    item = payload.get(kind)
    if not isinstance(item, dict) or not isinstance(item.get("number"), int):
        return None
    number = item["number"]
    namespace = settings.github_label_trigger_namespace or settings.default_namespace
    # Same payload → same name: a second delivery of it is a duplicate, not a second task.
    name = f"github-{action}-{number}-{payload_digest(payload)[:12]}"
    return LabelTrigger(label, action, number, kind, agent_for(action), namespace, name)
