"""Faults on the local platform over real HTTP: workers and function processes killed mid-task.

One platform with a short lease (SHOAL_TASK_LEASE_SECONDS=3) and a 1 s scheduler tick; a scripted mock
model keeps each worker busy for a few seconds so it can be killed while it runs. Measured figures are
printed (pytest -s) and recorded in docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from shared.worker.forkserver import COMM as WORKER_COMM
from tests.integration.test_local_platform import AUTH, ROOT, Platform, moto_server, wait_phase  # noqa: F401
from tests.support.local_platform import function_processes, listening_port

pytestmark = pytest.mark.integration
LEASE, TICK, BUSY = 3.0, 1.0, 8.0  # BUSY: long enough that a stalled machine still kills a worker mid-task
CLIENTS, LOAD_SECONDS = 20, 60.0  # the load test's concurrent clients, and how long they run


def _proc_entries():
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            yield entry


def worker_pid(task: str, timeout: float = 30.0) -> int:
    """The pid of the worker running `task` (other runs on this machine may have workers): the forked
    worker process (shared/worker/forkserver.py) whose output goes to the task's log file."""
    log_name = re.compile(rf"/{re.escape(task)}/{re.escape(task)}-\d+\.log$")  # local_files.log_path
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in _proc_entries():
            try:
                if (entry / "comm").read_text().strip() != WORKER_COMM:
                    continue
                if log_name.search(os.readlink(entry / "fd" / "1")):
                    return int(entry.name)
            except OSError:
                continue
        time.sleep(0.1)
    raise AssertionError(f"no worker found for {task}")


def function_pid(platform: Platform, target: str) -> int:
    """The pid of the platform's process serving function `target` (forked by its fork server)."""
    found = function_processes(platform.proc.pid).get(target)
    if found is None:
        raise AssertionError(f"function {target} is not running")
    return found[0]


