"""Functions are served on a socket the parent bound first: the port is never free to be taken."""

from __future__ import annotations

import os
import socket
import subprocess

import httpx
import pytest

from shared.local.platform import wait_http
from shared.local.serve import main, spawn_function, spawn_moto


def _env() -> dict[str, str]:
    return {**os.environ, "SHOAL_PLATFORM": "local", "SHOAL_DEV_TOKEN": "t", "WORKERS": "1", "THREADS": "2"}


def test_a_function_serves_the_socket_it_was_handed_and_the_port_is_never_free():
    proc, url = spawn_function("chat", _env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = int(url.rsplit(":", 1)[1])
    try:
        with socket.socket() as rival, pytest.raises(OSError):  # from spawn on, nobody else can bind it
            rival.bind(("127.0.0.1", port))
        wait_http(url + "/healthz", process=proc)
        assert httpx.get(url + "/healthz").json() == {"status": "ok"}
        assert f"--port {port}" in " ".join(proc.args)  # visible in ps, though the socket is what serves
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    with pytest.raises(httpx.ConnectError):  # the parent kept no copy: a dead function refuses
        httpx.get(url + "/healthz", timeout=2)


def test_moto_serves_the_handed_socket_too():
    proc, url = spawn_moto(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(url + "/moto-api/", process=proc)
        assert httpx.get(url + "/moto-api/").status_code == 200
        # kept alive (docs/performance.md): two requests, two answers, one connection
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as conn:
            conn.sendall(b"GET /moto-api/ HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
            answers = b""
            while answers.count(b"HTTP/1.1 200 OK") < 2 and (chunk := conn.recv(1 << 20)):
                answers += chunk
        assert answers.count(b"HTTP/1.1 200 OK\r\n") == 2 and b"Connection: close" not in answers
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_launcher_refuses_to_start_without_a_socket(monkeypatch):
    monkeypatch.delenv("SHOAL_LISTEN_FD", raising=False)
    with pytest.raises(SystemExit, match="SHOAL_LISTEN_FD is not set"):
        main(["--target", "chat"])
