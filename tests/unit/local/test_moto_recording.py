"""moto's recorder as make run uses it: writes recorded (reads not), replayed into a fresh moto."""

from __future__ import annotations

import gc
import json
import os
import subprocess

import boto3

from shared.local.moto_atomic import is_write
from shared.local.platform import wait_http
from shared.local.serve import spawn_moto
from shared.local.state import StateDir


def test_only_state_changing_requests_count_as_writes():
    assert is_write("POST", "/", "DynamoDB_20120810.PutItem") and is_write("POST", "/", "DynamoDB_20120810.CreateTable")
    assert not is_write("POST", "/", "DynamoDB_20120810.Query") and not is_write("GET", "/bucket/key", None)
    assert is_write("PUT", "/bucket/key", None) and is_write("DELETE", "/bucket/key", None)
    assert not is_write("POST", "/moto-api/recorder/replay-recording", None)  # never under the write lock


def _moto(state: StateDir):
    proc, url = spawn_moto({**os.environ, **state.moto_env()}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(url + "/moto-api/", process=proc)
    return proc, boto3.client("dynamodb", endpoint_url=url), boto3.client("s3", endpoint_url=url), url


# The credentials and region the platform gives its processes (platform._state_env); moto takes any.
CLIENT_ENV = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"}


def _no_aws_environment(monkeypatch, tmp_path) -> None:
    """A new user's shell: no AWS_* variables, no ~/.aws, and no boto3 session of earlier calls."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def test_a_replay_rebuilds_tables_items_and_objects_and_a_compaction_keeps_them(tmp_path, monkeypatch):
    state = StateDir(tmp_path)
    proc, ddb, s3, _ = _moto(state)
    try:
        ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        ddb.put_item(TableName="t", Item={"pk": {"S": "a"}, "v": {"N": "1"}})
        ddb.transact_write_items(TransactItems=[{"Update": {
            "TableName": "t", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "SET v = v + :one",
            "ConditionExpression": "v = :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}}])
        s3.create_bucket(Bucket="bkt")
        s3.put_object(Bucket="bkt", Key="dir/a b.txt", Body=b"kept")
        for _ in range(3):
            ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})
        for i in range(30):  # an idle platform's churn: the same few items written again and again
            ddb.put_item(TableName="t", Item={"pk": {"S": "tick"}, "n": {"N": str(i)}})
    finally:
        proc.kill()
        proc.wait()
    targets = [json.loads(line)["headers"].get("X-Amz-Target", "S3") for line in state.recording.read_text().splitlines()]
    assert [t.rsplit(".", 1)[-1] for t in targets][:5] == ["CreateTable", "PutItem", "TransactWriteItems", "S3", "S3"]
    assert len(targets) == 35

    proc, ddb, s3, url = _moto(state)
    try:
        assert state.replay(url)[0] == 35
        _assert_state(ddb, s3)
        # compaction: the table, one batch of its items, the bucket, its object; the live moto goes on.
        # It runs in make run's own process, whose environment may have no AWS_* (it raised NoRegionError
        # there once the recording passed 1 500 writes, and so did every start after).
        with monkeypatch.context() as bare:
            _no_aws_environment(bare, tmp_path)
            assert state.compact(url, CLIENT_ENV) == 4
        ddb.put_item(TableName="t", Item={"pk": {"S": "after"}})
    finally:
        proc.kill()
        proc.wait()
    proc, ddb, s3, url = _moto(state)
    try:
        assert state.replay(url)[0] == 5
        _assert_state(ddb, s3)
        assert "Item" in ddb.get_item(TableName="t", Key={"pk": {"S": "after"}})
    finally:
        proc.kill()
        proc.wait()


def _assert_state(ddb, s3) -> None:
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}, "v": {"N": "2"}}
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "tick"}})["Item"] == {"pk": {"S": "tick"}, "n": {"N": "29"}}
    assert s3.get_object(Bucket="bkt", Key="dir/a b.txt")["Body"].read() == b"kept"


def test_a_replay_sends_the_recording_in_order_over_one_connection(tmp_path, monkeypatch):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from moto.moto_api._internal.recorder.models import Recorder

    from shared.local.moto_replay import replay_over_one_connection

    seen: list[tuple[int, str, bytes]] = []
    connections: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keeps the connection open, as shared.local.wsgi_server does

        def setup(self) -> None:
            super().setup()
            connections.append(id(self))

        def do_POST(self) -> None:
            seen.append((id(self), self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    recording = tmp_path / "recording.jsonl"
    recording.write_text("".join(json.dumps({"method": "POST", "url": f"http://old-host:1/w{n}", "body": f"write {n}",
                                             "headers": {"Content-Length": str(len(f"write {n}"))}}) + "\n"
                                 for n in range(12)))
    monkeypatch.setenv("MOTO_RECORDER_FILEPATH", str(recording))
    frozen: list[int] = []  # gc.freeze itself would freeze this test process's heap for the tests after it
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(len(seen)))
    replay_over_one_connection()
    try:
        Recorder().replay_recording(target_host=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
    assert [(path, body) for _, path, body in seen] == [(f"/w{n}", f"write {n}".encode()) for n in range(12)]
    assert len(connections) == 1 and {handler for handler, _, _ in seen} == set(connections)
    assert frozen == [12]  # once, after the last write: the replayed state leaves the collector's generations
