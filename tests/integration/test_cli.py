"""The `shoal` CLI and Shoal's MCP server against the local platform (`make run`'s processes).

The flows the issue names (create && wait, logs -f, chat -m, apply -f, the three error cases) run
the CLI as a real subprocess (`python -m shoal_cli`, what the console script runs); the other
commands go through Click's runner in-process (same code, same platform, no interpreter start each:
the machine's time budget). Each test has its own config directory; outputs and exit codes are exact. The MCP server is driven with the
official `mcp` client SDK: over stdio (`shoal mcp`) and over streamable HTTP at the gateway's `/mcp`.
One platform serves the whole module (with a loopback OIDC provider that also speaks the device flow,
and a mock-LLM script for a slow task and an investigation).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from werkzeug import Request, Response

from shared.local.platform import wait_http
from shared.local.serve import spawn_moto
from shoal_cli.app import cli
from tests.integration.test_local_platform import TOKEN, Platform
from tests.support.idp import IdentityProvider
from tests.support.servers import refusing_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
FINDING = {"summary": "api crashes at start: DATABASE_URL is unset", "root_cause": "missing environment variable",
           "severity": "high", "confidence": 0.9, "recommendation": "set DATABASE_URL"}
# "slow work" must outlast what the tests do while it runs (follow's 1 s look, a cancel right after the
# create) on a loaded machine: 2 s left a 1 s stall for the follow test, so 4.
SCRIPT = {"slow work": [{"delay": 4, "text": "slow work done"}],
          "CliCrashLoop": [{"text": json.dumps(FINDING)}]}


class DeviceFlowProvider(IdentityProvider):
    """The loopback IdP plus RFC 8628: one `authorization_pending`, then tokens for `carol`."""

    def __init__(self) -> None:
        super().__init__()
        self.polls = self.refreshes = 0

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        if request.path == "/.well-known/openid-configuration":
            body = {"issuer": self.issuer, "token_endpoint": f"{self.url}/token", "jwks_uri": self.jwks_url,
                    "device_authorization_endpoint": f"{self.url}/device"}
        elif request.path == "/device" and request.form.get("client_id") == "shoal-cli":
            body = {"device_code": "dev-code-1", "user_code": "WXYZ-1234", "verification_uri": f"{self.url}/activate",
                    "expires_in": 60, "interval": 0}
        elif request.path == "/token" and request.form.get("grant_type") == "urn:ietf:params:oauth:grant-type:device_code":
            self.polls += 1
            if self.polls == 1:
                return Response(json.dumps({"error": "authorization_pending"}), status=400,
                                content_type="application/json")(environ, start_response)
            body = {"id_token": self.mint({"sub": "carol", "aud": "shoal"}), "token_type": "Bearer",
                    "expires_in": 300, "refresh_token": "refresh-1"}
        elif request.path == "/token" and request.form.get("grant_type") == "refresh_token":
            assert request.form.get("refresh_token") == "refresh-1"
            self.refreshes += 1
            body = {"id_token": self.mint({"sub": "carol", "aud": "shoal"}), "expires_in": 300}
        else:
            return super()._wsgi(environ, start_response)
        return Response(json.dumps(body), content_type="application/json")(environ, start_response)


@pytest.fixture(scope="module")
def idp():
    with DeviceFlowProvider() as server:
        yield server


@pytest.fixture(scope="module")
def platform(idp, tmp_path_factory):
    script = tmp_path_factory.mktemp("cli") / "mock-script.json"
    script.write_text(json.dumps(SCRIPT))
    moto, state_url = spawn_moto(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(state_url + "/moto-api/", process=moto)
    env = {"SHOAL_MOCK_SCRIPT": str(script), "ORKA_OIDC_ISSUER": idp.issuer, "ORKA_OIDC_AUDIENCE": "shoal",
           "ORKA_OIDC_ALLOWED_SUBJECTS": "*", "SHOAL_AUTH_ALLOW_HTTP": "true", "SHOAL_OUTBOUND_ALLOW": "127.0.0.1"}
    running = Platform(state_url, extra_env=env)
    try:
        yield running
    finally:
        running.stop()
        moto.terminate()
        moto.wait(timeout=10)


@pytest.fixture
def home(tmp_path) -> Path:
    """An empty XDG config home per test."""
    return tmp_path / "xdg"


def shoal(home: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "XDG_CONFIG_HOME": str(home), **(env or {})}
    full_env.pop("NO_COLOR", None)
    return subprocess.run([sys.executable, "-m", "shoal_cli", *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def run(home: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    """The CLI in-process (Click's runner): exit_code, stdout and stderr as a subprocess would give them."""
    return CliRunner().invoke(cli, list(args), env={"XDG_CONFIG_HOME": str(home), "NO_COLOR": None, **(env or {})},
                              input=input, catch_exceptions=False)


def login(home: Path, platform: Platform) -> None:
    done = run(home, "login", "--context", "local", "--server", platform.url, "--token", TOKEN)
    assert (done.exit_code, done.stdout) == (0, 'Context "local" saved and in use.\n'), done.stderr


def phase(platform: Platform, name: str, token: str = TOKEN) -> str:
    task = httpx.get(f"{platform.url}/api/v1/tasks/{name}", headers={"Authorization": f"Bearer {token}"}).json()
    return task["status"]["phase"]


# -- contexts, identity ------------------------------------------------------------------------------

def test_login_saves_a_context_and_whoami_version_answer(platform, home):
    done = run(home, "login", "--context", "local", "--server", platform.url, "--token", TOKEN, "-n", "default")
    assert (done.exit_code, done.stdout) == (0, 'Context "local" saved and in use.\n')
    assert done.stderr == f"Logged in to {platform.url} as dev (dev).\n"
    config = home / "shoal" / "config.yaml"
    assert oct(config.stat().st_mode & 0o777) == "0o600"  # it holds a token, like a kubeconfig

    who = run(home, "whoami")
    rows = dict(line.split(None, 1) for line in who.stdout.splitlines())
    assert who.exit_code == 0 and who.stdout.startswith("kind       dev\n")
    assert (rows["subject"], rows["username"], rows["groups"]) == ("dev", "dev", "system:authenticated")
    assert json.loads(run(home, "whoami", "-o", "json").stdout)["subject"] == "dev"
    version = run(home, "version")
    assert (version.exit_code, version.stdout) == (0, "Client Version: 0.1.0\nServer Version: shoal-0.1.0\n")

    contexts = run(home, "config", "get-contexts")
    assert contexts.stdout.splitlines() == [
        "CURRENT   NAME    SERVER" + " " * (len(platform.url) - 3) + "NAMESPACE   AUTH",
        f"*         local   {platform.url}   default     token"]
    unknown = run(home, "config", "use-context", "nope")
    assert (unknown.exit_code, unknown.stderr) == (2, f"error: context 'nope' not found in {config}\n")
    assert run(home, "config", "set-context", "other", "--server", "http://other.example").exit_code == 0
    assert run(home, "config", "use-context", "other").stdout == 'Switched to context "other".\n'
    assert run(home, "config", "current-context").stdout == "other\n"
    view = run(home, "config", "view").stdout
    assert TOKEN not in view and "token: REDACTED" in view
    # A flag beats the file: --context picks another context for one command.
    assert run(home, "--context", "local", "whoami", "-o", "name").exit_code == 0


def test_login_with_a_wrong_token_is_refused_and_saves_nothing(platform, home):
    done = run(home, "login", "--server", platform.url, "--token", "wrong")
    assert (done.exit_code, done.stdout, done.stderr) == (1, "", "error: invalid token (HTTP 401)\n")
    assert not (home / "shoal" / "config.yaml").exists()


def test_oidc_device_flow_login(platform, idp, home):
    done = run(home, "login", "--context", "sso", "--server", platform.url, "--oidc-issuer", idp.issuer,
               "--oidc-client-id", "shoal-cli")
    assert done.exit_code == 0, done.stderr
    assert done.stderr.splitlines() == [f"Open {idp.url}/activate and enter the code WXYZ-1234",
                                        f"Logged in to {platform.url} as carol (oidc)."]
    assert idp.polls == 2  # one authorization_pending, then the tokens
    cached = home / "shoal" / "tokens" / "sso.json"
    assert oct(cached.stat().st_mode & 0o777) == "0o600"
    who = json.loads(run(home, "whoami", "-o", "json").stdout)
    assert (who["subject"], who["namespace"]) == ("carol", "default")
    # An expired ID token is refreshed with the refresh token, without a new login.
    cached.write_text(json.dumps({**json.loads(cached.read_text()), "expiresAt": 0}))
    assert json.loads(run(home, "whoami", "-o", "json").stdout)["subject"] == "carol"
    assert idp.refreshes == 1 and json.loads(cached.read_text())["expiresAt"] > time.time()
    assert json.loads(cached.read_text())["refresh_token"] == "refresh-1"  # kept: the IdP sent no new one


def test_exec_credential_and_kubectl_token(platform, home, tmp_path):
    plugin = json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                         "status": {"token": TOKEN}})
    done = run(home, "login", "--context", "exec", "--server", platform.url, "--exec-command", sys.executable,
               "--exec-arg", "-c", "--exec-arg", f"print({plugin!r})")
    assert done.exit_code == 0, done.stderr
    kubeconfig = tmp_path / "kubeconfig"
    users = [{"name": "me", "user": {"token": TOKEN}}]
    kubeconfig.write_text(json.dumps({"current-context": "kind", "users": users,
                                      "contexts": [{"name": "kind", "context": {"user": "me"}}]}))
    done = run(home, "login", "--context", "kube", "--server", platform.url, "--kubectl",
               env={"KUBECONFIG": str(kubeconfig)})
    assert done.exit_code == 0, done.stderr
    users[0]["user"] = {"client-certificate-data": "x"}
    kubeconfig.write_text(json.dumps({"current-context": "kind", "users": users,
                                      "contexts": [{"name": "kind", "context": {"user": "me"}}]}))
    refused = run(home, "whoami", env={"KUBECONFIG": str(kubeconfig)})
    assert (refused.exit_code, refused.stderr) == (2, "error: kubectl context 'kind' has no token, tokenFile or exec "
                                                      "credential (client certificates cannot be sent to Shoal)\n")


