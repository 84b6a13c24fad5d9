"""The Agent resource: one record that is a superset of Orka's Agent CRD and labrats' agent.

Orka fields (provider, model, systemPrompt, tools, skills, coordination, runtime, ...) and the
labrats fields (triggerName, eventTriggers, instructions, default*, enabled) live side by side in
`spec`; a field that is neither is refused through the REST API (a 400 naming it: never stored
silently), in `spec` and in its nested objects alike (`spec.runtime.imagee: unknown field`), as a
Kubernetes strict apply refuses a field the CRD's schema does not list. Only the objects Shoal keeps
for round trips without interpreting them (`execution`, `session`, an event trigger's `config` and
`filters`) are free-form. This is the stored (flat) form; Orka's nested `spec.model` / `spec.systemPrompt` shapes are converted to and from
it by `shared.catalog.agent_shape`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, field_validator

from shared.duration import parse_go_duration
from shared.models.base import Model


class _Open(Model):
    model_config = ConfigDict(extra="allow")


class _Nested(Model):
    """A nested object of the Agent spec: an unknown field is refused, naming it."""

    model_config = ConfigDict(extra="forbid")


class Ref(_Nested):
    name: str = Field(min_length=1)


class ProviderRef(Ref):
    namespace: str | None = Field(None, description="Default: the Agent's namespace")


class SecretKeyRef(Ref):
    key: str | None = Field(None, description="The Secret's key (default: the runtime vendor's API key variable)")


class Coordination(_Nested):
    enabled: bool = False
    autonomous: bool | None = None
    maxDepth: int | None = Field(default=None, ge=1, le=10)  # Orka's CRD bounds
    allowedAgents: list[str] | None = None
    maxConcurrentChildren: int | None = Field(default=None, ge=1, description=(
        "How many delegated children of a task using this Agent run at once; the rest wait Pending "
        "(unset: 5 with coordination enabled, as Orka's CRD defaults it)"))
    # Orka CRD fields kept for round trips (Orka's docs' examples use them; Shoal does not act on them)
    maxIterations: int | None = Field(default=None, ge=0)
    approvalRequiredTools: list[str] | None = None

    @field_validator("allowedAgents", mode="before")
    @classmethod
    def _agent_names(cls, value: Any) -> Any:
        """Orka writes `[{name: coder}]`; store names."""
        if isinstance(value, list):
            return [v.get("name") if isinstance(v, dict) else v for v in value]
        return value


RUNTIME_TYPES = ("claude", "codex", "copilot", "opencode")  # Orka's four ACP runtimes


class Runtime(_Nested):
    type: str | None = None
    secretRef: SecretKeyRef | None = Field(None, description="Shoal: the Secret holding the runtime's model key")
    # The rest of Orka's CRD runtime (AgentCLIRuntime), kept for round trips
    contractVersion: str | None = None
    runtimeRef: Ref | None = None
    defaultMaxTurns: int | None = Field(default=None, ge=1, le=1000)
    defaultAllowedTools: list[str] | None = None
    defaultAllowBash: bool | None = None
    defaultReasoningEffort: str | None = None

    @field_validator("type")
    @classmethod
    def _known_runtime(cls, value: str | None) -> str | None:
        if value is not None and value not in RUNTIME_TYPES:
            raise ValueError(f'unknown runtime type "{value}": must be one of {", ".join(RUNTIME_TYPES)}')
        return value

    @field_validator("secretRef", mode="before")
    @classmethod
    def _ref_from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class ResourceRequirements(_Nested):
    """Kubernetes' ResourceRequirements (Orka's `spec.resources`)."""

    limits: dict[str, str | int | float] | None = None
    requests: dict[str, str | int | float] | None = None
    claims: list[Ref] | None = None


class ChainNext(_Nested):
    agentTriggerName: str = Field(min_length=1)
    condition: str | None = None
    failurePolicy: str | None = None


class EventTrigger(_Nested):
    """labrats: the agent reacts to `source` events (`events`, e.g. ["issues.labeled"]), optionally
    chaining to the next agent by trigger name."""

    source: str = Field(min_length=1)
    events: list[str] | None = None
    event: str | None = None
    instruction: str | None = None
    config: dict[str, Any] | None = None
    filters: dict[str, Any] | None = None
    enabled: bool = True
    next: ChainNext | None = None


class AgentSpec(_Open):
    # Orka
    provider: str | None = None
    providerRef: ProviderRef | None = None
    model: str | None = None
    systemPrompt: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    maxTokens: int | None = Field(default=None, ge=1)
    contextWindow: int | None = Field(default=None, ge=1)
    modelFallbacks: list[dict[str, Any]] | None = None  # Orka's spec.model.fallbacks, kept for round trips
    maxTurns: int | None = Field(default=None, ge=1)
    tools: list[str] | None = None
    skills: list[str] | None = None
    coordination: Coordination | None = None
    runtime: Runtime | None = None
    description: str | None = None
    # Orka CRD fields Shoal keeps for round trips without interpreting them (Orka's docs' examples).
    execution: dict[str, Any] | None = None
    session: dict[str, Any] | None = None
    resources: ResourceRequirements | None = None
    secretRef: Ref | None = Field(None, description="Orka: a Secret with LLM API keys (Shoal's providers hold keys)")
    ttlAfterLastTask: str | None = Field(None, description='Orka: a duration like "24h" (Shoal keeps idle Agents)')
    # labrats
    triggerName: str | None = None
    eventTriggers: list[EventTrigger] | None = None
    instructions: list[str | dict[str, Any]] | None = None  # instruction names, or inline objects
    defaultModel: str | None = None
    defaultProvider: str | None = None
    defaultEffort: str | None = None
    enabled: bool | None = None

    @field_validator("tools", "skills", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        """Accept `["a"]` or `[{"name": "a"}]`; store names."""
        if isinstance(value, list):
            return [v.get("name") if isinstance(v, dict) else v for v in value]
        return value

    @field_validator("providerRef", "secretRef", mode="before")
    @classmethod
    def _ref_from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("ttlAfterLastTask")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_go_duration(value)
            except ValueError:
                raise ValueError(f'expected a duration like "24h", got "{value}"') from None
        return value


class OrkaModel(_Nested):
    """Orka's `spec.model` as answered (the stored flat fields, nested)."""

    provider: str | None = None
    name: str | None = None
    temperature: float | None = None
    contextWindow: int | None = None
    maxTokens: int | None = None
    fallbacks: list[dict[str, Any]] | None = None


