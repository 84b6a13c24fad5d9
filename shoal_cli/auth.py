"""Where a context's bearer token comes from.

- `token`: a literal token (the local platform's dev token, a ServiceAccount token, an API key);
- `tokenFile`: a file holding one (re-read on every command, so a projected token that rotates works);
- `exec`: a Kubernetes exec credential plugin (`client.authentication.k8s.io` ExecCredential: the
  command prints JSON whose `status.token` is used), exactly as kubectl runs it;
- `kubectl: true`: kubectl's current user from the kubeconfig (`KUBECONFIG`, else `~/.kube/config`):
  its `token`, `tokenFile` or `exec` plugin; Shoal checks it with a TokenReview;
- `oidc: {issuer, clientId, scopes?}`: the OAuth 2.0 device authorization grant (RFC 8628) run by
  `shoal login`; the ID token (and refresh token) are cached beside the config file, mode 0600, and
  refreshed when they expire.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from shared import yaml_files
from shoal_cli.config import ConfigError, Context, config_dir


def resolve_token(ctx: Context) -> str | None:
    auth = ctx.auth or {}
    if auth.get("token"):
        return str(auth["token"])
    if auth.get("tokenFile"):
        return _read_token_file(auth["tokenFile"])
    if auth.get("exec"):
        return exec_credential(auth["exec"])
    if auth.get("kubectl"):
        return kubectl_token()
    if auth.get("oidc"):
        return OidcDeviceFlow(ctx.name, auth["oidc"]).cached_token()
    return None


def _read_token_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read tokenFile {path}: {exc.strerror}") from exc


def exec_credential(spec: dict[str, Any]) -> str:
    """Run a client-go exec credential plugin and return `status.token`."""
    command = spec.get("command")
    if not command:
        raise ConfigError("exec credential needs a 'command'")
    env = dict(os.environ)
    for item in spec.get("env") or []:
        env[item["name"]] = item["value"]
    api_version = spec.get("apiVersion") or "client.authentication.k8s.io/v1"
    env["KUBERNETES_EXEC_INFO"] = json.dumps({"apiVersion": api_version, "kind": "ExecCredential",
                                              "spec": {"interactive": False}})
    try:
        done = subprocess.run([command, *(spec.get("args") or [])], env=env, capture_output=True, text=True,
                              timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"exec credential {command!r} failed: {exc}") from exc
    if done.returncode != 0:
        raise ConfigError(f"exec credential {command!r} exited {done.returncode}: {done.stderr.strip()[:300]}")
    try:
        token = json.loads(done.stdout)["status"]["token"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"exec credential {command!r} did not print an ExecCredential with status.token") from exc
    return str(token)


def kubectl_token() -> str:
    """kubectl's current context's user credential, read from the kubeconfig the way kubectl finds it."""
    paths = [p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p] or [
        str(Path.home() / ".kube" / "config")]
    docs = []
    for path in paths:
        try:
            docs.append(yaml_files.load(Path(path).read_text()) or {})
        except OSError:
            continue
    if not docs:
        raise ConfigError(f"no kubeconfig found ({', '.join(paths)})")
    current = next((d.get("current-context") for d in docs if d.get("current-context")), None)
    contexts = {c["name"]: c.get("context") or {} for d in docs for c in d.get("contexts") or []}
    users = {u["name"]: u.get("user") or {} for d in docs for u in d.get("users") or []}
    if not current or current not in contexts:
        raise ConfigError("kubeconfig has no current-context")
    user = users.get(contexts[current].get("user"), {})
    if user.get("token"):
        return str(user["token"])
    if user.get("tokenFile"):
        return _read_token_file(user["tokenFile"])
    if user.get("exec"):
        return exec_credential(user["exec"])
    raise ConfigError(f"kubectl context {current!r} has no token, tokenFile or exec credential "
                      "(client certificates cannot be sent to Shoal)")


class OidcDeviceFlow:
    """RFC 8628 against the issuer's discovery document; tokens cached per context."""

    GRANT = "urn:ietf:params:oauth:grant-type:device_code"

    def __init__(self, context: str, spec: dict[str, Any], http: httpx.Client | None = None) -> None:
        if not spec.get("issuer") or not spec.get("clientId"):
            raise ConfigError("oidc auth needs 'issuer' and 'clientId'")
        self.context, self.spec = context, spec
        self.http = http or httpx.Client(timeout=30)
        self.cache = config_dir() / "tokens" / f"{context}.json"

    def _discovery(self) -> dict[str, Any]:
        url = self.spec["issuer"].rstrip("/") + "/.well-known/openid-configuration"
        response = self.http.get(url)
        response.raise_for_status()
        return response.json()

    def cached_token(self) -> str:
        try:
            cached = json.loads(self.cache.read_text())
        except (OSError, ValueError):
            raise ConfigError(f"not logged in: run `shoal login --context {self.context}`") from None
        if cached.get("expiresAt", 0) > time.time() + 30:
            return cached["id_token"]
        if cached.get("refresh_token"):
            try:
                refreshed = self._token({"grant_type": "refresh_token", "refresh_token": cached["refresh_token"]})
                # RFC 6749 §6: a new refresh token is optional; without one the old one stays valid.
                refreshed.setdefault("refresh_token", cached["refresh_token"])
                return self._store(refreshed)
            except (httpx.HTTPError, ConfigError):
                pass
        raise ConfigError(f"the login of context {self.context!r} expired: run `shoal login --context {self.context}`")

    def _token(self, form: dict[str, str]) -> dict[str, Any]:
        endpoint = self._discovery()["token_endpoint"]
        response = self.http.post(endpoint, data={"client_id": self.spec["clientId"], **form})
        body = response.json()
        if response.status_code >= 400:
            raise ConfigError(f"token endpoint refused: {body.get('error', response.status_code)}")
        return body

    def _store(self, body: dict[str, Any]) -> str:
        token = body.get("id_token") or body.get("access_token")
        if not token:
            raise ConfigError("the identity provider returned no id_token")
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        record = {"id_token": token, "refresh_token": body.get("refresh_token"),
                  "expiresAt": time.time() + float(body.get("expires_in") or 300)}
        fd = os.open(self.cache, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle)
        return token

    def login(self, announce: Callable[[str, str], None], sleep: Callable[[float], None] = time.sleep) -> str:
        """Start the device flow, show the user where to go, poll until they approve."""
        discovery = self._discovery()
        endpoint = discovery.get("device_authorization_endpoint")
        if not endpoint:
            raise ConfigError(f"{self.spec['issuer']} does not offer the device authorization grant")
        scopes = self.spec.get("scopes") or "openid profile email offline_access"
        grant = self.http.post(endpoint, data={"client_id": self.spec["clientId"], "scope": scopes}).json()
        if "device_code" not in grant:
            raise ConfigError(f"device authorization refused: {grant.get('error', grant)}")
        announce(grant.get("verification_uri_complete") or grant["verification_uri"], grant.get("user_code", ""))
        interval = float(grant.get("interval", 5))
        deadline = time.monotonic() + float(grant.get("expires_in") or 600)
        while time.monotonic() < deadline:
            sleep(interval)
            response = self.http.post(discovery["token_endpoint"], data={
                "client_id": self.spec["clientId"], "grant_type": self.GRANT, "device_code": grant["device_code"]})
            body = response.json()
            if response.status_code < 400:
                return self._store(body)
            error = body.get("error")
            if error == "slow_down":
                interval += 5
            elif error != "authorization_pending":
                raise ConfigError(f"login refused: {error}")
        raise ConfigError("login timed out: the code was not approved in time")
