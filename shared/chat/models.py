"""The chat API's request and answers (Orka's shapes, orka-behaviour.md "Chat"): one model per body,
validated by `ctx.body()` and documented in /openapi.json. An unknown field is refused naming it
(the Orka dialect's policy for flat bodies, docs/api-reference.md)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from shared.http.common_models import NamespaceQuery, QueryModel, StrictModel
from shared.http.json_types import Integer, Number, String
from shared.models.base import Model


class ChatRequest(StrictModel):
    message: String = Field(None, description="Required, not blank")
    sessionId: String = Field(None, description="Continue this session (a new one when absent)")
    provider: String = None
    model: String = None
    namespace: String = None
    temperature: Number = Field(None, description="Default 0")
    maxTokens: Integer = Field(None, description="Positive; default 4096")
    systemPrompt: String = Field(None, description="Appended to the chat's system prompt")
    agentRef: String = Field(None, description="An Agent whose provider/model (or runtime) the chat uses")


class ResumeQuery(QueryModel):
    lastEventId: str | None = Field(None, description="Same as the Last-Event-ID header: replay after this event")


class StreamQuery(NamespaceQuery, ResumeQuery):
    pass


class ChatUsage(Model):
    inputTokens: int
    outputTokens: int
    llmCalls: int
    toolCalls: int | None = None
    tasksCreated: int | None = None
    duration: str | None = None


class ToolCallRecord(Model):
    name: str
    args: Any = None
    result: Any = None


class ChatResult(Model):
    """The JSON answer (`Accept: application/json` exactly)."""

    sessionId: str
    message: str
    toolCalls: list[ToolCallRecord]
    usage: dict[str, Any] = Field(description="inputTokens, outputTokens, llmCalls, toolCalls, tasksCreated, "
                                              "duration")


class ChatEvent(Model):
    """The `data` of a chat stream event: `sessionId` plus, per event, `status` {provider, model},
    `message` {content} (the whole reply), `tool_call` {toolCall: {id, name, args}}, `tool_result`
    {toolCall: {id, name, result}}, `error` {error: string}, `done` {usage} (always last)."""

    model_config = ConfigDict(extra="allow")
    sessionId: str


class ChatConfig(Model):
    enabled: bool
    provider: str
    model: str
    maxIterations: int
    maxDuration: str = Field(description='A Go duration, e.g. "30m0s"')
    maxTasksPerTurn: int
    maxConcurrent: int
    availableTools: list[str]
