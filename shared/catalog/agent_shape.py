"""Orka's Agent shapes ↔ the one stored form.

Orka's CRD nests the model (`spec.model: {provider, name, temperature?, contextWindow?, maxTokens?,
fallbacks?}`) and the prompt (`spec.systemPrompt: {inline}`, a PromptSource); Shoal's other writers
(labrats agents, the chat and worker tools) use flat strings (`provider`, `model`, `systemPrompt`,
`temperature`, `maxTokens`). Both are accepted; the stored spec is always the flat form (what the
engine reads), and the Orka API renders it back in Orka's nested shape.

`spec.tools` and `spec.skills` are lists of references in Orka (`[{name, enabled?}]`,
`[{name}]`); Shoal's writers send names. Either is accepted, names are stored (a tool with
`enabled: false` is left out: it is not available to the agent), and the Orka API answers `[{name}]`.
"""

from __future__ import annotations

import copy
from typing import Any

from shared.errors import Invalid

# spec.model.<orka key> ↔ spec.<stored key>
MODEL_FIELDS = (("provider", "provider"), ("name", "model"), ("temperature", "temperature"),
                ("contextWindow", "contextWindow"), ("maxTokens", "maxTokens"), ("fallbacks", "modelFallbacks"))


def canonical_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The flat stored form of an Agent spec in either shape; Invalid naming the field otherwise."""
    spec = copy.deepcopy(spec)
    model = spec.get("model")
    if isinstance(model, dict):
        unknown = sorted(set(model) - {orka for orka, _ in MODEL_FIELDS})
        if unknown:
            raise Invalid(f"spec.model.{unknown[0]} is not supported")
        del spec["model"]
        for orka, stored in MODEL_FIELDS:
            if orka not in model or model[orka] is None:
                continue
            if stored in spec and spec[stored] != model[orka]:
                raise Invalid(f"spec.model.{orka} conflicts with spec.{stored}")
            spec[stored] = model[orka]
        if "model" in spec and not isinstance(spec["model"], str):
            raise Invalid("spec.model.name must be a string")
    elif model is not None and not isinstance(model, str):
        raise Invalid("spec.model must be a string or an object {provider, name, contextWindow, maxTokens}")
    if "modelFallbacks" in spec:
        _check_fallbacks(spec["modelFallbacks"])
    for field in ("tools", "skills"):
        if isinstance(spec.get(field), list):
            spec[field] = _reference_names(spec[field], field)
    prompt = spec.get("systemPrompt")
    if isinstance(prompt, dict):
        if prompt.get("configMapRef"):
            raise Invalid("spec.systemPrompt.configMapRef is not supported; use spec.systemPrompt.inline")
        unknown = sorted(set(prompt) - {"inline", "configMapRef"})
        if unknown:
            raise Invalid(f"spec.systemPrompt.{unknown[0]} is not supported")
        inline = prompt.get("inline")
        if inline is not None and not isinstance(inline, str):
            raise Invalid("spec.systemPrompt.inline must be a string")
        if inline:
            spec["systemPrompt"] = inline
        else:
            del spec["systemPrompt"]
    elif prompt is not None and not isinstance(prompt, str):
        raise Invalid("spec.systemPrompt must be a string or an object {inline}")
    return spec


def _check_fallbacks(fallbacks: Any) -> None:
    """Orka's ModelFallback list: `[{providerRef, model?}]` (used by shared.llm.fallback)."""
    if not isinstance(fallbacks, list):
        raise Invalid("spec.model.fallbacks must be a list of {providerRef, model}")
    for at, entry in enumerate(fallbacks):
        if not isinstance(entry, dict):
            raise Invalid(f"spec.model.fallbacks[{at}] must be an object {{providerRef, model}}")
        unknown = sorted(set(entry) - {"providerRef", "model"})
        if unknown:
            raise Invalid(f"spec.model.fallbacks[{at}].{unknown[0]} is not supported")
        if not isinstance(entry.get("providerRef"), str) or not entry["providerRef"]:
            raise Invalid(f"spec.model.fallbacks[{at}].providerRef is required")
        if entry.get("model") is not None and not isinstance(entry["model"], str):
            raise Invalid(f"spec.model.fallbacks[{at}].model must be a string")


def _reference_names(values: list[Any], field: str) -> list[Any]:
    """Names of a `spec.tools`/`spec.skills` list given as names or Orka references (`{name, enabled?}`)."""
    names: list[Any] = []
    for at, value in enumerate(values):
        if not isinstance(value, dict):
            names.append(value)  # a name (its type is checked by the AgentSpec model)
            continue
        allowed = {"name", "enabled"} if field == "tools" else {"name"}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise Invalid(f"spec.{field}[{at}].{unknown[0]} is not supported")
        if not isinstance(value.get("name"), str) or not value["name"]:
            raise Invalid(f"spec.{field}[{at}].name is required")
        enabled = value.get("enabled", True)
        if not isinstance(enabled, bool):
            raise Invalid(f"spec.{field}[{at}].enabled must be a boolean")
        if enabled:
            names.append(value["name"])
    return names


def orka_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """The stored flat spec in Orka's CRD shape (model object, PromptSource)."""
    out = dict(spec)
    model = {orka: out.pop(stored) for orka, stored in MODEL_FIELDS if stored in out}
    if model:
        out["model"] = model
    if isinstance(out.get("systemPrompt"), str):
        out["systemPrompt"] = {"inline": out["systemPrompt"]}
    for field in ("tools", "skills"):
        if isinstance(out.get(field), list):
            out[field] = [{"name": name} for name in out[field]]
    return out


def orka_view(doc: dict[str, Any]) -> dict[str, Any]:
    """An Agent document as the Orka API returns it."""
    return {**doc, "spec": orka_spec(doc.get("spec") or {})}
