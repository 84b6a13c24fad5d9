"""`make run`: the whole platform on this machine, as the cluster runs it.

Starts, in order: the state backend (moto's server, its state replayed from and recorded into
SHOAL_STATE_DIR, unless AWS_ENDPOINT_URL is set, which is then waited for) with the tables and bucket; the broker; every function of `knative/services.yaml` as
its own process (forked from one that imported what they share: shared/local/forkserver.py); the gateway on SHOAL_PORT routing by `infra/httproutes.yaml`.
Prints the dev token. A function that exits is restarted with backoff (shared/local/supervisor.py);
one that keeps dying stops the platform. Ctrl-C (or SIGTERM) stops everything it started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.config import get_settings, reset_settings
from shared.errors import ShoalError
from shared.executor.local_files import sweep as sweep_workers
from shared.llm.registry import describe_default, resolve
from shared.local.broker import Broker
from shared.local.demo_cluster import NAMESPACE, demo_cluster
from shared.local.forkserver import Forked, ForkServer
from shared.local.gateway import Gateway, GatewayServer
from shared.local.manifests import ROOT, functions, routes, triggers
from shared.local.ping import Pinger, ping_sources
from shared.local.serve import listen, spawn_moto, wait_http
from shared.local.state import COMPACT_AFTER, StateDir, state_dir
from shared.local.supervisor import Supervisor
from shared.local.wsgi_server import KeepAliveServer
from shared.logs import get_logger
from shared.store.bootstrap import ensure_state
from shared.store.clients import reset_clients

log = get_logger("local")


@dataclass
class LocalPlatform:
    host: str = "127.0.0.1"
    port: int = 8080
    dev_token: str = ""  # SHOAL_DEV_TOKEN, else the state directory's, else a random one (set by start)
    processes: dict[str, subprocess.Popen | Forked] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    _servers: list = field(default_factory=list)
    _moto: subprocess.Popen | None = None
    _state: StateDir | None = None  # None: an external backend (AWS_ENDPOINT_URL) keeps the state
    _replayed: tuple[int, float] = (0, 0.0)
    _kube: str = ""  # the banner's word on which Kubernetes API the functions use
    _env: dict[str, str] = field(default_factory=dict)  # every function's environment, for restarts
    _restarts: dict[str, float] = field(default_factory=dict)  # function → when to start it again
    _forker: ForkServer | None = None  # forks the functions (shared/local/forkserver.py)
    # Each function listens on a Unix socket here too, for the gateway: cheaper than TCP (docs/performance.md).
    _sockets_dir: str = ""
    sockets: dict[str, str] = field(default_factory=dict)  # function → "unix:" and its Unix socket's path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def service_url(self, name: str) -> str | None:
        port = self.ports.get(name)
        proc = self.processes.get(name)
        if port is None or proc is None or proc.poll() is not None:
            return None
        return f"http://127.0.0.1:{port}"

    def gateway_url(self, name: str) -> str | None:
        """Where the gateway reaches a function: its Unix socket (`unix:/path`) when it has one, else its port."""
        proc = self.processes.get(name)
        if proc is None or proc.poll() is not None:
            return None
        return self.sockets.get(name) or self.service_url(name)

    # -- state ------------------------------------------------------------------------------
    def _state_env(self) -> dict[str, str]:
        env = {"AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
               "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
               "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))}
        if os.environ.get("AWS_ENDPOINT_URL"):
            env["AWS_ENDPOINT_URL"] = os.environ["AWS_ENDPOINT_URL"]
            self._wait_for_state(env["AWS_ENDPOINT_URL"])
            return env
        self._state = state_dir()
        self._state.claim()
        self._moto, env["AWS_ENDPOINT_URL"] = spawn_moto({**os.environ, **self._state.moto_env()},
                                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                         start_new_session=True)
        wait_http(env["AWS_ENDPOINT_URL"] + "/moto-api/", process=self._moto)
        self._replayed = self._state.replay(env["AWS_ENDPOINT_URL"])
        if self._replayed[0] > COMPACT_AFTER:
            self._state.compact(env["AWS_ENDPOINT_URL"], env)
        return env

    @staticmethod
    def _wait_for_state(url: str) -> None:
        """Wait (bounded) for a state backend that is still starting, e.g. started beside `make run`.

        Any HTTP answer means it is up (DynamoDB answers a bare GET with 400); only a refused or
        timed-out connection means waiting. Giving up is one line, not a boto3 traceback.
        """
        limit = get_settings().local_state_wait_seconds
        deadline = time.monotonic() + limit
        said = False
        while True:
            try:
                httpx.get(url, timeout=2.0)
                return
            except httpx.HTTPError:
                pass
            if time.monotonic() >= deadline:
                raise ShoalError(f"the state backend at {url} did not answer within {limit:.0f}s "
                                 "(AWS_ENDPOINT_URL); start it, or unset AWS_ENDPOINT_URL for a private one")
            if not said:
                sys.stderr.write(f"waiting up to {limit:.0f}s for the state backend at {url} ...\n")
                sys.stderr.flush()
                said = True
            time.sleep(0.5)

    def _bootstrap_state(self, env: dict[str, str]) -> None:
        os.environ.update(env)
        reset_settings()
        reset_clients()
        ensure_state()

    # -- servers ----------------------------------------------------------------------------
    def _serve(self, app, sock: socket.socket, name: str) -> None:
        """Serve `app` on `sock` (the server takes it over), keeping connections open: every event a
        function emits reaches the broker on a connection of the function's pool."""
        self._run(KeepAliveServer(app, sock), name)

    def _run(self, server, name: str) -> None:
        self._servers.append(server)
        threading.Thread(target=server.serve_forever, name=name, daemon=True).start()

    def _start_function(self, name: str, env: dict[str, str]) -> None:
        """Fork the function from the fork server (shared/local/forkserver.py) onto a socket bound here."""
        if self._forker is None or self._forker.process.poll() is not None:
            if self._forker is not None:  # it died, and every function with it: they are being restarted
                sys.stderr.write(f"the fork server exited with code {self._forker.process.returncode}; "
                                 "starting it again\n")
                sys.stderr.flush()
            self._forker = ForkServer(env)
        with contextlib.suppress(FileNotFoundError, KeyError):
            os.unlink(self.sockets.pop(name).removeprefix("unix:"))  # a restarted function's former socket
        with listen() as sock:
            port = sock.getsockname()[1]
            unix = self._listen_unix(f"{name}-{port}.sock")
            try:
                self.processes[name] = self._forker.spawn(name, ROOT / "functions" / name / "main.py",
                                                          {**env, "SHOAL_EVENT_SOURCE": name}, sock, unix=unix)
                if unix is not None:
                    self.sockets[name] = f"unix:{unix.getsockname()}"
            finally:
                if unix is not None:
                    unix.close()
            self.ports[name] = port

    def _listen_unix(self, filename: str) -> socket.socket | None:
        """A bound, listening, inheritable Unix socket in the platform's own directory; None where there is
        none to be had (a temporary directory whose path is too long): the gateway then uses the port."""
        if not self._sockets_dir:
            remove_orphaned_socket_dirs()
            self._sockets_dir = tempfile.mkdtemp(prefix=f"{SOCKETS_PREFIX}{os.getpid()}-")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(os.path.join(self._sockets_dir, filename))
            sock.listen(1024)
            sock.set_inheritable(True)
        except OSError:
            sock.close()
            return None
        return sock

    # -- supervision --------------------------------------------------------------------------
    def supervise(self, supervisor: Supervisor) -> str | None:
        """One look at the functions: schedule a restart for each that exited, start those that are
        due. A reason to stop the platform when one keeps dying; else None.

        A restarted function gets a fresh port (the gateway, broker and pinger look ports up per
        request). Task workers run in sessions of their own, so a dispatcher's death leaves them
        running; their heartbeats keep their tasks, and a worker that died meanwhile is reclaimed
        by the scheduler when its lease lapses.
        """
        now = time.monotonic()
        for name, proc in list(self.processes.items()):
            if proc.poll() is None or name in self._restarts:
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # what is left of its group (gunicorn's workers)
            delay = supervisor.exited(name)
            if delay is None:
                return (f"function {name} exited {supervisor.limit} times within "
                        f"{supervisor.window:.0f}s (last code {proc.returncode}); stopping")
            sys.stderr.write(f"function {name} exited with code {proc.returncode}; restarting in {delay:g}s\n")
            sys.stderr.flush()
            self._restarts[name] = now + delay
        for name, due in list(self._restarts.items()):
            if now >= due:
                del self._restarts[name]
                self._start_function(name, self._env)
        return None

    def start(self) -> None:
        resolve()  # a configured provider without its key stops here, loudly, not at the first task
        # The gateway's port is taken first (SHOAL_PORT=0: any free one), so a busy port fails fast.
        try:
            gateway = listen(self.host, self.port)
        except OSError as exc:
            raise ShoalError(f"cannot listen on {self.host}:{self.port} ({exc.strerror}); "
                             "set SHOAL_PORT to a free port, or 0 for any") from None
        self.port = gateway.getsockname()[1]
        state = self._state_env()
        # Kept in the state directory with an external backend too: its tasks outlive a restart, and a
        # new token each time broke the CLI's saved context and `cat .shoal/dev-token` (there was none).
        self.dev_token = (self.dev_token or os.environ.get("SHOAL_DEV_TOKEN")
                          or (self._state or state_dir()).dev_token())
        self._bootstrap_state(state)
        broker = listen()
        broker_port = broker.getsockname()[1]
        # The workers' files live with the state (local_files), named absolutely for every function.
        state_path = Path(get_settings().state_dir).resolve()
        sweep_workers(state_path / "workers")  # what the workers of an earlier run left once they ended
        env = {**os.environ, **state, "SHOAL_STATE_DIR": str(state_path),
               "SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": self.dev_token, "SHOAL_EXECUTOR": "local",
               "K_SINK": f"http://127.0.0.1:{broker_port}/", "SHOAL_INTERNAL_URL": self.url,
               # CORS: the console served by the local gateway is the one browser origin by default.
               "ORKA_CORS_ALLOWED_ORIGINS": os.environ.get("ORKA_CORS_ALLOWED_ORIGINS", self.url),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               "WORKERS": "1", "THREADS": "16", "PYTHONUNBUFFERED": "1"}
        env.update(self._kube_env())
        if os.environ.get("SHOAL_LLM_PROVIDER", "mock") == "mock":
            # make run shows /analyze with the demo model because it asks for it here, explicitly;
            # a deployment without a provider keeps answering 503.
            env.setdefault("SHOAL_ANALYZE_ALLOW_MOCK", "true")
        self._env = env
        self._serve(Broker(triggers(), self.service_url, event_log=os.environ.get("SHOAL_EVENT_LOG")),
                    broker, "broker")
        for fn in functions():
            self._start_function(fn.name, env)
        for name, proc in self.processes.items():
            wait_http(f"http://127.0.0.1:{self.ports[name]}/healthz", process=proc)
        self._run(GatewayServer(Gateway(routes(), self.gateway_url), gateway), "gateway")
        self._start_pinger()

    def _kube_env(self) -> dict[str, str]:
        """The Kubernetes API of the functions: SHOAL_KUBE_API_URL or a kubeconfig when there is one,
        else the demo cluster (the tests' fake API server, seeded; shared/local/demo_cluster.py)."""
        if os.environ.get("SHOAL_KUBE_API_URL"):
            self._kube = f"{os.environ['SHOAL_KUBE_API_URL']} (SHOAL_KUBE_API_URL)"
            return {}
        kubeconfig = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
        if any(Path(p).is_file() for p in kubeconfig.split(os.pathsep) if p):
            self._kube = f"the current context of {kubeconfig}"
            return {}

        sock = listen()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._serve(demo_cluster(), sock, "demo-cluster")
        self._kube = (f"demo cluster at {url} (namespace {NAMESPACE}: Deployment checkout crash-loops, "
                      "Deployment recommender is OOMKilled; in memory)")
        return {"SHOAL_KUBE_API_URL": url}

    def _start_pinger(self) -> None:
        """Knative's PingSource, locally: ticks for the sinks of knative/pingsource.yaml."""
        pinger = Pinger(ping_sources(), self.service_url, get_settings().local_tick_seconds)
        pinger.start()
        self._pinger = pinger

    def stop(self) -> None:
        if getattr(self, "_pinger", None) is not None:
            self._pinger.stop()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()
        # The functions first, the store after them: a request still running (a chat turn) finishes or
        # is killed against a live store, instead of failing on a dead one with a traceback per call.
        _terminate(list(self.processes.values()))
        if self._moto:
            _terminate([self._moto])
        self.processes.clear()
        if self._forker is not None:
            self._forker.stop()
            self._forker = None
        if self._sockets_dir:
            shutil.rmtree(self._sockets_dir, ignore_errors=True)
            self._sockets_dir = ""
            self.sockets.clear()
        if self._state is not None:
            self._state.release()

    def _state_line(self) -> str:
        if self._state is None:
            return f"{os.environ.get('AWS_ENDPOINT_URL')} (external; kept by that backend)"
        count, seconds = self._replayed
        replayed = f", {count} writes replayed in {seconds:.1f}s" if count else ", new"
        return f"{self._state.path} (kept across restarts{replayed}; `make reset` wipes it)"

    def banner(self) -> str:
        llm = describe_default()
        model = f"{llm['provider']} ({llm['model']})"
        if llm["provider"] == "mock":
            model += ": demo model: deterministic, not an LLM (set SHOAL_LLM_PROVIDER for a real one)"
        # The private moto's URL: admin commands that write the tables (operator keys) need it.
        tables = (f"  tables:     {self._env['AWS_ENDPOINT_URL']} (moto; AWS_ENDPOINT_URL for admin commands such "
                  "as operator keys, docs/incidents.md)\n") if self._state is not None else ""
        return (f"\nShoal is running at {self.url}\n"
                f"  console:    {self.url}/console/ (sign in with the dev token)\n"
                f"  dev token:  {self.dev_token}\n"
                f"  try:        curl -H 'Authorization: Bearer {self.dev_token}' {self.url}/api/v1/tasks\n"
                f"  API docs:   {self.url}/docs (OpenAPI: {self.url}/openapi.json)\n"
                f"  functions:  {', '.join(sorted(self.processes))}\n"
                f"  state:      {self._state_line()}\n"
                f"{tables}"
                f"  kubernetes: {self._kube}\n"
                f"  llm:        {model}\n"
                f"Ctrl-C stops everything.\n")


