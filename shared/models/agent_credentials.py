"""Where an Agent's coding-agent runtime keeps its own model key (a plain read of the stored spec,
no model: the task engine reads it on paths that load no pydantic)."""

from __future__ import annotations

from typing import Any

# The model vendor each coding-agent runtime's credential is for, and the Secret key read by default.
RUNTIME_VENDORS = {"claude": "anthropic", "codex": "openai"}
VENDOR_KEYS = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}


def runtime_credential(spec: dict[str, Any]) -> dict[str, str] | None:
    """Where an Agent's runtime keeps its own model key: {"secret", "key", "vendor"}, or None.

    `spec.runtime.secretRef: {name, key?}` (Orka's shape). The vendor comes from the key when it is a
    vendor's variable name (ANTHROPIC_API_KEY, OPENAI_API_KEY), else from `runtime.type` (claude →
    anthropic, codex → openai); the key defaults to the vendor's variable. A runtime whose Secret holds
    no model key Shoal can use (copilot's GitHub token, an opencode Secret naming no vendor) has none.
    """
    runtime = spec.get("runtime")
    ref = runtime.get("secretRef") if isinstance(runtime, dict) else None
    if not isinstance(ref, dict) or not isinstance(ref.get("name"), str) or not ref["name"]:
        return None
    key = ref.get("key") if isinstance(ref.get("key"), str) and ref.get("key") else None
    vendor = next((v for v, k in VENDOR_KEYS.items() if k == key),
                  None) or RUNTIME_VENDORS.get(runtime.get("type"))
    if vendor is None:
        return None
    return {"secret": ref["name"], "key": key or VENDOR_KEYS[vendor], "vendor": vendor}
