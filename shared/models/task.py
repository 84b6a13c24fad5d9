"""The Task resource's status (the create request: shared.tasks.models; the worker reports: shared.workerapi.models)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from shared.models.base import Model
from shared.models.phases import TERMINAL_PHASES, TRANSITIONS

__all__ = ["TERMINAL_PHASES", "TRANSITIONS", "TaskStatus"]


class ResultRef(Model):
    available: bool = False
    size: int | None = None


class TaskStatus(Model):
    model_config = ConfigDict(extra="allow")
    phase: str = "Pending"
    message: str | None = None
    startTime: str | None = None
    completionTime: str | None = None
    attempts: int = 0
    iteration: int = 0
    jobName: str | None = None
    resultRef: ResultRef = Field(default_factory=ResultRef)
    conditions: list[dict[str, Any]] = Field(default_factory=list)
    childTasks: list[dict[str, Any]] = Field(default_factory=list)
