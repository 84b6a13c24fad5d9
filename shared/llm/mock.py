"""The deterministic `shoal-mock` provider: the offline default of `make run` and of tests.

Without a script it is the demo model (`shared/llm/demo_model.py`: plain rules, not an LLM) that
acts on a few documented intents with the tools it is offered and otherwise answers with one text
reply derived from the last user message. With `SHOAL_MOCK_SCRIPT` (a JSON file: a list of steps) it plays the steps in order, one
per assistant turn; a step is {"text": "..."} or {"tool_calls": [{"name": ..., "arguments": {...}}]},
optionally with "delay" (seconds to wait first: a slow model, for cancellation and timeout tests);
a step {"error": "..."} fails the call as a provider would (ProviderError with that message).
A step's text may contain "{tool_results}", replaced by the results of the previous turn's tools.
The script may also be an object mapping a substring of the first user message to a list of steps,
so workers sharing one script each play their own part.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shared.llm import demo_model
from shared.llm.base import Completion, Message, ProviderError, StreamEvent, ToolCall, ToolSpec, Usage

MODEL = "shoal-mock"
GOAL_MARKER = "<ORKA_GOAL_STATE_REACHED>"  # shared.compat.rules.GOAL_SENTINEL, without importing the loop


def _tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


class MockProvider:
    kind = "mock"

    def __init__(self, name: str = "default", model: str | None = None, script: list[dict[str, Any]] | dict[str, list[dict[str, Any]]] | None = None):
        self.name = name
        self.model = model or MODEL
        if script is None and os.environ.get("SHOAL_MOCK_SCRIPT"):
            script = json.loads(Path(os.environ["SHOAL_MOCK_SCRIPT"]).read_text())
        self.script = script

    def complete(self, messages: list[Message], *, tools: list[ToolSpec] | None = None,
                 options: Any = None,
                 max_tokens: int = 4096, temperature: float | None = None) -> Completion:
        prompt_tokens = self.count_input_tokens(messages)
        turn = sum(1 for m in messages if m.role == "assistant")
        script = self._script_for(messages)
        if script is not None and turn < len(script):
            step = script[turn]
            if step.get("delay"):
                time.sleep(float(step["delay"]))
            if step.get("error"):
                raise ProviderError(str(step["error"]))
            calls = [ToolCall(id=f"call_{turn}_{i}", name=c["name"], arguments=c.get("arguments", {}))
                     for i, c in enumerate(step.get("tool_calls", []))]
            text = step.get("text", "")
            if "{tool_results}" in text:  # echo the last turn's tool results (deterministic "reasoning")
                results = []
                for message in reversed(messages):
                    if message.role != "tool":
                        break
                    results.insert(0, message.content)
                text = text.replace("{tool_results}", "\n".join(results))
            return Completion(text, calls, "tool_use" if calls else "end_turn",
                              Usage(prompt_tokens, _tokens(text) + 5 * len(calls)), self.model)

        answer = demo_model.reply(messages, tools)
        if answer.calls:
            calls = demo_model.tool_calls(answer, turn)
            return Completion("", calls, "tool_use", Usage(prompt_tokens, 5 * len(calls)), self.model)
        text = answer.text
        if any(m.role == "system" and GOAL_MARKER in m.content for m in messages):
            # Asked (by the compat loop's prompt) to mark a finished answer, it does as a model would,
            # instead of being sent back to work three times.
            text = f"{GOAL_MARKER}\n{text}"
        return Completion(text, [], "end_turn", Usage(prompt_tokens, _tokens(text)), self.model)

    def count_input_tokens(self, messages: list[Message]) -> int:
        """The input tokens this provider's usage reports for `messages` (what count_tokens answers):
        a quarter of each message's characters; tool definitions and calls are not counted."""
        return sum(_tokens(m.content) for m in messages)

    def _script_for(self, messages: list[Message]) -> list[dict[str, Any]] | None:
        """A list script plays for every conversation; a dict picks the list whose key occurs in the
        first user message (several workers sharing one SHOAL_MOCK_SCRIPT each play their own part)."""
        if not isinstance(self.script, dict):
            return self.script
        first = next((m.content for m in messages if m.role == "user"), "")
        return next((steps for key, steps in self.script.items() if key in first), None)

    def stream(self, messages: list[Message], *, tools: list[ToolSpec] | None = None,
               options: Any = None,
               max_tokens: int = 4096, temperature: float | None = None) -> Iterator[StreamEvent]:
        completion = self.complete(messages, tools=tools, max_tokens=max_tokens, temperature=temperature)
        words = completion.text.split(" ")
        for i, word in enumerate(words):  # word by word, as a real model streams
            yield StreamEvent("text_delta", text=word if i == len(words) - 1 else word + " ")
        yield StreamEvent("done", completion=completion)
