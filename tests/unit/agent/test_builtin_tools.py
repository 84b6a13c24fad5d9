"""The worker's built-in tools: confinement, the code sandbox, the SSRF guard, search without a backend."""

from __future__ import annotations

import os

import pytest

from shared.agent.builtin import BUILTIN_NAMES, builtin_tools


@pytest.fixture
def tools(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    return root, {t.spec.name: t.run for t in builtin_tools(root)}


def test_every_builtin_is_there_in_orkas_order(tmp_path):
    assert [t.spec.name for t in builtin_tools(tmp_path)] == list(BUILTIN_NAMES)
    assert [t.spec.name for t in builtin_tools(tmp_path, ["file_read", "nope"])] == ["file_read"]


# -- files -----------------------------------------------------------------------------------------
def test_file_write_then_read_with_offset_limit_and_append(tools):
    root, run = tools
    assert run["file_write"]({"path": "notes/a.txt", "content": "hello"})["errorType"] == "not_found"
    written = run["file_write"]({"path": "notes/a.txt", "content": "hello", "create_dirs": True})
    assert written == {"success": True, "data": {"path": "notes/a.txt", "bytesWritten": 5, "mode": "write"}}
    run["file_write"]({"path": "notes/a.txt", "content": " world", "mode": "append"})
    assert (root / "notes" / "a.txt").read_text() == "hello world"
    read = run["file_read"]({"path": "notes/a.txt", "offset": 6, "limit": 3})
    assert read["data"] == {"path": "notes/a.txt", "content": "wor", "size": 11, "offset": 6, "truncated": True}
    assert run["file_read"]({"path": "missing"})["errorType"] == "not_found"


@pytest.mark.parametrize("path", ["../outside.txt", "/etc/passwd", "a/../../x", "link/secret", "escape"])
def test_traversal_and_symlink_escapes_are_refused(tools, tmp_path, path):
    root, run = tools
    (tmp_path / "secret").write_text("s3cret")
    (tmp_path / "outside.txt").write_text("x")
    os.symlink(tmp_path, root / "link")
    os.symlink(tmp_path / "secret", root / "escape")
    read = run["file_read"]({"path": path})
    assert read["success"] is False and read["errorType"] == "permission_denied"
    write = run["file_write"]({"path": path, "content": "pwned", "create_dirs": True})
    assert write["success"] is False and write["errorType"] == "permission_denied"
    assert (tmp_path / "secret").read_text() == "s3cret"


def test_a_symlink_inside_the_workspace_is_followed(tools):
    root, run = tools
    (root / "real.txt").write_text("inside")
    os.symlink(root / "real.txt", root / "alias.txt")
    assert run["file_read"]({"path": "alias.txt"})["data"]["content"] == "inside"


# -- code_exec ---------------------------------------------------------------------------------------
def test_python_runs_in_an_empty_directory_with_a_scrubbed_environment(tools, monkeypatch):
    _, run = tools
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "leak-me")
    code = "import os, sys\nprint(sorted(os.listdir('.')))\nprint(sorted(os.environ))\nsys.stderr.write('warn')"
    result = run["code_exec"]({"language": "python", "code": code})["data"]
    assert result["exitCode"] == 0 and result["timedOut"] is False
    files, env = result["stdout"].splitlines()
    assert files == "['main.py']"
    assert "AWS_SECRET_ACCESS_KEY" not in env and "leak-me" not in result["stdout"]
    assert result["stderr"] == "warn"


def test_bash_runs_and_exit_codes_come_back(tools):
    _, run = tools
    result = run["code_exec"]({"language": "bash", "code": "echo hi; exit 3"})["data"]
    assert result["stdout"] == "hi\n" and result["exitCode"] == 3


