"""The CLI's parts that need no server: error dialects, SSE parsing, the config file, output, colour."""

from __future__ import annotations

import httpx
from click.testing import CliRunner

from shared.apiclient import error_message, iter_sse
from shoal_cli.app import cli


def test_error_message_reads_every_dialect():
    orka = httpx.Response(404, json={"error": {"code": 404, "message": "task not found"}})
    labrats = httpx.Response(400, json={"error": "source is required"})
    problem = httpx.Response(409, json={"type": "about:blank", "title": "Conflict", "detail": "session-not-completed"})
    text = httpx.Response(502, text="bad gateway\n")
    assert [error_message(r) for r in (orka, labrats, problem, text)] == [
        "task not found", "source is required", "session-not-completed", "bad gateway"]


def test_iter_sse_parses_frames_and_skips_heartbeats():
    lines = ["id: 1", "event: message", 'data: {"content":"a"}', "", ": heartbeat", "",
             "data: line one", "data: line two", "", "data: tail"]
    events = list(iter_sse(iter(lines)))
    assert [(e.event, e.id, e.data) for e in events] == [
        ("message", "1", '{"content":"a"}'), ("message", None, "line one\nline two"), ("message", None, "tail")]
    assert events[0].json() == {"content": "a"}


def test_xdg_config_home_is_honoured_and_a_broken_file_is_a_usage_error(tmp_path):
    runner = CliRunner()
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    saved = runner.invoke(cli, ["config", "set-context", "dev", "--server", "http://127.0.0.1:8080", "-n", "team-a"],
                          env=env)
    assert (saved.exit_code, saved.stdout) == (0, 'Context "dev" modified.\n')
    assert (tmp_path / "shoal" / "config.yaml").read_text() == (
        "current-context: null\ncontexts:\n  dev:\n    server: http://127.0.0.1:8080\n    namespace: team-a\n")
    listed = runner.invoke(cli, ["config", "get-contexts", "-o", "name"], env=env)
    assert listed.stdout == "dev\n"
    no_current = runner.invoke(cli, ["whoami"], env=env)
    assert no_current.exit_code == 2 and no_current.stderr.startswith("error: no context: run `shoal login")
    (tmp_path / "shoal" / "config.yaml").write_text("contexts: [not, a, mapping]\n")
    broken = runner.invoke(cli, ["config", "get-contexts"], env=env)
    assert (broken.exit_code, broken.stderr) == (
        2, f"error: {tmp_path / 'shoal' / 'config.yaml'}: expected a mapping with 'contexts'\n")


def test_version_client_only_and_usage_errors_exit_2():
    runner = CliRunner()
    assert runner.invoke(cli, ["version", "--client"]).stdout == "Client Version: 0.1.0\n"
    assert runner.invoke(cli, ["tasks", "nope"]).exit_code == 2
    assert runner.invoke(cli, ["--output", "xml", "version"]).exit_code == 2


def test_no_function_imports_the_cli():
    """The CLI's libraries (Click groups, Rich) stay out of the functions' cold start."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [str(p.relative_to(root)) for folder in ("shared", "functions") for p in (root / folder).rglob("*.py")
                 if "shoal_cli" in p.read_text()]
    assert offenders == []


def test_shoal_log_records_read_as_log_lines_and_other_lines_stay_as_written():
    from datetime import datetime

    from shoal_cli.output import log_line

    local = datetime.fromtimestamp(1765108800).strftime("%H:%M:%S")  # the reader's local time
    late = datetime.fromtimestamp(1765108801).strftime("%H:%M:%S")
    record = '{"ts": 1765108800.25, "level": "info", "logger": "shoal.worker", "msg": "turn done", ' \
             '"task": "t1", "tokens": 12, "note": "two words"}'
    failed = '{"ts": 1765108801, "level": "error", "logger": "shoal.worker", "msg": "boom", "traceback": "Trace\\nX"}'
    assert log_line(record) == f'{local} info  turn done  task=t1 tokens=12 note="two words"'
    assert log_line(failed) == f"{late} error boom\nTrace\nX"
    for other in ("plain agent output", '{"ts": "not a time", "level": "x", "logger": "y", "msg": "z"}',
                  '{"ts": 1, "level": "info"}', '{"ts" broken', '{"answer": 42}', ""):
        assert log_line(other) == other