# -- tasks ---------------------------------------------------------------------------------------------

def test_task_create_then_wait_reaches_succeeded(platform, home):
    login(home, platform)
    created = shoal(home, "tasks", "create", "cli-hello", "-p", "say hi")
    assert (created.returncode, created.stdout) == (0, "task/cli-hello created\n")
    waited = shoal(home, "tasks", "wait", "cli-hello", "--timeout", "45")
    assert (waited.returncode, waited.stdout) == (0, "task/cli-hello Succeeded\n"), waited.stderr
    # Not a terminal: plain progress lines (one per phase), no colour codes.
    assert waited.stderr.splitlines()[-1] == "task/cli-hello: Succeeded" and "\x1b[" not in waited.stderr

    assert run(home, "tasks", "result", "cli-hello").stdout == "Hello from shoal-mock. You said: say hi\n"
    assert run(home, "tasks", "logs", "cli-hello").stdout == "Hello from shoal-mock. You said: say hi\n"
    got = json.loads(run(home, "task", "get", "cli-hello", "-o", "json").stdout)
    assert (got["metadata"]["name"], got["status"]["phase"]) == ("cli-hello", "Succeeded")
    table = run(home, "tasks", "get", "cli-hello").stdout.splitlines()
    assert table[0] == "NAME        TYPE   PHASE       AGE" and table[1].startswith("cli-hello   ai     Succeeded   ")
    wide = run(home, "tasks", "get", "cli-hello", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "TYPE", "PHASE", "AGE", "NAMESPACE", "AGENT", "ATTEMPTS", "MESSAGE"]
    assert "task/cli-hello" in run(home, "tasks", "list", "-o", "name").stdout.splitlines()
    assert run(home, "tasks", "list", "-l", "team=none").stderr == "No tasks found.\n"
    artifacts = run(home, "tasks", "artifacts", "cli-hello")
    assert (artifacts.exit_code, artifacts.stdout, artifacts.stderr) == (0, "", "No artifacts.\n")
    finished = run(home, "tasks", "cancel", "cli-hello")
    assert (finished.exit_code, finished.stderr) == (1, "error: task is already Succeeded (HTTP 409)\n")


