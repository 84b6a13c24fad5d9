"""Two chat function processes on one state backend (moto server), as two Knative pods would be:
the 11th concurrent chat gets 429 whichever process it reaches, and a client that drops its
stream on one process replays the rest of the turn from the other.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from shared.local.platform import wait_http
from shared.local.serve import spawn_function, spawn_moto
from tests.conftest import AUTH, DEV_TOKEN
from tests.support.chat import post_json, stream, text_of

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture
def backend(monkeypatch):
    """A moto server with the tables; this process's store client points at it too."""
    from shared.config import reset_settings
    from shared.store.bootstrap import ensure_state
    from shared.store.clients import reset_clients

    proc, url = spawn_moto(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(url + "/moto-api/", process=proc)
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        reset_settings()
        reset_clients()
        ensure_state()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        reset_clients()


def _chat_process(state_url: str, script: Path) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOAL_", "AWS_", "K_SINK"))}
    env.update({"AWS_ENDPOINT_URL": state_url, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": "us-east-1", "SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": DEV_TOKEN,
                "SHOAL_MOCK_SCRIPT": str(script), "PYTHONPATH": str(ROOT), "WORKERS": "1", "THREADS": "16"})
    return spawn_function("chat", env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_semaphore_and_replay_across_two_processes(backend, tmp_path):
    from shared.chat.leases import SLOT_NAMESPACE, slots

    script = tmp_path / "script.json"
    # Each chat holds its slot for the delay: all ten must be running at once and the 11th refused
    # before the first ends. 2.5 s was less than ten chats across two processes could take to start on
    # a loaded machine (the first ones ended and the ten were never seen together).
    script.write_text(json.dumps([{"delay": 6, "text": "finished after a while"}]))
    procs = [_chat_process(backend, script) for _ in range(2)]
    try:
        for proc, url in procs:
            wait_http(url + "/healthz", process=proc)
        results: dict[str, tuple] = {}

        def run(i: int, url: str) -> None:
            results[f"s{i}"] = stream(url, {"message": f"chat {i}", "sessionId": f"s{i}"})

        threads = [threading.Thread(target=run, args=(i, procs[i % 2][1]), daemon=True) for i in range(10)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 15
        while len(slots.list_page(SLOT_NAMESPACE, limit=None)[0]) < 10:
            assert time.monotonic() < deadline, "ten chats did not start"
            time.sleep(0.05)
        for _, url in procs:  # the 11th chat, on either process
            response = post_json(url, {"message": "one too many"})
            assert response.status_code == 429 and response.headers["Retry-After"] == "5"
            assert response.json() == {"error": {"code": 429, "message": "too many concurrent chat requests"}}
        # s0 runs on process 0; process 1 replays it from event 1 and follows it to `done`.
        status, replayed = stream(procs[1][1], method="GET", path="/api/v1/chat/s0/stream",
                                  headers={"Last-Event-ID": "1"})
        assert status == 200 and replayed[-1].event == "done" and int(replayed[0].id) == 2
        assert text_of(replayed) == "finished after a while"
        for thread in threads:
            thread.join(30)
        assert all(results[f"s{i}"][0] == 200 and text_of(results[f"s{i}"][1]) == "finished after a while"
                   for i in range(10))
        assert slots.list_page(SLOT_NAMESPACE, limit=None)[0] == []
        assert httpx.get(procs[0][1] + "/api/v1/chat/config", headers=AUTH).json()["maxConcurrent"] == 10
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(timeout=10)
