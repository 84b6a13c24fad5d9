"""Closed-loop clients that create cron tasks, in a process of their own (for `task_create`). Not a bench itself.

Why a process of their own: under `make run` the broker lives in the platform's supervisor process,
not beside a load generator. When the clients ran as threads of the bench's process, which also
serves the broker, every event a create emits (the tasks function waits for the broker's 202) waited
for a GIL the 8 clients kept busy: a cost of the bench, not of the platform.
Why urllib3 (boto3's transport, already a dependency) with one kept-alive connection per client:
httpx costs a client about 1.36 ms of CPU per request against urllib3's 0.59 ms (docs/performance.md,
"One read, its floor"); on 2 cores the load generator's CPU is taken from the platform.

Run as `python create_clients.py URL TOKEN`; each line "CLIENTS SECONDS" on stdin runs a round of that
many clients for that long, answered by a line with the number of tasks created (or "error: …"). End
of stdin ends the process. `Clients` is the parent's side.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path


class Clients:
    """The client process, started by the bench; `pid` for its CPU from /proc."""

    def __init__(self, url: str, token: str) -> None:
        self._proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), url, token],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.pid = self._proc.pid

    def round(self, clients: int, seconds: float) -> int:
        """Tasks created by `clients` concurrent clients in `seconds`."""
        assert self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(f"{clients} {seconds}\n")
        self._proc.stdin.flush()
        answer = self._proc.stdout.readline().strip()
        if not answer.isdigit():
            raise RuntimeError(f"create clients: {answer or 'exited'}")
        return int(answer)

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> Clients:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def run_round(pools: list, seconds: float, numbers: Iterator[int]) -> int:
    """Tasks created by one client per pool in `seconds`; raises the first client's error."""
    counts, errors = [0] * len(pools), []
    deadline = time.perf_counter() + seconds

    def client(i: int) -> None:
        try:
            while time.perf_counter() < deadline:
                body = json.dumps({"name": f"cron-{os.getpid()}-{next(numbers)}", "type": "ai", "prompt": "bench", "schedule": "0 0 1 1 *"})
                response = pools[i].request("POST", "/api/v1/tasks", body=body)
                if response.status != 201:
                    raise RuntimeError(f"{response.status} {response.data[:200]!r}")
                counts[i] += 1
        except Exception as exc:  # reported to the parent, which stops the bench
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(pools))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return sum(counts)


def serve(url: str, token: str) -> None:
    import urllib3

    numbers = itertools.count()  # task names unique across rounds (a count's next() is atomic, a generator's is not)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    timeout = urllib3.Timeout(connect=5, read=30)
    pools: list[urllib3.HTTPConnectionPool] = []
    for line in sys.stdin:
        clients, seconds = int(line.split()[0]), float(line.split()[1])
        while len(pools) < clients:  # kept across rounds: one kept-alive connection per client
            pools.append(urllib3.connection_from_url(url, maxsize=1, block=True, headers=headers, timeout=timeout))
        try:
            answer = str(run_round(pools[:clients], seconds, numbers))
        except Exception as exc:
            answer = f"error: {exc!r}"
        print(answer, flush=True)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
