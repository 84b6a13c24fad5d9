"""The four runtime profiles: which command speaks ACP, and how it reaches its model through Shoal.

A profile is data plus one function that writes the runtime's configuration into a private home
directory and returns the environment for the process. Every runtime gets only that environment:
never the worker's own credentials, the platform's provider keys or the git secret. Its model
traffic goes to Shoal's compat endpoints with the task-scoped token (`ModelAccess`).

Versions are pinned in `runtimes/package.json` (installed by `make runtimes`); the worker image
installs the same file.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shared.config import get_settings
from shared.models.agent import RUNTIME_TYPES

# Where `make runtimes` installs the CLIs (the image sets SHOAL_RUNTIMES_DIR to its own copy).
DEFAULT_RUNTIMES_DIR = Path(__file__).resolve().parents[2] / "runtimes"
INSTALL_HINT = "run `make runtimes` (or install runtimes/package.json with npm) on the worker"
# What a runtime process inherits from the worker's environment; everything else is chosen here.
_INHERITED = ("LANG", "LC_ALL", "TZ", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS")


class RuntimeMissing(Exception):
    """The runtime's CLI is not installed where the worker looks for it."""


@dataclass(frozen=True)
class ModelAccess:
    token: str
    anthropic_base_url: str  # Shoal's Anthropic-compatible root (clients append /v1/messages)
    openai_base_url: str  # Shoal's OpenAI-compatible root, ending in /v1
    model: str | None = None  # the agent's model, if it names one
    effort: str | None = None  # low | medium | high: the task's `ai.effort` (a labrats job's config.effort)


Configure = Callable[[ModelAccess, Path], dict[str, str]]


@dataclass(frozen=True)
class RuntimeProfile:
    name: str
    binary: str  # inside runtimes/node_modules ({arch}: x64 or arm64), else this file's name on PATH
    args: tuple[str, ...]
    packages: tuple[str, ...]  # what to install, for the error message
    configure: Configure
    default_model: str

    def command(self) -> list[str]:
        return [locate(self), *self.args]

    def environment(self, access: ModelAccess, home: Path) -> dict[str, str]:
        home.mkdir(parents=True, exist_ok=True)
        env = {k: os.environ[k] for k in _INHERITED if k in os.environ}
        env.update({"HOME": str(home), "PATH": _search_path(), "TMPDIR": str(_tmp(home)),
                    "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
                    "XDG_STATE_HOME": str(home / ".local/state"), "XDG_CACHE_HOME": str(cache_dir()),
                    "NO_UPDATE_NOTIFIER": "1"})
        env.update(self.configure(access, home))
        return env


def _tmp(home: Path) -> Path:
    tmp = home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return tmp


def runtimes_dir() -> Path:
    return Path(get_settings().runtimes_dir or DEFAULT_RUNTIMES_DIR)


def cache_dir() -> Path:
    """Shared by every task of this worker: Copilot unpacks 235 MB there on its first start."""
    path = Path(os.environ.get("HOME") or tempfile.gettempdir()) / ".cache" / "shoal-runtimes"
    path.mkdir(parents=True, exist_ok=True)
    return path


def scratch_dir(task: str) -> Path:
    """A task's private home and workspace, outside /tmp (Codex refuses to set up its tools under /tmp)."""
    root = Path(os.environ.get("HOME") or tempfile.gettempdir()) / ".local" / "share" / "shoal-tasks"
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{task}-", dir=root))


def _search_path() -> str:
    """The runtimes' own bin folder first, then the worker's PATH (node, git, a shell)."""
    return os.pathsep.join([str(runtimes_dir() / "node_modules" / ".bin"), os.environ.get("PATH", "/usr/bin:/bin")])


def _arch() -> str:
    return {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower(), "x64")


def locate(profile: RuntimeProfile) -> str:
    installed = runtimes_dir() / "node_modules" / profile.binary.format(arch=_arch())
    if installed.is_file() and os.access(installed, os.X_OK):
        return str(installed)
    found = shutil.which(installed.name, path=_search_path())
    if found is None:
        raise RuntimeMissing(f'runtime "{profile.name}" is not installed on this worker ({installed.name} not found; '
                             f'packages {", ".join(profile.packages)}): {INSTALL_HINT}')
    return found


