"""`shoal --server URL …` overrides the server for one command, as kubectl's flag does: the chosen (or
current) context's credential goes with it. It went with none, so `shoal --server http://127.0.0.1:8080
tasks list` after a `shoal login` answered 401 "missing authorization header". The CLI runs in-process
(Click's runner) against every function's real routes on a loopback port (moto in-process)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from shoal_cli.app import cli
from tests.conftest import DEV_TOKEN
from tests.support.gateway import gateway_app
from tests.support.servers import BackgroundServer


@pytest.fixture
def api(aws, event_sink):
    with BackgroundServer(gateway_app(exclude=("console",))) as server:
        yield server.url


def shoal(tmp_path, *args: str):
    return CliRunner().invoke(cli, list(args), env={"XDG_CONFIG_HOME": str(tmp_path), "NO_COLOR": "1"},
                              catch_exceptions=False)


def test_server_flag_keeps_the_contexts_credential(api, tmp_path):
    alone = shoal(tmp_path, "--server", api, "whoami")  # no config at all: no credential to send
    assert (alone.exit_code, alone.stderr) == (1, "error: missing authorization header (HTTP 401)\n")

    login = shoal(tmp_path, "login", "--context", "local", "--server", "http://127.0.0.1:9", "--token", DEV_TOKEN,
                  "--no-verify")
    assert login.exit_code == 0, login.stderr
    current = shoal(tmp_path, "--server", api, "whoami", "-o", "json")
    assert current.exit_code == 0, current.stderr
    assert '"subject": "dev"' in current.stdout
    named = shoal(tmp_path, "--context", "local", "--server", api, "tasks", "list", "-o", "name")
    assert (named.exit_code, named.stdout, named.stderr) == (0, "", "")  # -o name: nothing for no tasks
    overridden = shoal(tmp_path, "--server", api, "--token", "forged", "whoami")
    assert (overridden.exit_code, overridden.stderr) == (1, "error: invalid token (HTTP 401)\n")
    unknown = shoal(tmp_path, "--context", "nope", "--server", api, "whoami")
    assert unknown.exit_code == 2 and "context 'nope' not found" in unknown.stderr
