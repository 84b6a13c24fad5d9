"""The values a job's `config.effort` and `config.provider` may take, in a module of their own: the job
submit path and the agent records (whose defaults and trigger configs become a job's config) both check
them, and the agent module sits below the submit path."""

EFFORTS = ("low", "medium", "high")
PROVIDERS = ("claude", "codex", "vllm", "gemma", "qwen", "mock")
