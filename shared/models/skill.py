"""The Skill resource (Orka's Skill CRD): reusable markdown instructions agents can load."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from shared.models.base import Model


class SkillContent(Model):
    model_config = ConfigDict(extra="allow")
    inline: str | None = None


class SkillSpec(Model):
    model_config = ConfigDict(extra="allow")
    displayName: str | None = None
    description: str | None = None
    version: str | None = None
    author: str | None = None
    tags: list[str] | None = None
    content: SkillContent | None = None
    allowedTools: list[str] | None = Field(default=None)
