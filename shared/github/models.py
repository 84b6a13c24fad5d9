"""GitHub webhook deliveries as both receivers read them (`/webhooks/github`, `/api/webhooks/github`).

The payload is GitHub's own (https://docs.github.com/webhooks/webhook-events-and-payloads): its
fields are GitHub's to add, so the model names the ones Shoal reads and keeps the rest as sent. The
signature covers the raw body; nothing of it is read before the HMAC check.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from shared.models.base import Model


class GitHubPayload(Model):
    """A GitHub webhook payload (JSON, or form-encoded `payload=` on `/webhooks/github`)."""

    model_config = ConfigDict(extra="allow")
    action: str | None = Field(None, description="e.g. labeled, opened, synchronize")
    repository: dict[str, Any] | None = None
    label: dict[str, Any] | None = Field(None, description="labeled events: the label added")
    issue: dict[str, Any] | None = None
    pull_request: dict[str, Any] | None = None
    sender: dict[str, Any] | None = None


class WebhookAnswer(Model):
    """202 of `/webhooks/github`: `accepted`, `ignored` (with a reason), `duplicate`, or `ok` for ping."""

    model_config = ConfigDict(extra="allow")
    status: str = Field(json_schema_extra={"enum": ["accepted", "ignored", "duplicate", "ok"]})
    delivery: str | None = None
    type: str | None = Field(None, description="The CloudEvent type emitted (com.github.<event>.<action>)")
    reason: str | None = None
    taskName: str | None = Field(None, description="Label triggers: the task the delivery creates")
