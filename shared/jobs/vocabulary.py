"""The values a job's `config.effort` and `config.provider` may take, and the one check of them: the job
submit path, the sources' defaults and the agent records (whose defaults and trigger configs become a
job's config) all check them, and the agent module sits below the submit path."""

from shared.errors import Invalid

EFFORTS = ("low", "medium", "high")
PROVIDERS = ("claude", "codex", "vllm", "gemma", "qwen", "mock")
CONFIG_CHOICES = {"effort": EFFORTS, "provider": PROVIDERS}


def check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    """400 naming the field when `value` is not one of `allowed`."""
    if value not in allowed:
        raise Invalid(f"{name} must be one of {', '.join(allowed)}")