def gone(pid: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state == "Z":
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still runs")


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def worker_lost(task: dict) -> bool:
    return any(c["type"] == "WorkerLost" and c["status"] == "True" for c in task["status"].get("conditions", []))


def settled(client: httpx.Client, name: str, timeout: float = 60.0) -> dict:
    """The task once finished for good (a Failed task waiting for its retry is not)."""
    def final():
        task = client.get(f"/api/v1/tasks/{name}").json()
        status = task["status"]
        done = status["phase"] in ("Succeeded", "Cancelled") or (
            status["phase"] == "Failed" and not status.get("nextRetryTime"))
        return task if done else None

    return wait_until(final, timeout, f"{name} to finish")


def create(client: httpx.Client, name: str, prompt: str, **fields) -> None:
    response = client.post("/api/v1/tasks", json={"name": name, "type": "ai", "prompt": prompt, **fields})
    assert response.status_code == 201, response.text


def running(client: httpx.Client, name: str):
    return wait_until(lambda: client.get(f"/api/v1/tasks/{name}").json()["status"]["phase"] == "Running", 30,
                      f"{name} to run")


@pytest.fixture(scope="module")
def platform(moto_server, tmp_path_factory):  # noqa: F811 - the shared fixture, imported above
    folder = tmp_path_factory.mktemp("faults")
    script = folder / "script.json"
    script.write_text(json.dumps({"busy:": [{"delay": BUSY, "text": "finished the busy work"}]}))
    stderr = folder / "platform.err"
    started = Platform(moto_server, stderr=stderr, extra_env={
        "SHOAL_MOCK_SCRIPT": str(script), "SHOAL_TASK_LEASE_SECONDS": str(LEASE),
        "SHOAL_TASK_STARTUP_GRACE_SECONDS": "10", "SHOAL_LOCAL_TICK_SECONDS": str(TICK)})
    started.stderr = stderr
    try:
        yield started
    finally:
        assert started.stop() == 0


@pytest.fixture
def client(platform):
    with httpx.Client(base_url=platform.url, headers=AUTH, timeout=10) as http:
        yield http


def test_a_killed_worker_is_retried_and_the_task_succeeds(platform, client):
    """kill -9 the worker while its dispatcher lives: its watcher fails the attempt at once (WorkerLost),
    the retryPolicy starts another, which finishes."""
    name = f"killed-{uuid.uuid4().hex[:6]}"
    create(client, name, "busy: retry me", retryPolicy={"maxRetries": 1, "backoff": "1s"})
    running(client, name)
    pid = worker_pid(name)
    time.sleep(1.5)  # mid-task: it has heartbeated
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    first = wait_until(lambda: (t := client.get(f"/api/v1/tasks/{name}").json())["status"]["phase"] != "Running"
                       and t, LEASE + TICK + 10, "the lost attempt to be reclaimed")
    reclaimed = time.monotonic() - killed
    assert worker_lost(first) and first["status"]["attempts"] == 1, first["status"]
    done = settled(client, name)
    print(f"\nworker killed, dispatcher alive: reclaimed after {reclaimed:.2f}s, "
          f"retried to {done['status']['phase']} {time.monotonic() - killed:.2f}s after the kill")
    assert done["status"]["phase"] == "Succeeded" and done["status"]["attempts"] == 2, done["status"]
    assert client.get(f"/api/v1/tasks/{name}/result").json() == {"result": "finished the busy work"}


def test_a_worker_killed_with_its_dispatcher_is_reclaimed_by_its_lease(platform, client):
    """kill -9 the dispatcher (its watcher threads die with it), then the worker: only the lease notices.
    The dispatcher is restarted by the platform and takes work again."""
    name = f"orphan-{uuid.uuid4().hex[:6]}"
    create(client, name, "busy: lose me")
    running(client, name)
    pid = worker_pid(name)
    dispatcher = function_pid(platform, "dispatcher")
    os.kill(dispatcher, signal.SIGKILL)
    gone(dispatcher)
    time.sleep(0.5)  # the worker lives on, in its own session, and heartbeats
    assert client.get(f"/api/v1/tasks/{name}").json()["status"]["phase"] == "Running"
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    task = wait_until(lambda: (t := client.get(f"/api/v1/tasks/{name}").json())["status"]["phase"] != "Running"
                      and t, LEASE + TICK + 30, "the lease to lapse")
    reclaimed = time.monotonic() - killed
    print(f"\nworker and dispatcher killed: reclaimed by the lease after {reclaimed:.2f}s "
          f"(lease {LEASE:g}s, tick {TICK:g}s)")
    assert task["status"]["phase"] == "Failed" and worker_lost(task), task["status"]
    idle = re.match(r"worker lost: no heartbeat for (\d+)s \(attempt 1\)$", task["status"]["message"])
    assert idle, task["status"]["message"]
    # Not before the lease lapsed: nothing but the lease could have noticed. The lease runs from the
    # worker's last heartbeat, which came up to one heartbeat interval before the kill, so the time since
    # the kill can be shorter than the lease; the silence the scheduler measured cannot. No upper bound
    # beyond the wait: how soon after that the tick runs depends on the machine's load, not on the code.
    assert int(idle.group(1)) >= LEASE

    log = wait_until(lambda: re.search(r"function dispatcher exited with code -9; restarting in [\d.]+s",
                                       platform.stderr.read_text()), 30, "the restart line")
    assert log
    assert function_pid(platform, "dispatcher") != dispatcher
    again = f"after-{uuid.uuid4().hex[:6]}"
    create(client, again, "hello again")  # the restarted dispatcher starts it
    assert wait_phase(client, again, timeout=60)["status"]["phase"] == "Succeeded"


def answering(pid: int) -> bool:
    """The function process `pid` answers its health check on the port it listens on."""
    port = listening_port(pid)
    if port is None:
        return False
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_workers_survive_their_dispatchers_restart(platform, client):
    name = f"survivor-{uuid.uuid4().hex[:6]}"
    create(client, name, "busy: outlive the dispatcher")
    running(client, name)
    pid = worker_pid(name)
    dispatcher = function_pid(platform, "dispatcher")
    killed = time.monotonic()
    os.kill(dispatcher, signal.SIGKILL)

    def restarted() -> bool:
        try:
            fresh = function_pid(platform, "dispatcher")
        except AssertionError:
            return False
        return fresh != dispatcher and answering(fresh)

    wait_until(restarted, 30, "the dispatcher to be restarted")
    print(f"\ndispatcher killed: restarted and answering after {time.monotonic() - killed:.2f}s")
    done = wait_phase(client, name, timeout=60)
    assert done["status"]["phase"] == "Succeeded" and done["status"]["attempts"] == 1, done["status"]
    gone(pid)


def test_a_spec_over_the_environment_limit_runs_through_the_gateway(platform, client):
    name = f"big-{uuid.uuid4().hex[:6]}"
    prompt = "a long brief. " * (200 * 1024 // 14 + 1)
    create(client, name, prompt)
    done = wait_phase(client, name, timeout=60)
    assert done["status"]["phase"] == "Succeeded", done["status"]["message"][:300]
    assert client.get(f"/api/v1/tasks/{name}/result").json()["result"].endswith("a long brief.")


def test_a_state_backend_that_does_not_answer_is_waited_for_then_one_line():
    from tests.support.servers import refusing_port

    with refusing_port() as port:  # a port nobody serves
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOAL_", "AWS_", "OPENAI", "ANTHROPIC"))}
        env.update({"SHOAL_PORT": "0", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                    "SHOAL_LOCAL_STATE_WAIT_SECONDS": "2"})
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "shared.local"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
    assert result.returncode == 2 and time.monotonic() - started >= 2
    url = f"http://127.0.0.1:{port}"
    assert result.stderr == (f"waiting up to 2s for the state backend at {url} ...\n"
                             f"shoal: the state backend at {url} did not answer within 2s (AWS_ENDPOINT_URL); "
                             "start it, or unset AWS_ENDPOINT_URL for a private one\n")


def test_tasks_running_when_the_platform_restarts_are_reclaimed_and_retried(tmp_path):
    """Ctrl-C `make run` mid-task and start it again (on another port, so the old worker cannot reach it):
    the old worker stops itself once it cannot renew its lease, the new platform's scheduler reclaims the task,
    and its retryPolicy runs it to the end there. (Own state backend: the module's platform must not help.)
    No SHOAL_DEV_TOKEN: the token is kept in SHOAL_STATE_DIR with an external backend too, so the second
    platform takes the first one's (it made a new one, and no dev-token file, on every start)."""
    from shared.local.platform import wait_http
    from shared.local.serve import spawn_moto

    moto, state = spawn_moto(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(state + "/moto-api/", process=moto)
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"busy:": [{"delay": BUSY, "text": "finished after the restart"}]}))
    env = {"SHOAL_MOCK_SCRIPT": str(script), "SHOAL_TASK_LEASE_SECONDS": str(LEASE),
           "SHOAL_TASK_STARTUP_GRACE_SECONDS": "10", "SHOAL_LOCAL_TICK_SECONDS": str(TICK),
           "SHOAL_DEV_TOKEN": None, "SHOAL_STATE_DIR": str(tmp_path / "state")}
    name = f"restart-{uuid.uuid4().hex[:6]}"
    try:
        first = Platform(state, extra_env=env)
        try:
            token = (tmp_path / "state" / "dev-token").read_text().strip()
            auth = {"Authorization": f"Bearer {token}"}
            assert f"dev token:  {token}\n" in first.banner
            with httpx.Client(base_url=first.url, headers=auth, timeout=10) as client:
                create(client, name, "busy: survive a restart", retryPolicy={"maxRetries": 1, "backoff": "1s"})
                running(client, name)
                pid = worker_pid(name)
                time.sleep(1.5)
        finally:
            assert first.stop() == 0
        stopped = time.monotonic()
        second = Platform(state, extra_env=env)
        try:
            assert f"dev token:  {token}\n" in second.banner
            with httpx.Client(base_url=second.url, headers=auth, timeout=10) as client:
                task = wait_until(lambda: worker_lost(t := client.get(f"/api/v1/tasks/{name}").json()) and t, 60,
                                  "the reclaim")
                reclaimed = time.monotonic() - stopped
                gone(pid, timeout=LEASE + 5)  # it could not renew: it stopped itself
                done = settled(client, name)
                print(f"\nplatform restarted: reclaimed {reclaimed:.2f}s after the old platform stopped, "
                      f"{done['status']['phase']} after {time.monotonic() - stopped:.2f}s")
                assert task["status"]["message"].startswith(("worker lost: no heartbeat for ", "retry 1 of 1"))
                assert done["status"]["phase"] == "Succeeded" and done["status"]["attempts"] == 2, done["status"]
                assert worker_lost(done)  # attempt 1's loss stays on record
                assert client.get(f"/api/v1/tasks/{name}/result").json() == {"result": "finished after the restart"}
        finally:
            assert second.stop() == 0
    finally:
        moto.terminate()
        moto.wait(timeout=10)


