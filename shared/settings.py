"""The settings model: every environment variable name Shoal reads appears here.

`SHOAL_*` is ours; `ORKA_*` and the vendors' `*_API_KEY` names are kept verbatim where the specs
or SDKs name them. Import it through `shared.config.get_settings()`, which loads it lazily.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOAL_", extra="ignore", populate_by_name=True)

    # Where this process runs: "local" only under `make run` (enables the dev token), else "cluster".
    platform: Literal["local", "cluster"] = "cluster"
    dev_token: str | None = None

    # State: tables and bucket. Endpoints come from boto3's own AWS_ENDPOINT_URL* variables.
    table_prefix: str = "shoal-"
    bucket: str = "shoal-data"
    aws_region: str = Field(default="us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"))

    # Events: Knative's SinkBinding injects K_SINK; the local platform points it at its broker.
    k_sink: str | None = Field(default=None, validation_alias="K_SINK")
    event_source: str = Field(default="", validation_alias=AliasChoices("SHOAL_EVENT_SOURCE", "K_SERVICE"))

    # Where workers reach the internal API.
    internal_url: str = "http://internal.shoal.svc.cluster.local"

    # Execution.
    executor: Literal["local", "kubernetes"] = "kubernetes"
    default_namespace: str = "default"

    # Outbound HTTP: CIDRs or host names the SSRF guard lets through although they are private
    # (e.g. "10.0.0.0/8,my-svc.shoal.svc.cluster.local"); empty = public addresses only.
    outbound_allow: str = ""

    # Kubernetes API: in a pod the in-cluster config; otherwise this URL and token (tests, dev).
    kube_api_url: str | None = None
    kube_token: str | None = None

    # LLM provider of the `default` entry of the provider registry.
    llm_provider: Literal["mock", "openai", "anthropic", "openai-compatible"] = "mock"
    llm_model: str | None = None
    llm_base_url: str | None = None
    openai_api_key: str | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    anthropic_api_key: str | None = Field(default=None, validation_alias="ANTHROPIC_API_KEY")
    llm_timeout_seconds: float = 120.0

    # Limits from the specs, as configuration with the specs' defaults.
    max_body_bytes: int = 15 * 1024 * 1024
    max_result_bytes: int = 10 * 1024 * 1024
    max_item_bytes: int = 100 * 1024
    agent_max_iterations: int = 50
    tool_timeout_seconds: float = 60.0

    # labrats jobs dialect (issue 10). SUBMIT_API_KEYS and PROMETHEUS_URL keep the spec's names.
    submit_api_keys: str = Field(default="", validation_alias=AliasChoices("SUBMIT_API_KEYS", "SHOAL_SUBMIT_API_KEYS"))
    # Optional server pepper: stored API-key hashes become HMAC-SHA256(pepper, key) instead of SHA-256(key).
    api_key_pepper: str | None = None
    prometheus_url: str | None = Field(default=None, validation_alias=AliasChoices("PROMETHEUS_URL", "SHOAL_PROMETHEUS_URL"))
    jobs_max_chain_depth: int = 10
    upload_max_bytes: int = 100 * 1024 * 1024
    callback_timeout_seconds: float = 10.0
    callback_attempts: int = 3

    # Compat endpoints: how often a text answer without the goal-state sentinel is sent back to work
    # (Orka's chat-max-premature-end-retries).
    compat_max_reprompts: int = 3
    # Tasks one compat request may create (Orka's per-turn limit of the chat tools).
    compat_max_tasks_per_request: int = 5