def test_logs_follow_streams_a_live_task_until_it_finishes(platform, home):
    login(home, platform)
    assert run(home, "tasks", "create", "cli-follow", "-p", "slow work").exit_code == 0
    def follow_logs(*extra: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "shoal_cli", "tasks", "logs", "cli-follow", "-f", *extra],
                                cwd=ROOT, env={**os.environ, "XDG_CONFIG_HOME": str(home)}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    follow, follow_raw = follow_logs(), follow_logs("--raw")
    time.sleep(1.0)
    assert phase(platform, "cli-follow") in ("Pending", "Running")  # the model is still "thinking"
    assert follow.poll() is None  # …and the command is still following
    out, err = follow.communicate(timeout=45)
    # A task not started yet is waited for, with one line saying so (tests/contract/orka/test_cli_logs_follow.py).
    assert follow.returncode == 0 and err in ("", "task/cli-follow: Pending, waiting for its job\n"), err
    # It ended because the task finished: the result is there (the stream closes once it is saved).
    assert httpx.get(f"{platform.url}/api/v1/tasks/cli-follow/result",
                     headers={"Authorization": f"Bearer {TOKEN}"}).json() == {"result": "slow work done"}
    assert "error" not in out
    # The worker's own JSON log records read as log lines; `--raw` gives them as the job wrote them.
    assert re.search(r"^\d\d:\d\d:\d\d info  task done  task=cli-follow namespace=default ", out, re.M), out
    assert not re.search(r'^\{"ts"', out, re.M)
    raw, _ = follow_raw.communicate(timeout=45)
    assert re.search(r'^\{"ts": [\d.]+, "level": "info", "logger": "shoal\.[a-z.]+", "msg": "task done", '
                     r'"task": "cli-follow"', raw, re.M), raw


