"""`make run`: the whole platform on this machine, as the cluster runs it.

Starts, in order: the state backend (moto's server unless AWS_ENDPOINT_URL is set) with the
tables and bucket; the broker; every function of `knative/services.yaml` as its own
functions-framework process; the gateway on SHOAL_PORT routing by `infra/httproutes.yaml`.
Prints the dev token. Ctrl-C (or SIGTERM) stops everything it started.
"""

from __future__ import annotations

import logging
import os
import secrets
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
from werkzeug.serving import make_server

from shared.errors import ShoalError
from shared.local.broker import Broker
from shared.local.gateway import Gateway, GatewayServer
from shared.local.manifests import ROOT, functions, routes, triggers
from shared.local.serve import listen, spawn_function, spawn_moto
from shared.logs import get_logger

log = get_logger("local")


def wait_http(url: str, *, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process for {url} exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


@dataclass
class LocalPlatform:
    host: str = "127.0.0.1"
    port: int = 8080
    dev_token: str = field(default_factory=lambda: os.environ.get("SHOAL_DEV_TOKEN") or secrets.token_urlsafe(24))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    _servers: list = field(default_factory=list)
    _moto: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def service_url(self, name: str) -> str | None:
        port = self.ports.get(name)
        proc = self.processes.get(name)
        if port is None or proc is None or proc.poll() is not None:
            return None
        return f"http://127.0.0.1:{port}"

    # -- state ------------------------------------------------------------------------------
    def _state_env(self) -> dict[str, str]:
        env = {"AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "local"),
               "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
               "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))}
        if os.environ.get("AWS_ENDPOINT_URL"):
            env["AWS_ENDPOINT_URL"] = os.environ["AWS_ENDPOINT_URL"]
            return env
        self._moto, env["AWS_ENDPOINT_URL"] = spawn_moto(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                         start_new_session=True)
        wait_http(env["AWS_ENDPOINT_URL"] + "/moto-api/", process=self._moto)
        return env

    def _bootstrap_state(self, env: dict[str, str]) -> None:
        from shared.config import reset_settings
        from shared.store.bootstrap import ensure_state
        from shared.store.clients import reset_clients

        os.environ.update(env)
        reset_settings()
        reset_clients()
        ensure_state()

    # -- servers ----------------------------------------------------------------------------
    def _serve(self, app, sock: socket.socket, name: str) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # our functions log one JSON line each
        host, port = sock.getsockname()[:2]
        server = make_server(host, port, app, threaded=True, fd=sock.fileno())
        sock.close()  # the server holds its own duplicate
        self._run(server, name)

    def _run(self, server, name: str) -> None:
        self._servers.append(server)
        threading.Thread(target=server.serve_forever, name=name, daemon=True).start()

    def _start_function(self, name: str, env: dict[str, str]) -> None:
        # Each gunicorn gets its own runtime dir: they would all share one control socket otherwise.
        runtime = Path(tempfile.mkdtemp(prefix=f"shoal-{name}-"))
        proc, url = spawn_function(name, {**env, "SHOAL_EVENT_SOURCE": name, "XDG_RUNTIME_DIR": str(runtime)},
                                   start_new_session=True)
        self.processes[name] = proc
        self.ports[name] = int(url.rsplit(":", 1)[1])

    def start(self) -> None:
        from shared.llm.registry import resolve

        resolve()  # a configured provider without its key stops here, loudly, not at the first task
        # The gateway's port is taken first (SHOAL_PORT=0: any free one), so a busy port fails fast.
        try:
            gateway = listen(self.host, self.port)
        except OSError as exc:
            raise ShoalError(f"cannot listen on {self.host}:{self.port} ({exc.strerror}); "
                             "set SHOAL_PORT to a free port, or 0 for any") from None
        self.port = gateway.getsockname()[1]
        state = self._state_env()
        self._bootstrap_state(state)
        broker = listen()
        broker_port = broker.getsockname()[1]
        env = {**os.environ, **state,
               "SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": self.dev_token, "SHOAL_EXECUTOR": "local",
               "K_SINK": f"http://127.0.0.1:{broker_port}/", "SHOAL_INTERNAL_URL": self.url,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               "WORKERS": "1", "THREADS": "16", "PYTHONUNBUFFERED": "1"}
        self._serve(Broker(triggers(), self.service_url, event_log=os.environ.get("SHOAL_EVENT_LOG")),
                    broker, "broker")
        for fn in functions():
            self._start_function(fn.name, env)
        for name, proc in self.processes.items():
            wait_http(f"http://127.0.0.1:{self.ports[name]}/healthz", process=proc)
        self._run(GatewayServer(Gateway(routes(), self.service_url), gateway), "gateway")
        self._start_pinger()

    def _start_pinger(self) -> None:
        """Knative's PingSource, locally: ticks for the sinks of knative/pingsource.yaml."""
        from shared.config import get_settings
        from shared.local.ping import Pinger, ping_sources

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
        children = list(self.processes.values()) + ([self._moto] if self._moto else [])
        for proc in children:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.processes.clear()

    def banner(self) -> str:
        from shared.llm.registry import describe_default

        llm = describe_default()
        return (f"\nShoal is running at {self.url}\n"
                f"  dev token:  {self.dev_token}\n"
                f"  try:        curl -H 'Authorization: Bearer {self.dev_token}' {self.url}/api/v1/tasks\n"
                f"  functions:  {', '.join(sorted(self.processes))}\n"
                f"  state:      {os.environ.get('AWS_ENDPOINT_URL')}\n"
                f"  llm:        {llm['provider']} ({llm['model']})\n"
                f"Ctrl-C stops everything.\n")


def main() -> int:
    port = int(os.environ.get("SHOAL_PORT", "8080"))
    platform = LocalPlatform(host=os.environ.get("SHOAL_HOST", "127.0.0.1"), port=port)
    stopping = threading.Event()

    def on_signal(signum, frame):
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        try:
            platform.start()
        except ShoalError as exc:  # a configuration problem: say it plainly, no traceback
            sys.stderr.write(f"shoal: {exc.message}\n")
            return 2
        sys.stdout.write(platform.banner())
        sys.stdout.flush()
        while not stopping.wait(0.5):
            dead = [n for n, p in platform.processes.items() if p.poll() is not None]
            if dead:
                sys.stderr.write(f"function(s) exited: {', '.join(dead)}; stopping\n")
                return 1
        return 0
    finally:
        platform.stop()


if __name__ == "__main__":
    sys.exit(main())
