"""Where `make run` keeps what must survive a restart: SHOAL_STATE_DIR (default `.shoal/`).

The tables and bucket live in moto's server; moto's recorder appends every state-changing request to
`moto-recording.jsonl` here before applying it, and the next start replays the recording into a fresh
moto (docs/local-platform.md says why this mechanism). The dev token is kept beside it. One platform
at a time owns the directory (an exclusive lock, released by the kernel however the platform ends).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from shared.errors import ShoalError

RECORDING = "moto-recording.jsonl"
TOKEN = "dev-token"
LOCK = "lock"


@dataclass
class StateDir:
    path: Path
    _lock: IO | None = field(default=None, repr=False)

    @property
    def recording(self) -> Path:
        return self.path / RECORDING

    def claim(self) -> None:
        """Create the directory and take its lock; a second platform on it stops with one line."""
        self.path.mkdir(parents=True, exist_ok=True)
        handle = open(self.path / LOCK, "a")  # noqa: SIM115 - held for the platform's life
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise ShoalError(f"another `make run` is using the state in {self.path}; stop it, "
                             "or set SHOAL_STATE_DIR to another directory") from None
        self._lock = handle

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def dev_token(self) -> str:
        """The token kept here (made on first use, readable by this user only)."""
        path = self.path / TOKEN
        with contextlib.suppress(FileNotFoundError):
            token = path.read_text().strip()
            if token:
                return token
        token = secrets.token_urlsafe(24)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        return token

    def moto_env(self) -> dict[str, str]:
        """moto's recorder settings: record every state-changing request into this directory."""
        return {"MOTO_ENABLE_RECORDING": "true", "MOTO_RECORDER_FILEPATH": str(self.recording)}

    def replay(self, moto_url: str) -> tuple[int, float]:
        """Replay the recording into a fresh moto: (requests replayed, seconds taken)."""
        count = self._repair()
        if not count:
            return 0, 0.0
        started = time.monotonic()
        response = httpx.post(moto_url + "/moto-api/recorder/replay-recording", timeout=None)
        if response.status_code != 200:
            raise ShoalError(f"replaying the state in {self.recording} failed ({response.status_code}); "
                             "`make reset` wipes it")
        return count, time.monotonic() - started

    def _repair(self) -> int:
        """Drop a last line cut short by a crash mid-append (moto appends one JSON line per request);
        the number of complete requests recorded."""
        try:
            data = self.recording.read_bytes()
        except FileNotFoundError:
            return 0
        lines = data.split(b"\n")
        complete = lines[:-1]  # whatever follows the last newline was never finished
        if complete:
            try:
                json.loads(complete[-1])
            except ValueError:
                complete = complete[:-1]
        kept = b"".join(line + b"\n" for line in complete)
        if kept != data:
            self.recording.write_bytes(kept)
        return len(complete)


def state_dir() -> StateDir:
    from shared.config import get_settings

    return StateDir(Path(get_settings().state_dir).resolve())