def test_watch_cancel_and_delete(platform, home, tmp_path):
    login(home, platform)
    manifest = tmp_path / "task.yaml"  # an Orka Task manifest
    manifest.write_text("apiVersion: core.orka.ai/v1alpha1\nkind: Task\nmetadata: {name: cli-cancel, labels: {cli: t}}\n"
                        "spec: {type: ai, prompt: slow work, timeout: 5m}\n")
    created = run(home, "tasks", "create", "-f", str(manifest), "-o", "name")
    assert (created.exit_code, created.stdout) == (0, "task/cli-cancel\n"), created.stderr
    cancelled = run(home, "tasks", "cancel", "cli-cancel", "--reason", "not needed")
    assert (cancelled.exit_code, cancelled.stdout) == (0, "task/cli-cancel cancelled\n"), cancelled.stderr
    watched = run(home, "tasks", "get", "cli-cancel", "--watch")  # returns once the phase is final
    assert watched.exit_code == 0 and watched.stdout.splitlines()[-1].split()[:3] == ["cli-cancel", "ai", "Cancelled"]
    waited = run(home, "tasks", "wait", "cli-cancel")
    assert (waited.exit_code, waited.stdout) == (1, "task/cli-cancel Cancelled: not needed\n")
    assert run(home, "tasks", "wait", "cli-cancel", "--for", "finished").exit_code == 0
    deleted = run(home, "tasks", "delete", "cli-cancel")
    assert (deleted.exit_code, deleted.stdout) == (0, 'task "cli-cancel" deleted\n')
    gone = run(home, "tasks", "get", "cli-cancel")
    assert (gone.exit_code, gone.stderr) == (1, "error: task not found (HTTP 404)\n")


