"""The compat tool loop's rules (orka-behaviour §2, "The compat tool loop").

- chat's repetition rule;
- auto-poll when every call of a turn is `wait_for_task` on a task that is still running;
- a text answer without the goal-state sentinel is sent back to work, up to 3 times (configurable);
  the sentinel is stripped from what the client sees;
- no 5-iteration progress check.
"""

from __future__ import annotations

import json

from shared.agent.loop import LoopRules
from shared.llm.base import ToolCall
from shared.models.phases import TERMINAL_PHASES

GOAL_SENTINEL = "<ORKA_GOAL_STATE_REACHED>"
WAIT_TOOL = "wait_for_task"

REPROMPT = (f"[System: You emitted text but did not include the literal {GOAL_SENTINEL} sentinel that marks "
            "that the goal is reached. The work is not done: continue with the next tool call. Write your final "
            f"answer only when the goal is reached, starting with {GOAL_SENTINEL} on its own line.]")


def coordinator_prompt(namespace: str) -> str:
    """What the model is told about running inside the platform (prepended as a system message)."""
    return (
        "You are a coordinator running inside Shoal, a Kubernetes task platform, in namespace "
        f"{namespace}. You get work done by creating tasks with your tools, waiting for them and reading "
        "their results; you do not narrate plans or progress in text.\n"
        "After creating a task, call wait_for_task with its name; if it is still running, call "
        "wait_for_task again.\n"
        f"When the goal is reached (or cannot be reached), answer once, starting with {GOAL_SENTINEL} "
        "on its own line, followed by the answer for the user. A text reply without that line is "
        "treated as unfinished work.")


def strip_sentinel(text: str) -> str:
    if GOAL_SENTINEL not in text:
        return text
    return text.replace(GOAL_SENTINEL, "").lstrip(" \t\r\n")


def task_still_running(output: str) -> bool:
    """A wait_for_task result that names a task in a non-terminal phase."""
    try:
        value = json.loads(output)
    except ValueError:
        return False
    data = value.get("data") if isinstance(value, dict) and value.get("success") else None
    phase = data.get("phase") if isinstance(data, dict) else None
    return isinstance(phase, str) and phase not in TERMINAL_PHASES


def all_waiting(calls: list[ToolCall], outputs: list[str]) -> bool:
    return bool(calls) and all(c.name == WAIT_TOOL and task_still_running(o)
                               for c, o in zip(calls, outputs, strict=True))


def compat_rules(max_reprompts: int = 3) -> LoopRules:
    def reprompt(text: str, done: int) -> str | None:
        return None if GOAL_SENTINEL in text or done >= max_reprompts else REPROMPT

    return LoopRules(repetition_warning=True, repoll=all_waiting, reprompt=reprompt)
