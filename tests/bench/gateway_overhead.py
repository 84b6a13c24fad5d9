"""Cost of the local gateway: the same request at a function's port and through `make run`'s gateway.

The function is the bare functions-framework hello app (tests/bench/hello), started as `make run`
starts its functions (forked by the fork server: gunicorn's threaded worker, 16 threads, on its port
and on a Unix socket); the gateway serves in a process of its own, as in `make run`, routing by the
real infra/httproutes.yaml table to the Unix socket (BENCH_GATEWAY_VIA=tcp: to the port). One httpx
client (kept-alive connections) alternates direct and proxied requests one by one, so whatever else
loads the machine hits both alike. Target: the median proxied request ≤ 1.1× the median direct one.

Also printed: CPU per request of the gateway process and of the function (Linux), the figures the
machine's other load disturbs least, and the load average. Exits non-zero when the target is missed.

BENCH_COMPARE=<a copy of another tree> (e.g. `git archive main | tar -x -C /tmp/main-copy`): a second
gateway, that tree's, in front of the same function; each direct request is followed by one through each
gateway, the two in turn first: an A/B that the machine's other load hits alike, which
running the bench from each tree one after the other on a shared machine is not.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.procstat import cpu_seconds  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))
COMPARE = os.environ.get("BENCH_COMPARE")
TARGET = 1.1
PATH = "/api/v1/tasks"  # routed to the tasks function, which the hello app stands in for


def serve(fd: int, function_url: str) -> None:  # `unix:/path` or `http://host:port`
    """The gateway process: every route goes to the one function."""
    from shared.local.gateway import Gateway, GatewayServer
    from shared.local.manifests import routes

    GatewayServer(Gateway(routes(), lambda name: function_url), socket.socket(fileno=fd)).serve_forever()


def switches(pid: int) -> tuple[int, int]:
    """Voluntary and involuntary context switches of a process's threads so far (Linux): a voluntary one is
    a wait (for the client, for the function), an involuntary one the machine's other load."""
    voluntary = involuntary = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    voluntary += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    involuntary += int(line.split()[1])
        except OSError:
            continue
    return voluntary, involuntary


def start_gateway(tree: Path, function_url: str) -> tuple[subprocess.Popen, str]:
    """A gateway process serving `tree`'s code (this file there), on a free port; and its URL."""
    from shared.local.serve import listen

    sock = listen()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    process = subprocess.Popen([sys.executable, str(tree / "tests" / "bench" / "gateway_overhead.py"), "--serve",
                                str(sock.fileno()), function_url], pass_fds=(sock.fileno(),))
    sock.close()
    return process, url


def main() -> int:
    import httpx

    from shared.local.forkserver import ForkServer
    from shared.local.platform import wait_http
    from shared.local.serve import listen

    runtime = tempfile.mkdtemp(prefix="bench-")
    env = {**os.environ, "WORKERS": "1", "THREADS": "16", "XDG_RUNTIME_DIR": runtime}
    forker = ForkServer(env, preload=False)
    path = os.path.join(runtime, "hello.sock")
    with listen() as port, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        unix.bind(path)
        unix.listen(1024)
        function = forker.spawn("hello", ROOT / "tests" / "bench" / "hello" / "main.py", env, port, unix=unix)
        direct = f"http://127.0.0.1:{port.getsockname()[1]}"
    upstream = direct if os.environ.get("BENCH_GATEWAY_VIA") == "tcp" else f"unix:{path}"
    trees = {"via gateway": ROOT} | ({"via compared": Path(COMPARE).resolve()} if COMPARE else {})
    gateways = {name: start_gateway(tree, upstream) for name, tree in trees.items()}
    try:
        wait_http(direct + PATH, process=function)
        for process, url in gateways.values():
            wait_http(url + PATH, process=process)
        with httpx.Client() as client:

            def timed(url: str) -> float:
                started = time.perf_counter()
                response = client.get(url)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200 and response.text == "ok", response
                return elapsed

            urls = {"direct": direct} | {name: url for name, (_, url) in gateways.items()}
            order = list(gateways)
            for _ in range(200):  # warm every path (imports, kept-alive connections)
                for url in urls.values():
                    timed(url + PATH)
            times: dict[str, list[float]] = {name: [] for name in urls}
            cpu = {name: cpu_seconds(process.pid) for name, (process, _) in gateways.items()}
            switched = {name: switches(process.pid) for name, (process, _) in gateways.items()}
            function_cpu = cpu_seconds(function.pid)
            for i in range(REQUESTS):
                times["direct"].append(timed(direct + PATH))
                for name in order[i % len(order):] + order[:i % len(order)]:  # the gateways, each first in turn
                    times[name].append(timed(urls[name] + PATH))
            cpu = {name: cpu_seconds(process.pid) - cpu[name] for name, (process, _) in gateways.items()}
            switched = {name: [b - a for a, b in zip(switched[name], switches(process.pid), strict=True)]
                        for name, (process, _) in gateways.items()}
            function_cpu = cpu_seconds(function.pid) - function_cpu
    finally:
        for process, _ in gateways.values():
            process.terminate()
            process.wait(timeout=10)
        os.kill(function.pid, signal.SIGTERM)
        function.wait(timeout=10)
        forker.stop()
    d = statistics.median(times["direct"])
    print(f"gateway overhead ({REQUESTS} requests each way, direct then through each gateway in turn; per-request medians; gateway to the "
          f"function over {'TCP' if upstream == direct else 'a Unix socket'}; load average "
          f"{os.getloadavg()[0]:.1f}{f'; compared: {COMPARE}' if COMPARE else ''})")
    print(f"  direct {d * 1000:6.3f} ms  function CPU per request {function_cpu / (len(urls) * REQUESTS) * 1e6:4.0f} µs")
    for name in gateways:
        v = statistics.median(times[name])
        voluntary, involuntary = (count / REQUESTS for count in switched[name])
        print(f"  {name} {v * 1000:6.3f} ms  overhead {(v - d) * 1e6:5.0f} µs  ratio {v / d:4.2f}x  "
              f"gateway CPU per request {cpu[name] / REQUESTS * 1e6:4.0f} µs  context switches per request "
              f"{voluntary + involuntary:.2f} ({voluntary:.2f} waits)")
    ratio = statistics.median(times["via gateway"]) / d
    print(f"  {'OK' if ratio <= TARGET else 'MISSED'} (target ≤ {TARGET}x)")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(main())
