"""`shoal chat` against the chat function when a turn fails: the SSE `error` event is
`{"sessionId", "error": {"code", "message"}}` (the Orka chat spec's shape), so the CLI must read the
nested object (it printed "error: None (None)"), and a failed turn exits 1 with `-m` and piped alike.
The CLI runs in-process (Click's runner); the model is the real OpenAI SDK against the scripted wire
server, answering 400."""

from __future__ import annotations

from click.testing import CliRunner

from shoal_cli.app import cli
from tests.conftest import DEV_TOKEN

FAILURE = {"error": {"status": 400, "type": "invalid_request_error", "message": "bad things"}}


def shoal(url: str, tmp_path, *args: str, stdin: str | None = None):
    return CliRunner().invoke(cli, ["--server", url, "--token", DEV_TOKEN, *args], input=stdin,
                              env={"XDG_CONFIG_HOME": str(tmp_path), "NO_COLOR": "1"}, catch_exceptions=False)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_a_failed_turn_names_the_providers_error_and_exits_1(llm, chat, tmp_path):
    llm.script = [FAILURE] * 4
    one = shoal(chat.url, tmp_path, "chat", "-m", "hi")
    assert one.exit_code == 1
    [line] = error_lines(one.stderr)
    assert line.endswith(" (provider_error)") and "bad things" in line and "None" not in line

    piped = shoal(chat.url, tmp_path, "chat", stdin="hi\n")
    assert piped.exit_code == 1
    [line] = error_lines(piped.stderr)
    assert line.endswith(" (provider_error)") and "bad things" in line


def test_piped_input_stops_at_exit_and_succeeds_when_the_turns_do(llm, chat, tmp_path):
    llm.script = [{"text": "first answer"}, {"text": "never asked"}]
    piped = shoal(chat.url, tmp_path, "chat", stdin="hello\n/exit\nnot sent\n")
    assert (piped.exit_code, piped.stdout) == (0, "first answer\n"), piped.stderr
    assert len(llm.requests) == 1