def _terminate(children: list[subprocess.Popen], seconds: float = 10) -> None:
    """SIGTERM to each child's process group; SIGKILL to those still running after `seconds`."""
    for proc in children:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    for proc in children:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            # and wait for it: a killed process still holds its port until the kernel has reaped
            # it, so a stop that returned at once left ports answering with a reset
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)


def main() -> int:
    port = int(os.environ.get("SHOAL_PORT", "8080"))
    platform = LocalPlatform(host=os.environ.get("SHOAL_HOST", "127.0.0.1"), port=port)
    stopping, starting = threading.Event(), threading.Event()
    starting.set()

    def on_signal(signum, frame):
        first = not stopping.is_set()
        stopping.set()
        # start() can take a minute (a long replay, the compaction, twenty functions' health checks):
        # Ctrl-C stops it there, not after it (once: a second signal must not cut the stop short).
        if first and starting.is_set():
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        try:
            platform.start()
        except ShoalError as exc:  # a configuration problem: say it plainly, no traceback
            sys.stderr.write(f"shoal: {exc.message}\n")
            return 2
        except KeyboardInterrupt:
            sys.stderr.write("shoal: stopped while starting\n")
            return 130
        starting.clear()
        sys.stdout.write(platform.banner())
        sys.stdout.flush()

        settings = get_settings()
        supervisor = Supervisor(settings.local_restart_limit, settings.local_restart_window_seconds)
        while not stopping.wait(0.5):
            reason = platform.supervise(supervisor)
            if reason:
                sys.stderr.write(reason + "\n")
                return 1
        return 0
    finally:
        platform.stop()


if __name__ == "__main__":
    sys.exit(main())


SOCKETS_PREFIX = "shoal-"


def remove_orphaned_socket_dirs() -> None:
    """Remove the socket directories of platforms that were killed (`kill -9` runs no cleanup): each is
    named after its platform's pid, and only a directory of ours whose pid is gone is removed."""
    root = tempfile.gettempdir()
    for entry in os.scandir(root):
        pid = entry.name[len(SOCKETS_PREFIX):].split("-", 1)[0]
        if not entry.name.startswith(SOCKETS_PREFIX) or not pid.isdigit() or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            os.kill(int(pid), 0)  # alive (or not ours to signal): leave it
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
        except (PermissionError, OSError):
            continue
