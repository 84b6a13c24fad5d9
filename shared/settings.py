"""The settings model: every environment variable name Shoal reads appears here.

`SHOAL_*` is ours; `ORKA_*` and the vendors' `*_API_KEY` names are kept verbatim where the specs
or SDKs name them. Import it through `shared.config.get_settings()`, which loads it lazily.
"""

from __future__ import annotations

from typing import Literal

from shared.envvars import Env, EnvSettings

CLUSTER_COMPAT_URL = "http://compat.shoal.svc.cluster.local"


class Settings(EnvSettings):
    env_prefix = "SHOAL_"

    # Where this process runs: "local" only under `make run` (enables the dev token), else "cluster".
    platform: Literal["local", "cluster"] = "cluster"
    dev_token: str | None = None

    # State: tables and bucket. Endpoints come from boto3's own AWS_ENDPOINT_URL* variables.
    table_prefix: str = "shoal-"
    bucket: str = "shoal-data"
    aws_region: str = Env("us-east-1", "AWS_REGION", "AWS_DEFAULT_REGION")

    # Events: Knative's SinkBinding injects K_SINK; the local platform points it at its broker.
    k_sink: str | None = Env(None, "K_SINK")
    event_source: str = Env("", "SHOAL_EVENT_SOURCE", "K_SERVICE")

    # Where workers reach the internal API.
    internal_url: str = "http://internal.shoal.svc.cluster.local"
    # Where workers (and the coding-agent runtimes they start) reach the compat endpoints: the base of
    # the URLs a task's model token comes with. Empty = the gateway of SHOAL_INTERNAL_URL on the local
    # platform (one gateway serves every function there), else the compat service in the cluster.
    compat_url: str = ""
    # Where the `/mcp` endpoint's tools reach Shoal's public API (the gateway) with the caller's own
    # token. Empty = SHOAL_INTERNAL_URL on the local platform (its gateway); unset in a cluster, /mcp
    # answers 503 saying so (the gateway's in-cluster address depends on the Gateway implementation).
    api_url: str = ""

    # Execution.
    executor: Literal["local", "kubernetes"] = "kubernetes"
    default_namespace: str = "default"
    # Where Shoal itself runs (knative/kustomization.yaml): RBAC on Shoal-wide grants is checked here,
    # e.g. Kubernaut's `create services/kubernaut-agent` for cluster-wide investigations.
    platform_namespace: str = "shoal"

    # Browser origins allowed to call the Orka, OpenAI and Anthropic routes (CORS; comma-separated,
    # `*` = any). Orka's name; empty = none (Orka defaults to `*`). `make run` sets it to the local
    # gateway's own origin unless it is set.
    cors_allowed_origins: str = Env("", "ORKA_CORS_ALLOWED_ORIGINS")

    # Outbound HTTP: CIDRs or host names the SSRF guard lets through although they are private
    # (e.g. "10.0.0.0/8,my-svc.shoal.svc.cluster.local"); empty = public addresses only.
    outbound_allow: str = ""

    # Kubernetes API: in a pod the in-cluster config; otherwise this URL and token (tests, dev).
    kube_api_url: str | None = None
    kube_token: str | None = None

    # LLM provider of the `default` entry of the provider registry.
    # azure-openai, ollama, mistral and tgi are issue 20's additions (shared/llm/registry.py).
    llm_provider: Literal["mock", "openai", "anthropic", "openai-compatible", "azure-openai", "ollama", "mistral",
                          "tgi", "bedrock", "vertex-anthropic", "gemini", "vertex-gemini"] = "mock"
    llm_model: str | None = None
    llm_base_url: str | None = None
    openai_api_key: str | None = Env(None, "OPENAI_API_KEY")
    anthropic_api_key: str | None = Env(None, "ANTHROPIC_API_KEY")
    azure_openai_api_key: str | None = Env(None, "AZURE_OPENAI_API_KEY")
    azure_openai_api_version: str = "2024-10-21"
    mistral_api_key: str | None = Env(None, "MISTRAL_API_KEY")
    gemini_api_key: str | None = Env(None, "GEMINI_API_KEY")  # the google-genai SDK's name
    vertex_project: str | None = None
    vertex_region: str = "us-east5"
    vertex_access_token: str | None = None  # else Application Default Credentials (google-auth)
    llm_timeout_seconds: float = 120.0

    # Limits from the specs, as configuration with the specs' defaults.
    max_body_bytes: int = 15 * 1024 * 1024
    max_result_bytes: int = 10 * 1024 * 1024
    max_item_bytes: int = 100 * 1024
    # Input limits the specs leave open (docs/reliability.md "Input limits"): a request beyond one is
    # a 400 naming it, before any handler logic. The body limit above bounds the total.
    max_json_depth: int = 64
    max_json_items: int = 100_000              # elements of one array, members of one object
    max_json_string_chars: int = 10 * 1024 * 1024  # the largest value the specs size (a result)
    max_path_param_bytes: int = 256            # UTF-8 bytes of one path segment argument
    agent_max_iterations: int = 50
    tool_timeout_seconds: float = 60.0
    # One `workspace.validationCommands` entry (a monitor's validation.commands) runs at most this long.
    validation_command_timeout_seconds: float = 600.0

    # labrats jobs dialect (issue 10). SUBMIT_API_KEYS and PROMETHEUS_URL keep the spec's names.
    submit_api_keys: str = Env("", "SUBMIT_API_KEYS", "SHOAL_SUBMIT_API_KEYS")
    # Optional server pepper: stored API-key hashes become HMAC-SHA256(pepper, key) instead of SHA-256(key).
    api_key_pepper: str | None = None
    prometheus_url: str | None = Env(None, "PROMETHEUS_URL", "SHOAL_PROMETHEUS_URL")
    jobs_max_chain_depth: int = 10
    # labrats model aliases (`opus`, `sonnet`, …) → provider model names, over the built-in table
    # (shared/jobs/effective.py MODEL_ALIASES); a JSON object, e.g. {"opus": "claude-opus-4-5"}.
    jobs_model_aliases: str = ""
    # Images a job's `config.executorImage` may name (Kubernetes executor): comma-separated, each an exact
    # image reference or a prefix ending in `*`. Empty: no override is allowed (shared/executor/images.py).
    jobs_executor_images: str = ""
    upload_max_bytes: int = 100 * 1024 * 1024
    callback_timeout_seconds: float = 10.0
    callback_attempts: int = 3
    # Incident analysis (Kubernaut dialect and the operator /analyze contract).
    incident_max_sessions: int = 10            # non-terminal sessions at once (Kubernaut's default)
    incident_session_ttl_seconds: int = 1800   # idle TTL; a session lives at most twice this long
    incident_max_turns: int = 40
    incident_tool_cap_per_tool: int = 10
    incident_tool_cap_total: int = 30
    incident_tool_max_failures: int = 3
    # The Kubernaut facade's workflow catalogue besides the built-in k8s_patch entry: a JSON list of
    # entries, or "@/path/file.yaml" (shared/incidents/workflows.py, docs/incidents.md "Workflows").
    incident_workflows: str = ""
    # /analyze refuses to answer with the mock provider unless this opts in (no silent mock).
    analyze_allow_mock: bool = False
    analyze_retention_days: int = 30
    # Evaluation harness (docs/evals.md): the judge's model reference ("" = rules only) and prices for
    # the cost column, a JSON object model → {"input": USD per million tokens, "output": …}.
    eval_judge_model: str = ""
    eval_prices: str = ""
    # Catalog (issue 6): the Substrate router that fronts MCP actors ("" = Substrate support off);
    # an MCP actor-backed tool's endpoint is <router>/actors/mcp-<namespace>-<tool><spec.mcp.path>.
    substrate_router_url: str = ""
    # Chat orchestrator (orka-chat.txt "Configuration Flags", with the spec's defaults).
    chat_enabled: bool = True
    chat_provider: str = ""            # default provider reference ("" = the registry's default)
    chat_model: str = ""               # default model ("" = the provider's default)
    chat_max_iterations: int = 50
    chat_max_duration: str = "30m"     # a Go duration, as the flag takes it
    chat_tool_timeout: str = "60s"
    chat_max_concurrent: int = 10      # counted across every replica (lease items in the objects table)
    chat_max_tasks_per_turn: int = 5
    chat_max_session_size: int = 512000
    chat_heartbeat_seconds: float = 15.0
    chat_lease_seconds: float = 90.0   # a dead replica's semaphore slot and session lock free up after this
    chat_blocked_namespaces: str = "kube-system,kube-public"

    # Compat endpoints: how often a text answer without the goal-state sentinel is sent back to work
    # (Orka's chat-max-premature-end-retries).
    compat_max_reprompts: int = 3
    # Tasks one compat request may create (Orka's per-turn limit of the chat tools).
    compat_max_tasks_per_request: int = 5
    # Task-scoped model tokens (docs/auth.md): a token lives for what remains of the task's
    # spec.timeout, at most this long (and this long when the task has no timeout); the worker mints
    # a new one when it runs out.
    task_token_max_seconds: int = 7200
    # How long a replica reuses a verified task token (the task still Running at that attempt) before
    # reading the store again: a task that ended stops being served within this window.
    task_token_cache_seconds: float = 2.0

    # --- Authentication (issue 7; docs/auth.md) ---------------------------------------------------
    # TokenReview: audiences the ServiceAccount token must carry (comma-separated; empty = the
    # apiserver's default audience) and how long a review result is reused (keyed by sha256(token)).
    token_audiences: str = ""
    token_cache_seconds: float = 60.0
    # SubjectAccessReview decisions are reused this long per (user, groups, attributes).
    authz_cache_seconds: float = 10.0
    # Clock skew tolerated on exp/nbf/iat of OIDC JWTs and Txn-Tokens.
    jwt_leeway_seconds: int = 30
    jwks_cache_seconds: float = 300.0
    # Minimum time between forced JWKS refreshes when a token names an unknown `kid`.
    jwks_refresh_cooldown_seconds: float = 30.0
    # Accept http:// issuers and JWKS URLs (tests against a loopback identity provider only).
    auth_allow_http: bool = False
    oidc_issuer: str | None = Env(None, "ORKA_OIDC_ISSUER")
    oidc_audience: str | None = Env(None, "ORKA_OIDC_AUDIENCE")
    oidc_jwks_url: str | None = Env(None, "ORKA_OIDC_JWKS_URL")
    # Optional comma-separated subject patterns (`*`, `?`); empty = every valid token of the issuer.
    oidc_allowed_subjects: str = Env("", "ORKA_OIDC_ALLOWED_SUBJECTS")
    oidc_namespace: str | None = Env(None, "ORKA_OIDC_NAMESPACE")
    # Also authorize OIDC callers by SubjectAccessReview, as the apiserver's own OIDC authenticator
    # names them (--oidc-username-claim/-prefix, --oidc-groups-prefix). Off: namespace isolation only.
    oidc_rbac: bool = False
    oidc_rbac_username_claim: Literal["sub", "email"] = "sub"
    oidc_rbac_username_prefix: str = "oidc:"
    oidc_rbac_groups_prefix: str = "oidc:"
    context_token_profile: str | None = Env(None, "ORKA_CONTEXT_TOKEN_PROFILE")
    context_token_issuer: str | None = Env(None, "ORKA_CONTEXT_TOKEN_ISSUER")
    context_token_audience: str | None = Env(None, "ORKA_CONTEXT_TOKEN_AUDIENCE")
    context_token_jwks_url: str | None = Env(None, "ORKA_CONTEXT_TOKEN_JWKS_URL")
    # "Txn-Token" (default) or "Txn-Token,Authorization:Bearer".
    context_token_headers: str = Env("Txn-Token", "ORKA_CONTEXT_TOKEN_HEADERS")
    context_token_authorization: Literal["off", "audit", "enforce"] = Env(
        "off", "ORKA_CONTEXT_TOKEN_AUTHORIZATION_MODE")

    # --- GitHub (issue 7; docs/github.md) ---------------------------------------------------------
    github_webhook_secret: str | None = Env(None, "ORKA_GITHUB_WEBHOOK_SECRET")
    github_label_trigger_agent: str | None = Env(None, "ORKA_GITHUB_LABEL_TRIGGER_AGENT")
    github_label_trigger_namespace: str | None = Env(None, "ORKA_GITHUB_LABEL_TRIGGER_NAMESPACE")
    github_label_trigger_git_secret: str | None = Env(None, "ORKA_GITHUB_LABEL_TRIGGER_GIT_SECRET")
    github_label_trigger_prefix: str = Env("agent:", "ORKA_GITHUB_LABEL_TRIGGER_PREFIX")
    github_label_trigger_timeout: str = Env("30m", "ORKA_GITHUB_LABEL_TRIGGER_TIMEOUT")
    github_label_trigger_max_turns: int = Env(100, "ORKA_GITHUB_LABEL_TRIGGER_MAX_TURNS")
    # The process-wide merge gate of repository-monitor automerge (docs/github.md): a monitor with
    # spec.automerge.requireGlobalMergeGate (default true) merges only when this is true.
    repository_monitor_automerge_gate: bool = Env(False, "ORKA_REPOSITORY_MONITOR_AUTOMERGE_GATE")
    # GitHub REST API base URL (GitHub Enterprise: https://<host>/api/v3); calls pass the SSRF guard.
    github_api_url: str = "https://api.github.com"
    # Where that GitHub serves repositories over HTTPS (GitHub Enterprise: its own host).
    github_git_url: str = "https://github.com"
    # PR review markers (worker GitHub tools): signing key, comma-separated previous keys during
    # rotation, and the one author whose legacy (unsigned) markers still count.
    pr_review_marker_secret: str | None = Env(None, "ORKA_PR_REVIEW_MARKER_SECRET")
    pr_review_marker_previous_secrets: str = Env("", "ORKA_PR_REVIEW_MARKER_PREVIOUS_SECRETS")
    pr_review_marker_trusted_author: str | None = Env(None, "ORKA_PR_REVIEW_MARKER_TRUSTED_AUTHOR")
    # Task engine (issue 4). Workspace-backed execution: providers enabled on this platform
    # (comma-separated: agent-sandbox, substrate; none by default) and the controller defaults.
    workspace_providers: str = ""
    workspace_default_provider: str = "agent-sandbox"
    workspace_default_template: str | None = None
    workspace_default_cleanup: str = "delete"
    # Scheduler: a Pending task without a job after this long is dispatched again (lost event).
    redispatch_after_seconds: float = 60.0
    # Worker leases (docs/reliability.md): a worker heartbeats every lease/3; a Running `ai`/`agent`
    # task whose last heartbeat is older than this is reclaimed by the scheduler (retried per its
    # retryPolicy, else Failed with reason WorkerLost). A task that never heartbeated gets the
    # startup grace on top, counted from when it entered Running (image pulls, cold starts).
    task_lease_seconds: float = 60.0
    task_startup_grace_seconds: float = 120.0
    # Kubernetes executor: the worker image and ServiceAccount of task Jobs.
    worker_image: str = "ghcr.io/shoal-dev/shoal:0.1.0"
    worker_service_account: str = "shoal-worker"
    # The executor→worker contract (shared.models.worker_contract): set by an executor for the worker it
    # starts and read by that worker only (SHOAL_INTERNAL_URL and SHOAL_TASK_LEASE_SECONDS are above).
    # The worker reads them from its environment through the contract's names, so it loads no settings
    # for them; they are fields here so that this file names every variable Shoal reads.
    task_namespace: str | None = None
    task_name: str | None = None
    task_attempt: str | None = None       # the attempt the worker runs: its fencing token
    worker_token: str | None = None       # the local executor's credential; in a cluster the ServiceAccount token
    workspace: str | None = None          # the worker's workspace directory
    git_username: str | None = None       # a task's gitSecretRef, for git's credential helper only
    git_token: str | None = None
    git_password: str | None = None
    git_github_token: str | None = None
    # Read by the processes they concern without loading settings: the mock provider's script, and the
    # local platform's gateway address, event log and inherited listening socket (`make run`).
    mock_script: str | None = None
    host: str | None = None
    port: str | None = None
    event_log: str | None = None
    listen_fd: str | None = None
    parent_pid: str | None = None  # a supervised function process ends with the platform that started it
    forkserver_fd: str | None = None  # the fork server's channel to the platform (shared/local/forkserver.py)
    # Coding-agent tasks (an Agent with `runtime.type`): the image with the four CLIs (Dockerfile
    # target `runtimes`), and where a local worker finds them (`make runtimes` installs runtimes/).
    runtime_image: str = "ghcr.io/shoal-dev/shoal-runtimes:0.1.0"
    runtimes_dir: str | None = None
    # The commit identity of coding-agent tasks' pushes.
    git_author_name: str = "shoal-bot"
    git_author_email: str = "shoal-bot@users.noreply.github.com"
    # Worker built-in tools: web_search backend ("" = none configured, "tavily") and its key.
    web_search_backend: str = ""
    web_search_api_key: str | None = None
    # Named LLM providers beyond `default`: JSON {"name": {"type": ..., "model": ..., "baseURL": ...,
    # "apiKeyEnv": ...}}.
    llm_providers: str = ""
    # Local platform: how often `make run` delivers the PingSource tick to the scheduler.
    local_tick_seconds: float = 5.0
    # Local platform supervision: a function that exits is restarted with backoff; one that exits
    # this many times within the window stops `make run`. A state backend (AWS_ENDPOINT_URL) that
    # is not answering yet is waited for this long before giving up with one line.
    local_restart_limit: int = 5
    local_restart_window_seconds: float = 60.0
    local_state_wait_seconds: float = 30.0
    # Local platform: where `make run` keeps its tables, bucket and dev token across restarts (its own
    # moto's recording; not with AWS_ENDPOINT_URL), and the local executor its workers' output
    # (shared/executor/local_files.py). `make reset` wipes it.
    state_dir: str = ".shoal"
    # SSE: a comment line after this many idle seconds keeps proxies from closing task streams.
    sse_heartbeat_seconds: float = 15.0
    # How often task streams and followed logs look for new records.
    stream_poll_seconds: float = 0.5
    # Labrats dashboard login (issue 10; docs/jobs.md): an OIDC authorization-code login whose ID
    # token is verified with the shared JWKS machinery, then an `auth_token` HS256 cookie signed with
    # SHOAL_DASHBOARD_JWT_SECRET. The issuer defaults to ORKA_OIDC_ISSUER; the redirect URL is the
    # `/api/auth/oidc/callback` URL registered at the provider.
    dashboard_oidc_issuer: str | None = None
    dashboard_oidc_client_id: str | None = None
    dashboard_oidc_client_secret: str | None = None
    dashboard_oidc_redirect_url: str | None = None
    dashboard_oidc_scopes: str = "openid profile email"
    # Comma-separated subject patterns (`*`, `?`) allowed to sign in; "*" = whoever the provider admits.
    dashboard_allowed_subjects: str = "*"
    dashboard_jwt_secret: str | None = None
    dashboard_session_seconds: int = 12 * 3600
    # Where the browser lands after a successful login.
    dashboard_post_login_url: str = "/"
    # Workspace uploads (files executor Jobs download into the task workspace).
    workspace_upload_max_bytes: int = 100 * 1024 * 1024
    # Labrats model operations: Kubernetes Jobs over the models-cache PVC.
    models_pvc: str = "models-cache"
    models_job_image: str = "alpine:3.20"
    models_scan_cache_seconds: float = 30.0
    # Task priority (issue 4): at most this many Running tasks per namespace; Pending tasks beyond it
    # wait and start highest `spec.priority` first (FIFO within a priority). 0 = unlimited (dispatch at once).
    max_running_tasks_per_namespace: int = 0
    # Security scans (docs/security.md): the GitHub token that opens remediation pull requests when
    # the RepositoryScan names no spec.gitSecretRef. Never returned or logged.
    security_github_token: str | None = None

    def derive(self) -> None:
        if not self.compat_url:
            self.compat_url = self.internal_url if self.platform == "local" else CLUSTER_COMPAT_URL
        if not self.api_url and self.platform == "local":
            self.api_url = self.internal_url
