"""The gunicorn worker every function serves with (shared/http/server.py): a thread per connection that
reads its connection's next request itself. Real sockets; the worker runs in a thread of the test (its
signal handling is replaced by what a signal does: `alive` off and a byte in its pipe), and the
container's command once as its own process for SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gunicorn.config import Config
from gunicorn.sock import TCPSocket

from shared.http.server import WORKER_CLASS, ConnectionWorker, gunicorn_options

ROOT = Path(__file__).resolve().parents[3]
gate = threading.Event()  # /wait blocks on it
inside: list[int] = []  # requests of /wait in the application right now
most_inside = [0]
lock = threading.Lock()
children: list[subprocess.Popen] = []


def _app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/wait":
        with lock:
            inside.append(1)
            most_inside[0] = max(most_inside[0], len(inside))
        gate.wait(10)
        with lock:
            inside.pop()
    if path == "/child":  # a process that dies with the thread that started it, as a fork server does
        child = subprocess.Popen([sys.executable, "-c", "import ctypes, time; ctypes.CDLL(None).prctl(1, 9); "
                                  "print(flush=True); time.sleep(60)"], stdout=subprocess.PIPE)
        child.stdout.readline()  # its parent-death signal is set
        children.append(child)
    body = b"" if path == "/unread" else environ["wsgi.input"].read()
    me = threading.current_thread()
    text = f"{environ['REQUEST_METHOD']} {path} thread={me.name}/{me.ident} ".encode() + body
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(text)))])
    return [text]


class _App:
    def wsgi(self):
        return _app


class _Worker(ConnectionWorker):
    def init_signals(self) -> None:  # signal.signal is for the main thread only
        pass


def _stop(worker: ConnectionWorker) -> None:
    worker.alive = False  # what SIGTERM does (handle_exit), and its wake-up byte
    os.write(worker.PIPE[1], b"\0")


@pytest.fixture
def serve() -> Iterator:
    started: list[tuple[ConnectionWorker, threading.Thread]] = []

    def start(**settings) -> tuple[ConnectionWorker, int]:
        cfg = Config()
        for key, value in {"threads": 4, "keepalive": 2, **settings}.items():
            cfg.set(key, value)
        log = cfg.logger_class(cfg)
        listener = TCPSocket(("127.0.0.1", 0), cfg, log)
        worker = _Worker(1, os.getppid(), [listener], _App(), 30, cfg, log)
        thread = threading.Thread(target=worker.init_process, daemon=True)
        thread.start()
        started.append((worker, thread))
        start.threads.append(thread)
        return worker, listener.sock.getsockname()[1]

    start.threads = []  # type: ignore[attr-defined]
    gate.clear()
    most_inside[0] = 0
    yield start
    gate.set()
    for worker, thread in started:
        if worker.alive:
            _stop(worker)
        thread.join(10)


def _read_answers(conn: socket.socket, count: int) -> list[bytes]:
    data = b""
    while data.count(b"HTTP/1.1 ") < count or not _complete(data, count):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return [b"HTTP/1.1 " + part for part in data.split(b"HTTP/1.1 ")[1:]]


def _complete(data: bytes, count: int) -> bool:
    answers = data.split(b"HTTP/1.1 ")[1:]
    if len(answers) < count:
        return False
    head, _, body = answers[-1].partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0]) if b"content-length" in head.lower() else 0
    return len(body) >= length


def _body(answer: bytes) -> str:
    return answer.partition(b"\r\n\r\n")[2].decode()


def test_the_configured_worker_is_this_one():
    assert gunicorn_options()["worker_class"] == WORKER_CLASS
    cfg = Config()
    cfg.set("worker_class", WORKER_CLASS)
    assert cfg.worker_class is ConnectionWorker


def test_a_kept_alive_connection_is_served_by_one_thread_request_after_request(serve):
    _, port = serve()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        first = http.post("/a", content=b"hello")
        second = http.get("/b")
    assert first.status_code == 200 and second.status_code == 200
    thread = first.text.split("thread=")[1].split()[0]
    assert first.text == f"POST /a thread={thread} hello"
    assert second.text == f"GET /b thread={thread} "  # no hand-off to another thread
    assert thread.startswith("connection/")  # the connection's own thread, not a pool's
    assert first.headers["connection"] == "keep-alive"


def test_pipelined_requests_are_answered_in_order_on_the_connection(serve):
    _, port = serve()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                     b"GET /three HTTP/1.1\r\nHost: x\r\n\r\n")
        answers = _read_answers(conn, 3)
    assert [_body(a).split(" thread=")[0] for a in answers] == ["GET /one", "POST /two", "GET /three"]
    assert _body(answers[1]).endswith(" abc")


def test_a_thread_outlives_its_connection_and_serves_the_next_one(serve):
    worker, port = serve()
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        first = http.get("/child").text.split("thread=")[1].split()[0]
    deadline = time.monotonic() + 30
    while worker._open:  # the connection is closed on the worker's side
        assert time.monotonic() < deadline, "the worker never closed the connection"
        time.sleep(0.01)
    try:
        time.sleep(0.2)
        assert children[-1].poll() is None  # alive: the thread that started it did not exit
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            assert http.get("/again").text.split("thread=")[1].split()[0] == first  # the same thread, reused
    finally:
        children[-1].kill()
        children[-1].wait()


def test_a_chunked_request_body_is_read_whole(serve):
    _, port = serve()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        [answer] = _read_answers(conn, 1)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and _body(answer).endswith(" hello world")


def test_a_body_the_application_leaves_unread_is_not_taken_for_the_next_request(serve):
    _, port = serve()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"POST /unread HTTP/1.1\r\nHost: x\r\nContent-Length: 33\r\n\r\n"
                     b"GET /smuggled HTTP/1.1\r\nHost: x\r\n"  # 33 bytes of body, not a request
                     b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        answers = _read_answers(conn, 2)
    assert [_body(a).split(" thread=")[0] for a in answers] == ["POST /unread", "GET /next"]


def test_a_slow_client_holds_neither_the_others_nor_a_request_slot(serve):
    _, port = serve(threads=1)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
        slow.sendall(b"GET /slow HTTP/1.1\r\nHo")  # and nothing more for now
        assert httpx.get(f"http://127.0.0.1:{port}/other").text.startswith("GET /other ")
        slow.sendall(b"st: x\r\n\r\n")
        [answer] = _read_answers(slow, 1)
    assert _body(answer).startswith("GET /slow ")


def test_at_most_threads_requests_run_at_once(serve):
    _, port = serve(threads=2)
    results: list[int] = []

    def call() -> None:
        results.append(httpx.get(f"http://127.0.0.1:{port}/wait", timeout=20).status_code)

    callers = [threading.Thread(target=call) for _ in range(4)]
    for caller in callers:
        caller.start()
    deadline = time.monotonic() + 30
    while len(inside) < 2:
        assert time.monotonic() < deadline, "two requests never got in"
        time.sleep(0.01)
    time.sleep(0.2)  # room for a third to get in, were it let (most_inside below counts one that did)
    assert len(inside) == 2
    gate.set()
    for caller in callers:
        caller.join(20)
    assert results == [200] * 4 and most_inside[0] == 2


def test_connections_beyond_worker_connections_wait_until_one_closes(serve):
    _, port = serve(worker_connections=2, threads=1)  # (gthread keeps none alive unless connections > threads)
    first, second = (socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2))
    for conn in (first, second):
        conn.sendall(b"GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
        _read_answers(conn, 1)  # served, and kept alive
    with socket.create_connection(("127.0.0.1", port), timeout=0.5) as third:  # the kernel's backlog takes it
        third.sendall(b"GET /third HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(TimeoutError):
            third.recv(1)  # not served while two are open
        first.close()
        third.settimeout(10)
        [answer] = _read_answers(third, 1)
    second.close()
    assert _body(answer).startswith("GET /third ")


def test_an_idle_kept_alive_connection_is_closed_after_keepalive(serve):
    _, port = serve(keepalive=1)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
        _read_answers(conn, 1)
        assert conn.recv(1) == b""  # closed by the worker (within keepalive, not the 10 s timeout)


def test_an_oversized_header_is_refused_with_gunicorns_answer(serve):
    _, port = serve(limit_request_field_size=100)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET /x HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200 + b"\r\n\r\n")
        answer = conn.recv(65536)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")


def test_stopping_answers_the_request_in_progress_then_exits(serve):
    worker, port = serve()
    thread = serve.threads[-1]
    answers: list[httpx.Response] = []
    caller = threading.Thread(target=lambda: answers.append(httpx.get(f"http://127.0.0.1:{port}/wait", timeout=20)))
    caller.start()
    deadline = time.monotonic() + 30
    while not inside:
        assert time.monotonic() < deadline, "the request never got in"
        time.sleep(0.01)
    _stop(worker)
    # Its main loop wakes on the byte and closes the listener (after 0.2 s of sleep, a starved worker
    # still had it open: the kernel took the probe's connection and then reset it, not a ConnectError).
    deadline = time.monotonic() + 30
    while any(listener.sock is not None for listener in worker.sockets):
        assert time.monotonic() < deadline, "the worker never closed its listener"
        time.sleep(0.01)
    with pytest.raises(httpx.ConnectError):  # no new connections once stopping
        httpx.get(f"http://127.0.0.1:{port}/late", timeout=2)
    gate.set()
    caller.join(20)
    assert answers[0].status_code == 200
    thread.join(10)  # then the worker ends (its kept-alive connection closed after gthread's linger)
    assert not thread.is_alive()


def test_the_container_command_serves_and_drains_on_sigterm(tmp_path):
    source = tmp_path / "main.py"
    source.write_text("import time\nimport functions_framework\n\n\n@functions_framework.http\n"
                      "def slow(request):\n    if 'mark' in request.args:\n        open(request.args['mark'], 'w').close()\n"
                      "    time.sleep(float(request.args.get('s', '0')))\n    return 'done'\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "THREADS": "2", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "shared.http.server", "--target=slow", f"--source={source}",
                             "--host=127.0.0.1", f"--port={port}"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(url, timeout=2).text == "done"
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
                time.sleep(0.05)
        answers: list[httpx.Response] = []
        mark = tmp_path / "inside"
        caller = threading.Thread(target=lambda: answers.append(httpx.get(url + f"/?s=1&mark={mark}", timeout=20)))
        caller.start()
        deadline = time.monotonic() + 30
        while not mark.exists():  # the request is in the function (a 0.3 s sleep only hoped so)
            assert time.monotonic() < deadline and proc.poll() is None, "the request never reached the function"
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        caller.join(20)
        assert answers and answers[0].status_code == 200 and answers[0].text == "done"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
