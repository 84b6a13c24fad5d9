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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from shared.config import get_settings
from shared.errors import ShoalError
from shared.local.serve import spawn_moto, wait_http

RECORDING = "moto-recording.jsonl"
# A recording longer than this is compacted at start: replay costs milliseconds per write (3–12 ms
# measured with load before transactions stopped copying the table and the replay kept its connection;
# about 2–2.5 ms since, docs/performance.md), and an idle platform records a couple of writes per
# scheduler tick, so a restart after a working day would spend many seconds replaying. Compacting costs
# about a second and a second moto.
COMPACT_AFTER = 1500
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
        self.path.mkdir(parents=True, exist_ok=True)  # with an external backend, nothing else made it
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

    def compact(self, moto_url: str, client_env: Mapping[str, str]) -> int:
        """Rewrite the recording as the few writes that rebuild the current state; the writes recorded.

        A second moto records into `<recording>.new` while every table (with its indexes and TTL),
        item, bucket and object of the live moto is written into it; then the new recording replaces
        the old with one rename (a crash before it leaves the old one whole). The live moto keeps
        appending to the path, so to the new file from then on. `client_env` holds the credentials and
        region the platform gives its processes (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION).
        """
        import subprocess

        fresh = self.path / (RECORDING + ".new")
        fresh.unlink(missing_ok=True)
        env = {**os.environ, "MOTO_ENABLE_RECORDING": "true", "MOTO_RECORDER_FILEPATH": str(fresh)}
        proc, url = spawn_moto(env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(url + "/moto-api/", process=proc)
            _copy(moto_url, url, client_env)
        finally:
            proc.kill()
            proc.wait()
        count = self._repair(fresh)
        os.replace(fresh, self.recording)
        return count

    def _repair(self, path: Path | None = None) -> int:
        """Drop a last line cut short by a crash mid-append (moto appends one JSON line per request);
        the number of complete requests recorded."""
        path = path or self.recording
        try:
            data = path.read_bytes()
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
            path.write_bytes(kept)
        return len(complete)


def state_dir() -> StateDir:
    return StateDir(Path(get_settings().state_dir).resolve())


def _copy(source: str, target: str, client_env: Mapping[str, str]) -> None:
    """Every table, item, bucket and object of one moto into another (the startup's compaction)."""
    import boto3

    # The platform's credentials and region, not this process's environment: a new user's shell has no
    # AWS_* at all (boto3's own lookup failed with NoRegionError, and every start after that failed the
    # same way), and moto keeps each region's tables apart.
    session = boto3.session.Session(aws_access_key_id=client_env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=client_env["AWS_SECRET_ACCESS_KEY"],
                                    region_name=client_env["AWS_DEFAULT_REGION"])
    src_db, dst_db = (session.client("dynamodb", endpoint_url=u) for u in (source, target))
    for name in src_db.list_tables()["TableNames"]:
        table = src_db.describe_table(TableName=name)["Table"]
        request: dict = {"TableName": name, "KeySchema": table["KeySchema"], "BillingMode": "PAY_PER_REQUEST",
                         "AttributeDefinitions": table["AttributeDefinitions"]}
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if table.get(key):
                request[key] = [{"IndexName": i["IndexName"], "KeySchema": i["KeySchema"],
                                 "Projection": i["Projection"]} for i in table[key]]
        dst_db.create_table(**request)
        ttl = src_db.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        if ttl.get("TimeToLiveStatus") == "ENABLED":
            dst_db.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": ttl["AttributeName"]})
        for page in src_db.get_paginator("scan").paginate(TableName=name):
            items = page.get("Items", [])
            for start in range(0, len(items), 25):
                dst_db.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": item}}
                                                             for item in items[start:start + 25]]})
    src_s3, dst_s3 = (session.client("s3", endpoint_url=u) for u in (source, target))
    for bucket in src_s3.list_buckets().get("Buckets", []):
        dst_s3.create_bucket(Bucket=bucket["Name"])
        for page in src_s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for obj in page.get("Contents", []):
                got = src_s3.get_object(Bucket=bucket["Name"], Key=obj["Key"])
                dst_s3.put_object(Bucket=bucket["Name"], Key=obj["Key"], Body=got["Body"].read(),
                                  ContentType=got.get("ContentType", "binary/octet-stream"),
                                  Metadata=got.get("Metadata", {}))