def test_timeouts_kill_the_process_group_and_output_is_capped(tools):
    _, run = tools
    slow = run["code_exec"]({"language": "bash", "code": "sleep 30 & sleep 30", "timeout": 1})["data"]
    assert slow["timedOut"] is True and slow["exitCode"] != 0
    loud = run["code_exec"]({"language": "python", "code": "print('x' * 200000)"})["data"]
    assert len(loud["stdout"]) == 64 * 1024 and loud["truncated"] is True


def test_resource_limits_apply(tools):
    _, run = tools
    memory = run["code_exec"]({"language": "python", "code": "b = bytearray(1024 * 1024 * 1024)"})["data"]
    assert memory["exitCode"] != 0 and "MemoryError" in memory["stderr"]
    big = run["code_exec"]({"language": "python", "code": "open('f', 'wb').write(b'x' * (32 * 1024 * 1024))"})
    assert big["data"]["exitCode"] != 0


@pytest.mark.parametrize("args,message", [
    ({"language": "cobol", "code": "x"}, "language must be one of python, javascript, bash"),
    ({"language": "python"}, "code is required"),
    ({"language": "python", "code": "1", "timeout": "soon"}, "timeout must be a number of seconds")])
def test_code_exec_bad_arguments(tools, args, message):
    _, run = tools
    assert run["code_exec"](args) == {"success": False, "error": message, "errorType": "invalid_arguments"}


# -- web -------------------------------------------------------------------------------------------
def test_web_search_without_a_backend_says_so(tools):
    _, run = tools
    result = run["web_search"]({"query": "kubernetes"})
    assert result["success"] is False
    assert result["error"] == "web_search has no search backend configured on this platform"
    assert "SHOAL_WEB_SEARCH_BACKEND" in result["suggestion"]


def test_web_search_uses_a_plugged_backend(tools, monkeypatch):
    from shared.agent.builtin import web
    from shared.config import reset_settings

    monkeypatch.setitem(web.BACKENDS, "fake", lambda q, n: [{"title": q, "url": "https://x", "content": str(n)}])
    monkeypatch.setenv("SHOAL_WEB_SEARCH_BACKEND", "fake")
    reset_settings()
    _, run = tools
    assert run["web_search"]({"query": "q", "limit": 2}) == {
        "success": True, "data": {"query": "q", "results": [{"title": "q", "url": "https://x", "content": "2"}]}}


def test_web_fetch_refuses_internal_addresses(tools, httpserver):
    _, run = tools
    httpserver.expect_request("/page").respond_with_data("secret")
    for url in (httpserver.url_for("/page"), "http://169.254.169.254/latest/meta-data", "file:///etc/passwd"):
        result = run["web_fetch"]({"url": url})
        assert result["success"] is False and result["errorType"] == "permission_denied"
        assert result["error"].startswith("refused: ")
    assert not httpserver.log


def test_web_fetch_extracts_text_caps_and_refuses_redirects_inward(tools, httpserver, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "localhost")  # the host name only, not 127.0.0.1 itself
    reset_settings()
    html = "<html><head><style>x{}</style><script>evil()</script></head><body><h1>Title</h1><p>Hello world</p></body></html>"
    httpserver.expect_request("/page").respond_with_data(html, content_type="text/html")
    url = f"http://localhost:{httpserver.port}/page"
    _, run = tools
    result = run["web_fetch"]({"url": url})["data"]
    assert result["content"] == "Title\nHello world" and result["status"] == 200 and result["truncated"] is False
    assert run["web_fetch"]({"url": url, "raw": True})["data"]["content"] == html
    assert run["web_fetch"]({"url": url, "max_chars": 5})["data"] == {**result, "content": "Title", "truncated": True}
    httpserver.expect_request("/hop").respond_with_data("", status=302,
                                                        headers={"Location": f"http://127.0.0.1:{httpserver.port}/page"})
    hop = run["web_fetch"]({"url": f"http://localhost:{httpserver.port}/hop"})
    assert hop["success"] is False and hop["errorType"] == "permission_denied"
