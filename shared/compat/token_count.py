"""`/anthropic/v1/messages/count_tokens`: how many input tokens a message request would cost.

Only the model's provider knows its tokenizer, so only an honest count is answered:
- an Anthropic provider: its own `/v1/messages/count_tokens`, through the same-wire hop
  (`shared.compat.passthrough`), answered as it wrote it;
- a provider that counts its own usage locally (the mock/demo model: `count_input_tokens`): the
  input tokens its usage would report for the same conversation;
- any other (OpenAI and OpenAI-compatible, Gemini, Bedrock, Vertex, Azure): a 400 naming `model`.
  An estimate from another tokenizer would read as exact; clients such as Claude Code trust the
  figure to decide when to compact, and fall back to their own estimate on a 4xx (docs/compat.md).
"""

from __future__ import annotations

from typing import Any

from shared.compat import anthropic_wire, passthrough
from shared.compat.common import InvalidField
from shared.llm.base import Provider


def count_tokens(body: dict[str, Any], provider: Provider, *, version: str | None, beta: str | None) -> Any:
    """The count for a checked body (`anthropic_wire.check` without max_tokens) on `provider`."""
    request = anthropic_wire.conversation(body)  # content checked as /messages checks it, even when relayed
    if passthrough.speaks(provider, "anthropic"):
        return passthrough.anthropic_count_tokens(body, provider, version=version, beta=beta)
    counter = getattr(provider, "count_input_tokens", None)  # optional: only providers that count locally
    if counter is None:
        raise InvalidField("model", f'model "{body["model"]}": its provider ({provider.kind}) cannot count tokens; '
                                    "only Anthropic providers and the demo model can")
    return {"input_tokens": counter(request.messages)}
