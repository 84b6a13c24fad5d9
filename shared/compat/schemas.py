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

from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema


def _json(check: Callable[[Any], bool], expected: str, schema: dict[str, Any]) -> Any:
    """A field of one JSON type (null allowed): one message naming what was expected, rather than
    one per member of a union."""
    def run(value: Any) -> Any:
        if value is None or check(value):
            return int(value) if schema.get("type") == ["integer", "null"] and isinstance(value, float) else value
        raise ValueError(f"expected {expected}")

    return Annotated[Any, BeforeValidator(run), WithJsonSchema(schema)]


def _is_int(value: Any) -> bool:  # JSON has one number type: 16.0 is the integer 16
    return not isinstance(value, bool) and (isinstance(value, int) or (isinstance(value, float) and value.is_integer()))


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


_OBJECT = {"type": "object", "additionalProperties": True}
_OBJECTS = {"type": "array", "items": _OBJECT}
Integer = _json(_is_int, "an integer", {"type": ["integer", "null"]})
Number = _json(_is_number, "a number", {"type": ["number", "null"]})
String = _json(lambda v: isinstance(v, str), "a string", {"type": ["string", "null"]})
Boolean = _json(lambda v: isinstance(v, bool), "a boolean", {"type": ["boolean", "null"]})
Strings = _json(_is_strings, "an array of strings", {"type": ["array", "null"], "items": {"type": "string"}})
Objects = _json(_is_objects, "an array of objects", {"type": ["array", "null"], "items": _OBJECT})
Object = _json(lambda v: isinstance(v, dict), "an object", {"type": ["object", "null"], "additionalProperties": True})
StringOrStrings = _json(lambda v: isinstance(v, str) or _is_strings(v), "a string or an array of strings",
                        {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}},
                                   {"type": "null"}]})
StringOrObject = _json(lambda v: isinstance(v, str | dict), "a string or an object",
                       {"anyOf": [{"type": "string"}, _OBJECT, {"type": "null"}]})
StringOrObjects = _json(lambda v: isinstance(v, str) or _is_objects(v), "a string or an array of objects",
                        {"anyOf": [{"type": "string"}, _OBJECTS, {"type": "null"}]})


class _VendorBody(BaseModel):
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


class MessagesRequest(_VendorBody):
    """Anthropic's `POST /v1/messages` (CreateMessageParams), the fields Shoal reads."""

    model: String = Field(None, description="Required")
    messages: Objects = Field(None, description="user/assistant messages; required, non-empty")
    max_tokens: Integer = Field(None, description="Required, greater than 0")
    system: StringOrObjects = None
    temperature: Number = None
    top_p: Number = None
    stop_sequences: Strings = None
    stream: Boolean = None
    tools: Objects = None
    tool_choice: Object = None


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
class ModelEntry(BaseModel):
    """One configured model: `id`, `object: "model"`, `created`, `owned_by` (openai.types.Model)."""

    id: str
    object: str = "model"
    created: int
    owned_by: str


class OpenAIModelList(BaseModel):
    object: str = "list"
    data: list[ModelEntry]


class AnthropicModelEntry(ModelEntry):
    """Orka's entry with the fields Anthropic's clients read (anthropic.types.ModelInfo)."""

    type: str = "model"
    display_name: str
    created_at: str
    lifecycle: str = "active"


class AnthropicModelList(BaseModel):
    object: str = "list"
    data: list[AnthropicModelEntry]
    has_more: bool
    first_id: str | None
    last_id: str | None