def test_clear_errors_wrong_token_unknown_task_server_down_usage(platform, home):
    login(home, platform)
    wrong = shoal(home, "--token", "not-a-token", "tasks", "list")
    assert (wrong.returncode, wrong.stdout, wrong.stderr) == (1, "", "error: invalid token (HTTP 401)\n")
    unknown = shoal(home, "tasks", "get", "no-such-task")
    assert (unknown.returncode, unknown.stdout, unknown.stderr) == (1, "", "error: task not found (HTTP 404)\n")
    with refusing_port() as port:  # a port nobody listens on
        down_url = f"http://127.0.0.1:{port}"
        down = shoal(home, "--server", down_url, "--token", TOKEN, "tasks", "list")
    assert down.returncode == 1
    assert down.stderr.startswith(f"error: cannot reach {down_url}: ") and "Connection refused" in down.stderr
    usage = run(home, "tasks", "create", "x")
    assert (usage.exit_code, usage.stderr.splitlines()[-1]) == (2, "Error: --prompt is required for ai and agent tasks")
    assert run(home, "tasks", "list", "-o", "xml").exit_code == 2
    no_context = run(home.parent / "empty", "tasks", "list")
    assert no_context.exit_code == 2
    assert no_context.stderr.startswith("error: no context: run `shoal login --server URL --token TOKEN`")


# -- chat ------------------------------------------------------------------------------------------------

def test_chat_one_shot_streams_and_resumes_a_session(platform, home):
    login(home, platform)
    first = shoal(home, "chat", "-m", "hi there", "--session", "cli-chat")
    assert (first.returncode, first.stdout, first.stderr) == (
        0, "Hello from shoal-mock. You said: hi there\n", "session: cli-chat\n")
    second = run(home, "chat", "-m", "again", "--session", "cli-chat", "-o", "json")
    body = json.loads(second.stdout)
    assert (body["sessionId"], body["message"]) == ("cli-chat", "Hello from shoal-mock. You said: again")
    piped = run(home, "chat", input="one\ntwo\n")  # not a terminal: one turn per line, one session
    assert piped.stdout == "Hello from shoal-mock. You said: one\nHello from shoal-mock. You said: two\n"
    assert piped.stderr.startswith("session: chat-session-")
    assert "session/cli-chat" in run(home, "sessions", "list", "-o", "name").stdout.splitlines()


# -- manifests -----------------------------------------------------------------------------------------------

AGENT = """\
apiVersion: core.orka.ai/v1alpha1
kind: Agent
metadata:
  name: cli-reviewer
  labels: {team: platform}
spec:
  model: shoal-mock
  systemPrompt: You review pull requests.
  description: Reviews pull requests
  temperature: 0.2
---
apiVersion: core.orka.ai/v1alpha1
kind: Skill
metadata:
  name: cli-style
spec:
  description: House style
  content:
    inline: "# Style\\nShort sentences."
"""


def test_apply_an_orka_agent_manifest(platform, home, tmp_path):
    login(home, platform)
    manifest = tmp_path / "agent.yaml"
    manifest.write_text(AGENT)
    first = shoal(home, "apply", "-f", str(manifest))
    assert (first.returncode, first.stdout) == (0, "agent/cli-reviewer created\nskill/cli-style created\n"), first.stderr
    changed = AGENT.split("---")[0].replace("temperature: 0.2", "temperature: 0.5")
    second = run(home, "agents", "apply", "-f", "-", input=changed)
    assert (second.exit_code, second.stdout) == (0, "agent/cli-reviewer configured\n"), second.stderr
    agent = json.loads(run(home, "agents", "get", "cli-reviewer", "-o", "json").stdout)
    # the flat manifest comes back in Orka's Agent shape (docs/catalog.md)
    assert agent["spec"]["model"] == {"name": "shoal-mock", "temperature": 0.5}
    assert agent["spec"]["systemPrompt"] == {"inline": "You review pull requests."}
    assert agent["metadata"]["labels"] == {"team": "platform"}
    assert agent["metadata"]["generation"] == 2
    assert run(home, "skills", "list", "-o", "name").stdout.splitlines() == ["skill/cli-style"]

    wrong_kind = run(home, "agents", "apply", "-f", str(manifest))
    assert (wrong_kind.exit_code, wrong_kind.stderr.splitlines()[-1]) == (
        2, f"Error: {manifest}: agents apply takes kind Agent, not Skill")
    manifest.write_text(changed.replace("temperature: 0.5", "temperature: 7"))
    invalid = run(home, "apply", "-f", str(manifest))
    assert invalid.exit_code == 1
    assert invalid.stderr == ("error: Agent/cli-reviewer: invalid spec.temperature: Input should be less than or "
                              "equal to 2 (HTTP 400)\n")


