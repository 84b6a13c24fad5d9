"""Cost of the local gateway: the same request at a function's port and through `make run`'s gateway.

The function is the bare functions-framework hello app (tests/bench/hello), started as `make run`
starts its functions (forked by the fork server: gunicorn's threaded worker, 16 threads, on its port
and on a Unix socket); the gateway serves in a process of its own, as in `make run`, routing by the
real infra/httproutes.yaml table to the Unix socket (BENCH_GATEWAY_VIA=tcp: to the port). One httpx
client (kept-alive connections) alternates direct and proxied requests one by one, so whatever else
loads the machine hits both alike. Target: the median proxied request ≤ 1.1× the median direct one.

Also printed: CPU per request of the gateway process and of the function (Linux), the figures the
machine's other load disturbs least, and the load average. Exits non-zero when the target is missed.
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

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))
TARGET = 1.1
PATH = "/api/v1/tasks"  # routed to the tasks function, which the hello app stands in for


def serve(fd: int, function_url: str) -> None:  # `unix:/path` or `http://host:port`
    """The gateway process: every route goes to the one function."""
    from shared.local.gateway import Gateway, GatewayServer
    from shared.local.manifests import routes

    GatewayServer(Gateway(routes(), lambda name: function_url), socket.socket(fileno=fd)).serve_forever()


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its children (gunicorn's worker), from /proc."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")  # not Linux: the CPU figures are left out
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


def switches(pid: int) -> int:
    """Context switches of a process's threads so far (Linux): each is a wake-up the request waited for."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            for line in (task / "status").read_text().splitlines():
                if line.endswith("ctxt_switches:") is False and "ctxt_switches:" in line:
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


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
    sock = listen()
    via = f"http://127.0.0.1:{sock.getsockname()[1]}"
    gateway = subprocess.Popen([sys.executable, __file__, "--serve", str(sock.fileno()), upstream],
                               pass_fds=(sock.fileno(),))
    sock.close()
    try:
        wait_http(direct + PATH, process=function)
        wait_http(via + PATH, process=gateway)
        with httpx.Client() as client:

            def timed(url: str) -> float:
                started = time.perf_counter()
                response = client.get(url)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200 and response.text == "ok", response
                return elapsed

            for _ in range(200):  # warm both paths (imports, kept-alive connections)
                timed(direct + PATH), timed(via + PATH)
            directs, vias = [], []
            gateway_cpu, function_cpu = cpu_seconds(gateway.pid), cpu_seconds(function.pid)
            gateway_switches = switches(gateway.pid)
            for _ in range(REQUESTS):
                directs.append(timed(direct + PATH))
                vias.append(timed(via + PATH))
            gateway_cpu = cpu_seconds(gateway.pid) - gateway_cpu
            gateway_switches = switches(gateway.pid) - gateway_switches
            function_cpu = cpu_seconds(function.pid) - function_cpu
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
        os.kill(function.pid, signal.SIGTERM)
        function.wait(timeout=10)
        forker.stop()
    d, v = statistics.median(directs), statistics.median(vias)
    ratio = v / d
    print(f"gateway overhead ({REQUESTS} requests each way, alternating; per-request medians; gateway to the "
          f"function over {'TCP' if upstream == direct else 'a Unix socket'}; load average "
          f"{os.getloadavg()[0]:.1f})")
    print(f"  direct {d * 1000:6.3f} ms  via gateway {v * 1000:6.3f} ms  overhead {(v - d) * 1e6:5.0f} µs  "
          f"ratio {ratio:4.2f}x  {'OK' if ratio <= TARGET else 'MISSED'} (target ≤ {TARGET}x)")
    print(f"  CPU per request: gateway {gateway_cpu / REQUESTS * 1e6:4.0f} µs, "
          f"function {function_cpu / (2 * REQUESTS) * 1e6:4.0f} µs; gateway context switches per request "
          f"{gateway_switches / REQUESTS:.2f}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(main())
