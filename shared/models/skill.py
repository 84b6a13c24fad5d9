"""The Skill resource (Orka's Skill CRD): reusable markdown instructions agents can load."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SkillContent(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    inline: str | None = None


class SkillSpec(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    displayName: str | None = None
    description: str | None = None
    version: str | None = None
    author: str | None = None
    tags: list[str] | None = None
    content: SkillContent | None = None
    allowedTools: list[str] | None = Field(default=None)
