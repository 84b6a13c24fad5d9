"""A platform killed with `kill -9` leaves its Unix sockets' directory behind; the next platform removes
it, and only it (never a live platform's, never another user's)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from shared.local.platform import SOCKETS_PREFIX, remove_orphaned_socket_dirs


def test_a_dead_platforms_socket_dir_is_removed_and_a_live_ones_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead = tmp_path / f"{SOCKETS_PREFIX}{gone.stdout.strip()}-abc"
    live = tmp_path / f"{SOCKETS_PREFIX}{os.getpid()}-def"
    unrelated = tmp_path / f"{SOCKETS_PREFIX}notapid"
    for folder in (dead, live, unrelated):
        folder.mkdir()
        (folder / "tasks.sock").write_text("")
    remove_orphaned_socket_dirs()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, unrelated.name])
