"""`make run` (python -m shared.local) as a subprocess, for the integration tests over it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "integration-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Platform:
    def __init__(self, state_url: str | None, event_log: Path | None = None,
                 extra_env: dict[str, str] | None = None, stderr: Path | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOAL_", "AWS_", "K_SINK"))}
        env.update({"SHOAL_PORT": "0", "SHOAL_DEV_TOKEN": TOKEN,
                    "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                    "AWS_DEFAULT_REGION": "us-east-1", "PYTHONUNBUFFERED": "1", **(extra_env or {})})
        if state_url:  # else make run keeps its own state (SHOAL_STATE_DIR in extra_env)
            env["AWS_ENDPOINT_URL"] = state_url
            # its workers' files: in the tests' state directory, not the checkout's .shoal/
            env.setdefault("SHOAL_STATE_DIR", os.environ.get("SHOAL_STATE_DIR"))
        env = {k: v for k, v in env.items() if v is not None}  # extra_env may unset with None
        if event_log:
            env["SHOAL_EVENT_LOG"] = str(event_log)
        errors = open(stderr, "wb") if stderr else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen([sys.executable, "-m", "shared.local"], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=errors, text=True)
        if stderr:
            errors.close()
        self.banner = ""
        deadline = time.monotonic() + 90
        while "Ctrl-C stops everything" not in self.banner:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                raise RuntimeError(f"platform exited with {self.proc.returncode}: {self.banner}")
            self.banner += line
            if time.monotonic() > deadline:
                raise RuntimeError("platform did not start")
        self.url = re.search(r"Shoal is running at (http://\S+)", self.banner).group(1)  # SHOAL_PORT=0: any port
        self.function_ports = [int(p) for p in _function_ports(self.proc.pid)]

    def crash(self) -> None:
        """`kill -9` of make run itself: no cleanup runs (its children die with it, PR_SET_PDEATHSIG)."""
        self.proc.kill()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=30)
        self.proc.stdout.close()
        return code


def _function_ports(pid: int) -> list[int]:
    """Ports the platform's functions listen on (from /proc), to check they are gone after a stop."""
    return [port for _, port in function_processes(pid).values()]


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, …), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def function_processes(platform_pid: int) -> dict[str, tuple[int, int]]:
    """The platform's function processes: name → (pid, the port it listens on).

    make run forks them from its fork server (shared/local/forkserver.py), which names each
    `fn:<function>` (cut to 15 characters, /proc/<pid>/comm) in a session of its own.
    """
    from shared.local.forkserver import COMM_PREFIX
    from shared.local.manifests import functions

    names = {(COMM_PREFIX + fn.name)[:15]: fn.name for fn in functions()}
    found = {}
    for pid in descendants(platform_pid):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            if comm in names and os.getsid(pid) == pid and (port := listening_port(pid)):
                found[names[comm]] = (pid, port)
        except OSError:
            continue
    return found


def listening_port(pid: int) -> int | None:
    """The TCP port a process listens on (the first one), from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
            return int(fields[1].rsplit(":", 1)[1], 16)
    return None


def wait_phase(client: httpx.Client, name: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        task = client.get(f"/api/v1/tasks/{name}").json()
        if task["status"]["phase"] in ("Succeeded", "Failed", "Cancelled") or time.monotonic() > deadline:
            return task
        time.sleep(0.2)




def banner_token(banner: str) -> str:
    return re.search(r"dev token:\s+(\S+)", banner).group(1)