def test_memories_tools_jobs_security(platform, home, tmp_path):
    login(home, platform)
    memory = tmp_path / "memory.yaml"
    memory.write_text("kind: Memory\nspec:\n  content: Deploys use ArgoCD\n  tags: [deploy]\n")
    applied = run(home, "memories", "apply", "-f", str(memory))
    assert applied.exit_code == 0 and applied.stdout.startswith("memory/mem-") and applied.stdout.endswith(" created\n")
    listed = json.loads(run(home, "memories", "list", "-q", "argocd", "-o", "json").stdout)["items"]
    assert [(m["content"], m["tags"]) for m in listed] == [("Deploys use ArgoCD", ["deploy"])]
    assert "tool/web_search" in run(home, "tools", "list", "-o", "name").stdout.splitlines()
    assert run(home, "proposals", "list").stderr == "No proposals found.\n"
    refused = run(home, "sessions", "list")  # sessions have no apply verb: the API creates them
    assert refused.exit_code == 0 and "apply" not in run(home, "sessions", "--help").stdout

    submitted = run(home, "jobs", "submit", "--source", "cli", "--type", "review", "-p", "look")
    assert submitted.exit_code == 0, submitted.stderr
    assert submitted.stdout.startswith("job/ir-") and submitted.stdout.endswith(" submitted\n")
    job_id = submitted.stdout.split()[0].split("/")[1]
    job = json.loads(run(home, "jobs", "get", job_id, "-o", "json").stdout)
    assert (job["id"], job["source"]) == (job_id, "cli")
    followed = run(home, "jobs", "logs", job_id, "-f")  # until the job's `done` frame; completed → 0
    assert followed.exit_code == 0, followed.stderr
    assert json.loads(run(home, "jobs", "get", job_id, "-o", "json").stdout)["status"] == "completed"

    missing = run(home, "security", "findings", "no-such-repo")
    assert (missing.exit_code, missing.stderr) == (1, "error: repository scan not found (HTTP 404)\n")


def test_incident_analyze_wait_and_result(platform, home):
    login(home, platform)
    done = run(home, "incidents", "analyze", "deployment/api", "-n", "shop", "--signal", "CliCrashLoop",
               "-m", "CrashLoopBackOff", "--wait", "--timeout", "45")
    assert done.exit_code == 0, (done.stdout, done.stderr)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("incident/") and lines[1:3] == [
        "confidence: 0.9", "summary: missing environment variable"]
    session = lines[0].split("/", 1)[1]
    assert json.loads(run(home, "incidents", "get", session, "-o", "json").stdout)["status"] == "completed"
    bad = run(home, "incidents", "analyze", "api")
    assert (bad.exit_code, bad.stderr.splitlines()[-1]) == (2, "Error: give the resource as KIND/NAME (e.g. Deployment/api), or -f")


def test_the_console_script_is_installed():
    """`make install` (pip install -e) creates `shoal`; CI always has it."""
    from importlib.metadata import entry_points

    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    if "shoal" not in scripts and os.environ.get("CI") != "true":
        pytest.skip("the `shoal` console script is not installed in this venv: run `make install`")
    assert scripts["shoal"] == "shoal_cli.app:main"
    binary = Path(sys.executable).parent / "shoal"
    done = subprocess.run([str(binary), "version", "--client"], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, "Client Version: 0.1.0\n")


# -- MCP -------------------------------------------------------------------------------------------------

async def _create_and_wait(session: Any, name: str) -> tuple[Any, list]:
    created = await session.call_tool("create_task", {"name": name, "prompt": "hi from mcp"})
    assert not created.isError, created.content
    assert created.structuredContent["name"] == name
    progress: list = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    waited = await session.call_tool("wait_for_task", {"name": name, "timeout_seconds": 45},
                                     progress_callback=on_progress)
    return waited, progress