class PromptSource(_Nested):
    inline: str | None = None
    configMapRef: dict[str, Any] | None = None


class AgentSpecView(AgentSpec):
    """An Agent's spec as the Orka API answers it (shared.catalog.agent_shape.orka_spec): the model
    and the prompt nested, tools and skills as references. Documentation only: never validates."""

    model: OrkaModel | None = None  # type: ignore[assignment]
    systemPrompt: PromptSource | None = None  # type: ignore[assignment]
    tools: list[Ref] | None = None  # type: ignore[assignment]
    skills: list[Ref] | None = None  # type: ignore[assignment]


class AgentSpecInput(AgentSpec):
    """An Agent's spec as the Orka API accepts it: Shoal's flat fields or Orka's CRD shapes (`model` an
    object, `systemPrompt` a PromptSource, tools and skills as references), stored in one canonical
    form (shared.catalog.agent_shape). Documentation only: the route's spec validation runs AgentSpec."""

    model: str | OrkaModel | None = Field(None, description='"gpt-4o", or Orka\'s {provider, name, ...}')  # type: ignore[assignment]
    systemPrompt: str | PromptSource | None = Field(None, description='Text, or Orka\'s {inline: "..."}')  # type: ignore[assignment]
    tools: list[str | Ref] | None = None  # type: ignore[assignment]
    skills: list[str | Ref] | None = None  # type: ignore[assignment]


def agent_tools(spec: dict[str, Any]) -> list[str]:
    """The tool names an agent document asks for (the task engine's resolution helper)."""
    return [t for t in spec.get("tools") or [] if isinstance(t, str)]
