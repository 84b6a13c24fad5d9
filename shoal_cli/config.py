"""Contexts: `$XDG_CONFIG_HOME/shoal/config.yaml` (default `~/.config/shoal/config.yaml`).

```yaml
current-context: local
contexts:
  local:
    server: http://127.0.0.1:8080
    namespace: default
    auth: {token: "..."}                          # dev token or any bearer token
  prod:
    server: https://shoal.example.com
    auth: {kubectl: true}                         # kubectl's current user: token, tokenFile or exec plugin
  sso:
    server: https://shoal.example.com
    auth: {oidc: {issuer: https://idp.example.com, clientId: shoal-cli}}   # `shoal login` (device flow)
```

Like kubeconfig, the file holds credentials, so it is written with mode 0600.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from shared import yaml_files


class ConfigError(Exception):
    """The configuration is missing or wrong: a usage error (exit code 2)."""


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "shoal"


def config_path() -> Path:
    return config_dir() / "config.yaml"


@dataclass
class Context:
    name: str
    server: str
    namespace: str | None = None
    auth: dict[str, Any] = field(default_factory=dict)
    insecure: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"server": self.server}
        if self.namespace:
            out["namespace"] = self.namespace
        if self.auth:
            out["auth"] = self.auth
        if self.insecure:
            out["insecureSkipTLSVerify"] = True
        return out


@dataclass
class Config:
    path: Path
    current: str | None = None
    contexts: dict[str, Context] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        path = path or config_path()
        if not path.exists():
            return cls(path)
        try:
            raw = yaml_files.load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("contexts") or {}, dict):
            raise ConfigError(f"{path}: expected a mapping with 'contexts'")
        contexts = {}
        for name, body in (raw.get("contexts") or {}).items():
            if not isinstance(body, dict) or not body.get("server"):
                raise ConfigError(f"{path}: context {name!r} needs a 'server'")
            contexts[name] = Context(name, str(body["server"]), body.get("namespace"), body.get("auth") or {},
                                     bool(body.get("insecureSkipTLSVerify")))
        return cls(path, raw.get("current-context"), contexts)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"current-context": self.current,
                "contexts": {name: ctx.to_dict() for name, ctx in sorted(self.contexts.items())}}
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            yaml.safe_dump(body, handle, sort_keys=False)

    def context(self, name: str | None) -> Context:
        name = name or self.current
        if not name:
            raise ConfigError(f"no context: run `shoal login --server URL --token TOKEN` "
                              f"or pass --server ({self.path} has no current-context)")
        if name not in self.contexts:
            raise ConfigError(f"context {name!r} not found in {self.path}")
        return self.contexts[name]