def _check_tools(tools: Any) -> None:
    names = {t.name for t in tools.tools}
    assert {"create_task", "get_task", "list_tasks", "cancel_task", "wait_for_task", "get_task_result",
            "get_task_logs", "analyze_incident", "get_incident", "search_memories", "list_agents"} <= names
    create = next(t for t in tools.tools if t.name == "create_task")
    assert create.inputSchema["required"] == ["name", "prompt"]
    assert create.outputSchema["properties"]["phase"] == {"title": "Phase", "type": "string"}
    assert all(t.outputSchema for t in tools.tools)


def test_mcp_over_stdio(platform, home):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    login(home, platform)

    async def run() -> None:
        params = StdioServerParameters(command=sys.executable, args=["-m", "shoal_cli", "mcp"], cwd=str(ROOT),
                                       env={**os.environ, "XDG_CONFIG_HOME": str(home)})
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            init = await session.initialize()
            assert init.serverInfo.name == "shoal"
            _check_tools(await session.list_tools())
            waited, progress = await _create_and_wait(session, "mcp-stdio")
            assert waited.structuredContent["phase"] == "Succeeded"
            assert progress and progress[-1][2] == "task mcp-stdio: Succeeded"
            result = await session.read_resource("shoal://tasks/default/mcp-stdio/result")
            assert result.contents[0].text == "Hello from shoal-mock. You said: hi from mcp"
            missing = await session.call_tool("get_task", {"name": "no-such-task"})
            assert missing.isError and missing.content[0].text == ("Error executing tool get_task: task not found "
                                                                   "(HTTP 404)")
            prompts = {p.name for p in (await session.list_prompts()).prompts}
            assert prompts == {"run_task", "investigate_incident", "review_task"}

    asyncio.run(run())


def test_mcp_over_streamable_http_at_the_gateway(platform, idp):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    anonymous = httpx.post(f"{platform.url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert (anonymous.status_code, anonymous.json()) == (401, {"error": {"code": 401,
                                                                        "message": "missing authorization header"}})
    forged = httpx.post(f"{platform.url}/mcp", json={}, headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401

    async def run(token: str, check: Any) -> None:
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
        async with http, streamable_http_client(f"{platform.url}/mcp", http_client=http) as (
                read, write, _), ClientSession(read, write) as session:
            await session.initialize()
            await check(session)

    async def as_dev(session: Any) -> None:
        _check_tools(await session.list_tools())
        waited, progress = await _create_and_wait(session, "mcp-http")
        assert waited.structuredContent["phase"] == "Succeeded"
        assert len(progress) >= 2 and progress[-1][2] == "task mcp-http: Succeeded"  # streamed while it ran
        logs = await session.call_tool("get_task_result", {"name": "mcp-http"})
        assert logs.structuredContent["output"] == "Hello from shoal-mock. You said: hi from mcp"

    async def as_bob(session: Any) -> None:
        # bob is an OIDC user bound to `default`: the tool acts as bob, so another namespace is refused…
        refused = await session.call_tool("create_task", {"name": "bob-task", "prompt": "x", "namespace": "prod"})
        assert refused.isError
        assert refused.content[0].text == ('Error executing tool create_task: namespace "prod" not allowed, '
                                           'restricted to "default" (HTTP 403)')
        # …and what bob may do is done as bob (the task records its requester, below).
        allowed = await session.call_tool("create_task", {"name": "bob-task", "prompt": "x"})
        assert not allowed.isError and allowed.structuredContent["namespace"] == "default"

    async def anonymous_client() -> None:
        async with streamable_http_client(f"{platform.url}/mcp") as (read, write, _), \
                ClientSession(read, write) as session:
            await session.initialize()

    with pytest.raises(ExceptionGroup) as refused:  # the SDK's own client, without a token
        asyncio.run(anonymous_client())
    assert [e.response.status_code for e in refused.value.exceptions] == [401]

    asyncio.run(run(TOKEN, as_dev))
    asyncio.run(run(idp.mint({"sub": "bob", "aud": "shoal"}), as_bob))
    bob_task = httpx.get(f"{platform.url}/api/v1/tasks/bob-task", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert bob_task["spec"]["requestedBy"]["subject"] == "bob"
