"""The chat limits, read once per request from settings (the spec's flags and defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.config import get_settings
from shared.duration import parse_go_duration


@dataclass(frozen=True)
class ChatLimits:
    enabled: bool
    provider: str
    model: str
    max_iterations: int
    max_duration: float
    tool_timeout: float
    max_concurrent: int
    max_tasks_per_turn: int
    max_session_size: int
    heartbeat: float
    lease: float
    blocked_namespaces: frozenset[str]


def chat_limits() -> ChatLimits:
    s = get_settings()
    return ChatLimits(
        enabled=s.chat_enabled, provider=s.chat_provider, model=s.chat_model,
        max_iterations=s.chat_max_iterations, max_duration=parse_go_duration(s.chat_max_duration),
        tool_timeout=parse_go_duration(s.chat_tool_timeout), max_concurrent=s.chat_max_concurrent,
        max_tasks_per_turn=s.chat_max_tasks_per_turn, max_session_size=s.chat_max_session_size,
        heartbeat=s.chat_heartbeat_seconds, lease=s.chat_lease_seconds,
        blocked_namespaces=blocked_namespaces(s.chat_blocked_namespaces, s.platform_namespace))


def blocked_namespaces(configured: str, platform_namespace: str) -> frozenset[str]:
    """The configured list plus Shoal's own namespace, which the spec blocks as "the operator's
    namespace" whatever the list says."""
    names = {n.strip() for n in configured.split(",") if n.strip()}
    return frozenset(names | ({platform_namespace} if platform_namespace else set()))


def go_duration(seconds: float) -> str:
    """Go's Duration.String() for whole seconds: 1800 → "30m0s", 90 → "1m30s", 7200 → "2h0m0s"."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"
