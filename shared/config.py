"""Settings from the environment, validated once per process, loaded on first use.

The declarations live in `shared.settings` (read without pydantic: shared.envvars); a function's
`/healthz` (its Knative readiness) never needs them, so nothing imports them until a setting is read.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.settings import Settings

__all__ = ["Settings", "get_settings", "reset_settings"]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    from shared.settings import Settings  # loaded on first use (cold start)

    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests change the environment between apps)."""
    get_settings.cache_clear()


def __getattr__(name: str):
    if name == "Settings":  # `from shared.config import Settings` still works, lazily
        from shared.settings import Settings  # lazily, as above

        return Settings
    raise AttributeError(name)