@pytest.fixture(scope="module")
def loaded_platform():
    """`make run` as configured by default (not the module's 3 s lease: under this load a request can take
    seconds, and whether a worker renews a 3 s lease would be a matter of timing), with a chat slot per
    client (beyond its slots, 10 by default, a chat turn is refused 429 by design). It has a state
    backend of its own: the module's platform, still running, would otherwise reclaim these tasks by
    its own 3 s lease (both schedulers visit the same live index)."""
    from shared.local.platform import wait_http
    from shared.local.serve import spawn_moto

    moto, url = spawn_moto(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(url + "/moto-api/", process=moto)
        started = Platform(url, extra_env={"SHOAL_CHAT_MAX_CONCURRENT": str(CLIENTS)})
        try:
            yield started
        finally:
            assert started.stop() == 0
    finally:
        moto.terminate()
        moto.wait(timeout=10)


def test_twenty_clients_for_a_minute_see_no_errors(loaded_platform):
    """A realistic mix through the gateway from 20 kept-alive clients for a minute: every answer is the
    expected one (no 5xx, no transport error), and every task created meanwhile succeeds afterwards."""
    platform = loaded_platform
    served, errors, created, took = Counter(), [], [], {}
    lock, stop = threading.Lock(), time.monotonic() + LOAD_SECONDS

    def client_loop(number: int) -> None:
        with httpx.Client(base_url=platform.url, headers=AUTH, timeout=30) as http:
            def call(kind: str, expected: int, method: str, url: str, **kwargs) -> httpx.Response | None:
                started = time.perf_counter()
                try:
                    response = http.request(method, url, **kwargs)
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append((kind, repr(exc)))
                    return None
                with lock:
                    served[kind] += 1
                    took.setdefault(kind, []).append(time.perf_counter() - started)
                    if response.status_code != expected:
                        errors.append((kind, response.status_code, response.text[:300]))
                return response

            turn = 0
            while time.monotonic() < stop:
                turn += 1
                name = f"load-{number}-{turn}-{uuid.uuid4().hex[:4]}"
                if call("create task", 201, "POST", "/api/v1/tasks",
                        json={"name": name, "type": "ai", "prompt": f"load {name}"}):
                    with lock:
                        created.append(name)
                    call("get task", 200, "GET", f"/api/v1/tasks/{name}")
                call("list tasks", 200, "GET", "/api/v1/tasks", params={"limit": 20})
                call("healthz", 200, "GET", "/healthz")
                call("chat turn", 200, "POST", "/api/v1/chat", json={"message": "hi", "sessionId": f"load-{number}"},
                     headers={"Accept": "application/json"})
                call("openapi", 200, "GET", "/openapi.json")

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"\nload: {sum(served.values())} answers in {LOAD_SECONDS:g}s from {CLIENTS} clients: "
          f"{dict(served)}; {len(errors)} errors")
    for kind, seconds in took.items():  # figures only: the machine's load decides them
        seconds.sort()
        print(f"  {kind}: median {seconds[len(seconds) // 2] * 1000:.0f} ms, max {seconds[-1] * 1000:.0f} ms")
    assert errors == []
    with httpx.Client(base_url=platform.url, headers=AUTH, timeout=30) as http:
        ends = Counter((status["phase"], status.get("message", "")[:200])
                       for status in (settled(http, name, timeout=300)["status"] for name in created))
    print(f"load: {len(created)} tasks created: {dict(ends)}")
    assert [phase for phase, _ in ends] == ["Succeeded"], ends