# -- per runtime (docs/agents.md; every variable here was checked against the pinned version) ---------
def _claude(access: ModelAccess, home: Path) -> dict[str, str]:
    model = access.model or CLAUDE.default_model
    env = {"ANTHROPIC_BASE_URL": access.anthropic_base_url, "ANTHROPIC_API_KEY": access.token,
           # The adapter picks the "default" alias at session/new; every alias names the agent's model.
           "ANTHROPIC_DEFAULT_OPUS_MODEL": model, "ANTHROPIC_DEFAULT_SONNET_MODEL": model,
           "ANTHROPIC_DEFAULT_HAIKU_MODEL": model, "CLAUDE_CONFIG_DIR": str(home / ".claude"),
           # No feature flags, telemetry, error reports or update checks: only the model endpoint.
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1"}
    if access.effort:  # Claude Code's own reasoning-effort setting (what its /effort command sets)
        env["CLAUDE_CODE_EFFORT_LEVEL"] = access.effort
    if os.geteuid() == 0:  # as root (a local worker in a container) Claude Code wants to know it is sandboxed
        env["IS_SANDBOX"] = "1"
    return env


def _codex(access: ModelAccess, home: Path) -> dict[str, str]:
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    model = access.model or CODEX.default_model
    # Codex's config key for the Responses call's `reasoning.effort`.
    effort = f'model_reasoning_effort = {json.dumps(access.effort)}\n' if access.effort else ""
    # The worker's container (or sandbox) is the isolation: Codex's own needs bubblewrap, which an image
    # without privileges cannot use. Approval "never": the task has nobody to ask.
    (codex_home / "config.toml").write_text(
        f'model = {json.dumps(model)}\nmodel_provider = "shoal"\n{effort}'
        'approval_policy = "never"\nsandbox_mode = "danger-full-access"\n\n'
        '[model_providers.shoal]\nname = "Shoal"\n'
        f'base_url = {json.dumps(access.openai_base_url)}\nenv_key = "SHOAL_MODEL_TOKEN"\nwire_api = "responses"\n')
    return {"CODEX_HOME": str(codex_home), "SHOAL_MODEL_TOKEN": access.token}


def _copilot(access: ModelAccess, home: Path) -> dict[str, str]:
    # Bring-your-own-key mode: no GitHub login; Chat Completions to Shoal's OpenAI endpoint.
    if access.effort:  # the user setting Copilot's /model picker writes (`effortLevel` in ~/.copilot/settings.json)
        settings = home / ".copilot" / "settings.json"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps({"effortLevel": access.effort}))
    return {"COPILOT_PROVIDER_BASE_URL": access.openai_base_url, "COPILOT_PROVIDER_API_KEY": access.token,
            "COPILOT_MODEL": access.model or COPILOT.default_model, "COPILOT_OFFLINE": "true",
            "COPILOT_AUTO_UPDATE": "false"}


def _opencode(access: ModelAccess, home: Path) -> dict[str, str]:
    model = access.model or OPENCODE.default_model
    entry: dict[str, object] = {"name": model}
    if access.effort:  # a provider option of the AI SDK's OpenAI-compatible provider (reasoning_effort)
        entry["options"] = {"reasoningEffort": access.effort}
    config = {"$schema": "https://opencode.ai/config.json", "model": f"shoal/{model}", "small_model": f"shoal/{model}",
              "enabled_providers": ["shoal"], "autoupdate": False, "share": "disabled",
              "agent": {"title": {"disable": True}},  # no extra model call to name the session
              "provider": {"shoal": {"npm": "@ai-sdk/openai-compatible", "name": "Shoal",
                                     "options": {"baseURL": access.openai_base_url,
                                                 "apiKey": "{env:SHOAL_MODEL_TOKEN}"},
                                     "models": {model: entry}}}}
    path = home / ".config" / "opencode" / "opencode.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2))
    return {"SHOAL_MODEL_TOKEN": access.token, "OPENCODE_DISABLE_MODELS_FETCH": "1",
            "OPENCODE_DISABLE_AUTOUPDATE": "1"}


CLAUDE = RuntimeProfile("claude", ".bin/claude-agent-acp", (), ("@zed-industries/claude-agent-acp",), _claude,
                        "claude-sonnet-4-5")
CODEX = RuntimeProfile("codex", "@zed-industries/codex-acp-linux-{arch}/bin/codex-acp", (),
                       ("@zed-industries/codex-acp",), _codex, "gpt-5.5")
COPILOT = RuntimeProfile("copilot", "@github/copilot-linux-{arch}/copilot", ("--acp",), ("@github/copilot",),
                         _copilot, "gpt-4.1")
OPENCODE = RuntimeProfile("opencode", "opencode-linux-{arch}/bin/opencode", ("acp",), ("opencode-linux-x64",),
                          _opencode, "gpt-4.1")
PROFILES = {p.name: p for p in (CLAUDE, CODEX, COPILOT, OPENCODE)}


def profile_for(runtime_type: str) -> RuntimeProfile:
    try:
        return PROFILES[runtime_type]
    except KeyError:
        raise RuntimeMissing(f'unknown runtime type "{runtime_type}": must be one of {", ".join(RUNTIME_TYPES)}') from None
