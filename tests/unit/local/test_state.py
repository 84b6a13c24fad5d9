"""The state directory of make run: one owner at a time, a kept dev token, a recording cut short by a crash."""

from __future__ import annotations

import json
import stat

import pytest

from shared.errors import ShoalError
from shared.local.state import StateDir


def test_one_platform_owns_a_state_directory_at_a_time(tmp_path):
    first, second = StateDir(tmp_path / "s"), StateDir(tmp_path / "s")
    first.claim()
    with pytest.raises(ShoalError) as refused:
        second.claim()
    assert refused.value.message == (f"another `make run` is using the state in {tmp_path / 's'}; stop it, "
                                     "or set SHOAL_STATE_DIR to another directory")
    first.release()
    second.claim()
    second.release()


def test_the_dev_token_is_made_once_and_readable_by_its_owner_only(tmp_path):
    state = StateDir(tmp_path)
    token = state.dev_token()
    assert len(token) == 32 and state.dev_token() == token == StateDir(tmp_path).dev_token()
    assert stat.S_IMODE((tmp_path / "dev-token").stat().st_mode) == 0o600


def test_a_line_cut_short_by_a_crash_is_dropped_before_replay(tmp_path):
    state = StateDir(tmp_path)
    whole = json.dumps({"method": "PUT", "url": "http://x/b/k", "headers": {}, "body": ""}) + "\n"
    state.recording.write_text(whole * 2 + '{"method": "PU')
    assert state._repair() == 2 and state.recording.read_text() == whole * 2
    state.recording.write_text(whole + "{not json}\n")
    assert state._repair() == 1 and state.recording.read_text() == whole
    assert StateDir(tmp_path / "none")._repair() == 0
