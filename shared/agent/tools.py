"""The tool registry an agent loop runs with."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.llm.base import ToolSpec

ToolFn = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Tool:
    spec: ToolSpec
    run: ToolFn


class ToolRegistry:
    def __init__(self, tools: list[Tool] | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools or []:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        if tool.spec.name in self._tools:
            raise ValueError(f"duplicate tool {tool.spec.name}")
        self._tools[tool.spec.name] = tool

    def specs(self) -> list[ToolSpec]:
        return [t.spec for t in self._tools.values()]

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def __len__(self) -> int:
        return len(self._tools)


def render_result(value: Any) -> str:
    """A tool's return value as the text the model sees."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


# The result shape of the worker's tools (built-ins, coordination): success with data, or a typed error.
def ok(data: object) -> dict:
    return {"success": True, "data": data}


def fail(error: str, error_type: str = "invalid_arguments", suggestion: str | None = None) -> dict:
    result = {"success": False, "error": error, "errorType": error_type}
    if suggestion:
        result["suggestion"] = suggestion
    return result
