"""The bodies of the compat routes: one model per request body, validated by `ctx.body()` and
documented in /openapi.json.

The vendors' APIs ignore top-level fields they do not know (a new SDK field must not break an older
server), so these models ignore them too (docs/api-reference.md, "Unknown fields"). They type the
fields Shoal reads, with JSON's own types (a boolean is not a number, 16.0 is the integer 16, as
JSON Schema and the vendors' documents read it), and leave the nested shapes (messages, content
blocks, tools) to the wire parsers (openai_wire, anthropic_wire, responses_wire), which keep Orka's
messages for them. The official SDK types (`openai.types…`, `anthropic.types…`) describe the answers
(shared.http.models.Reply by name, imported only when the document is built).
"""

from __future__ import annotations

from pydantic import ConfigDict, Field

from shared.http.json_types import (
    Boolean,
    Integer,
    Number,
    Object,
    Objects,
    String,
    StringOrObject,
    StringOrObjects,
    StringOrStrings,
    Strings,
)
from shared.models.base import Model


class _VendorBody(Model):
    model_config = ConfigDict(extra="ignore")


class StreamOptions(_VendorBody):
    include_usage: Boolean = None


class ChatCompletionRequest(_VendorBody):
    """OpenAI's `POST /chat/completions` (CreateChatCompletionRequest), the fields Shoal reads."""

    model: String = Field(None, description="`provider/model`, a bare model, or absent for the default")
    messages: Objects = Field(None, description="system/developer, user, assistant, tool (and legacy function) "
                                                "messages; required, non-empty")
    n: Integer = Field(None, description="Only 1 is supported")
    temperature: Number = None
    top_p: Number = None
    stream: Boolean = None
    stream_options: StreamOptions | None = None
    max_tokens: Integer = None
    max_completion_tokens: Integer = None
    stop: StringOrStrings = None
    tools: Objects = None
    functions: Objects = Field(None, description="Deprecated function definitions")
    tool_choice: StringOrObject = None


class _AnthropicConversation(_VendorBody):
    # What both Anthropic bodies carry: the model and the conversation it would read.
    model: String = Field(None, description="Required")
    messages: Objects = Field(None, description="user/assistant messages; required, non-empty")
    system: StringOrObjects = None
    tools: Objects = None
    tool_choice: Object = None


class MessagesRequest(_AnthropicConversation):
    """Anthropic's `POST /v1/messages` (CreateMessageParams), the fields Shoal reads."""

    max_tokens: Integer = Field(None, description="Required, greater than 0")
    temperature: Number = None
    top_p: Number = None
    stop_sequences: Strings = None
    stream: Boolean = None


class CountTokensRequest(_AnthropicConversation):
    """Anthropic's `POST /v1/messages/count_tokens` (CountMessageTokensParams), the fields Shoal reads:
    a message request without `max_tokens` and the sampling fields."""


class ResponsesRequest(_VendorBody):
    """OpenAI's `POST /responses` (CreateResponse), the fields Shoal reads."""

    model: String = None
    input: StringOrObjects = Field(None, description="A string or input items; required")
    instructions: String = None
    stream: Boolean = None
    max_output_tokens: Integer = Field(None, description="At least 16")
    temperature: Number = Field(None, description="0 to 2")
    top_p: Number = Field(None, description="0 to 1")
    metadata: Object = None
    tools: Objects = None
    tool_choice: StringOrObject = None


# -- the model lists (openai.types.Model and anthropic.types.ModelInfo fields, plus Orka's) -------------
class ModelEntry(Model):
    """One configured model: `id`, `object: "model"`, `created`, `owned_by` (openai.types.Model)."""

    id: str
    object: str = "model"
    created: int
    owned_by: str


class OpenAIModelList(Model):
    object: str = "list"
    data: list[ModelEntry]


class AnthropicModelEntry(ModelEntry):
    """Orka's entry with the fields Anthropic's clients read (anthropic.types.ModelInfo)."""

    type: str = "model"
    display_name: str
    created_at: str
    lifecycle: str = "active"
    capabilities: dict | None = Field(None, description="Always null: not known for a configured model")
    max_input_tokens: int | None = Field(None, description="Always null: not known for a configured model")
    max_tokens: int | None = Field(None, description="Always null: not known for a configured model")


class AnthropicModelList(Model):
    object: str = "list"
    data: list[AnthropicModelEntry]
    has_more: bool
    first_id: str | None
    last_id: str | None
