"""Store round trips of the hot paths (docs/performance.md): counted with botocore's event hooks
against moto, never timed. Each test also checks the state the calls leave behind."""

from __future__ import annotations

import pytest

from shared.events.envelope import build
from shared.store.clients import client
from shared.store.outages import StoreUnavailable
from shared.store.tables import table_name
from shared.tasks.feed import append_feed, read_feed
from shared.tasks.repository import live, live_name, live_shard, tasks, unmark_live
from tests.conftest import AUTH
from tests.support.store_calls import store_calls

CRON = {"name": "nightly", "type": "ai", "prompt": "p", "schedule": "0 3 * * *"}


def live_entry(name: str):
    return live.get(live_shard("default", name), live_name("default", name))


def feed_streams() -> list[str]:
    """The task feeds' streams that hold records (a test's table is small: a Scan is fine here)."""
    items = client("dynamodb").scan(TableName=table_name("streams"))["Items"]
    return sorted({item["pk"]["S"] for item in items if item["pk"]["S"].startswith("task#")})


@pytest.fixture
def api(function_client):
    return function_client("tasks")


def test_create_writes_the_live_entry_and_the_task_without_reading_first(api, event_sink):
    with store_calls() as calls:
        response = api.post("/api/v1/tasks", json={"name": "job", "type": "ai", "prompt": "p"}, headers=AUTH)
    assert response.status_code == 201
    # the live entry and the created event's feed record (number 1) in one batch, then the task
    assert calls == ["BatchWriteItem", "PutItem"]
    assert live_entry("job").doc == {"namespace": "default", "name": "job"}
    record = tasks.get("default", "job")
    assert record.seq == 1 and record.doc["metadata"]["uid"] == response.get_json()["metadata"]["uid"]
    [(seq, entry)] = read_feed(record)
    assert (seq, entry["event"], entry["data"]) == (1, "task.created", {
        "namespace": "default", "name": "job", "type": "ai", "phase": "Pending"})
    [created] = event_sink.of_type("dev.shoal.task.created")
    assert created.data == entry["data"]  # the feed's record and the event carry the same data
    # the next event takes the task's next number
    assert append_feed(record, "task.started", {"n": 2}) == 2


def test_a_duplicate_create_is_409_and_keeps_the_first_task_and_its_entry(api):
    assert api.post("/api/v1/tasks", json={"name": "job", "type": "ai", "prompt": "first"},
                    headers=AUTH).status_code == 201
    response = api.post("/api/v1/tasks", json={"name": "job", "type": "ai", "prompt": "second"}, headers=AUTH)
    assert response.status_code == 409
    assert response.get_json() == {"error": {"code": 409, "message": "task already exists"}}
    first = tasks.get("default", "job")
    assert first.doc["spec"]["prompt"] == "first"
    assert live_entry("job") is not None
    assert [entry["event"] for _, entry in read_feed(first)] == ["task.created"]
    # the refused create's feed record (its stream named by the uid it would have had) is gone again
    assert feed_streams() == [f"task#default/job#{first.doc['metadata']['uid']}"]


def test_a_create_the_store_fails_leaves_no_live_entry_behind(api, monkeypatch):
    def down(*args, **kwargs):
        raise StoreUnavailable("the store is unavailable")

    monkeypatch.setattr(tasks, "create", down)
    response = api.post("/api/v1/tasks", json={"name": "job", "type": "ai", "prompt": "p"}, headers=AUTH)
    assert response.status_code == 503
    assert live_entry("job") is None
    assert feed_streams() == []  # the created event's record, written before the task, is gone again


def test_get_reads_task_and_plan_in_one_batch(api):
    assert api.post("/api/v1/tasks", json=CRON, headers=AUTH).status_code == 201
    with store_calls() as calls:
        response = api.get("/api/v1/tasks/nightly", headers=AUTH)
    assert response.status_code == 200 and response.get_json()["metadata"]["name"] == "nightly"
    assert calls == ["BatchGetItem"]


def test_get_reads_the_usage_counters_in_the_same_batch_and_shows_them_only_when_counted(api):
    from shared.tasks.repository import plans
    from shared.tasks.usage import add_usage, start_counting

    assert api.post("/api/v1/tasks", json=CRON, headers=AUTH).status_code == 201
    assert api.post("/api/v1/tasks", json={**CRON, "name": "other"}, headers=AUTH).status_code == 201
    plans.create("default", "nightly", {"summary": "step 2", "progressPct": 40, "iteration": 3})
    start_counting("default", "nightly")
    with store_calls() as calls:  # counted, but no model call yet: the counter item does not exist
        response = api.get("/api/v1/tasks/nightly", headers=AUTH)
    assert calls == ["BatchGetItem"]
    assert response.status_code == 200
    assert response.get_json()["status"]["usage"] == {"inputTokens": 0, "outputTokens": 0, "llmCalls": 0}
    add_usage("default", "nightly", input_tokens=7, output_tokens=3)
    add_usage("default", "nightly", input_tokens=1, output_tokens=2)
    add_usage("default", "other", input_tokens=5, output_tokens=5)  # `other` has no usage placeholder
    with store_calls() as calls:
        body = api.get("/api/v1/tasks/nightly", headers=AUTH).get_json()
        other = api.get("/api/v1/tasks/other", headers=AUTH).get_json()
    assert calls == ["BatchGetItem", "BatchGetItem"]  # task, plan and counters: one round trip each
    assert body["status"]["usage"] == {"inputTokens": 8, "outputTokens": 5, "llmCalls": 2}
    assert body["plan"] == {"summary": "step 2", "progressPct": 40, "goalComplete": False, "planDocument": "",
                            "iteration": 3}
    assert "usage" not in other["status"] and "plan" not in other


def test_a_cron_task_is_created_scheduled_and_its_created_event_is_not_for_the_dispatcher(api, event_sink):
    from shared.local.manifests import triggers
    from shared.tasks.dispatch import on_task_created

    with store_calls() as calls:
        response = api.post("/api/v1/tasks", json=CRON, headers=AUTH)
    assert response.status_code == 201
    assert calls == ["BatchWriteItem", "PutItem"]  # as any create
    status = response.get_json()["status"]
    assert status["phase"] == "Scheduled" and status["message"] == f"next run at {status['nextScheduleTime']}"
    assert tasks.get("default", "nightly").doc["status"] == status
    assert live_entry("nightly") is not None  # listed for the scheduler's tick
    [created] = event_sink.of_type("dev.shoal.task.created")
    assert created.extensions["taskphase"] == "Scheduled" and created.data["phase"] == "Scheduled"
    # the broker does not deliver it to the dispatcher; had it, the handler would not even read the task
    attributes = {"type": created.type, **created.extensions}
    assert [t.subscriber for t in triggers() if t.accepts(attributes)] == []
    assert [t.subscriber for t in triggers() if t.accepts({**attributes, "taskphase": "Pending"})] == ["dispatcher"]
    with store_calls() as calls:
        on_task_created(created)
    assert calls == []
    assert tasks.get("default", "nightly").doc["status"] == status


def test_dispatching_a_resumed_cron_task_reads_it_once_and_writes_it_once(api):
    from shared.tasks.dispatch import on_task_created

    assert api.post("/api/v1/tasks", json={**CRON, "suspend": True}, headers=AUTH).status_code == 201
    assert tasks.get("default", "nightly").doc["status"]["phase"] == "Pending"  # suspended: not scheduled
    tasks.update("default", "nightly", lambda doc: doc["spec"].pop("suspend"))
    with store_calls() as calls:  # the scheduler's re-announce of a Pending task (`retried`)
        on_task_created(build("dev.shoal.task.retried", {"namespace": "default", "name": "nightly",
                                                         "phase": "Pending"}))
    assert calls == ["GetItem", "PutItem"]
    status = tasks.get("default", "nightly").doc["status"]
    assert status["phase"] == "Scheduled" and status["nextScheduleTime"]
    assert live_entry("nightly") is not None  # still listed for the scheduler's tick


def test_a_retry_puts_the_task_back_in_the_live_index(api):
    from shared.tasks.lifecycle import transition

    assert api.post("/api/v1/tasks", json={"name": "job", "type": "ai", "prompt": "p"}, headers=AUTH).status_code == 201
    assert transition("default", "job", "Running") is not None
    assert transition("default", "job", "Failed", message="boom") is not None
    unmark_live("default", "job")  # as the tick does for a failed task without a retry
    assert transition("default", "job", "Pending", only_from=frozenset({"Failed"})) is not None
    assert live_entry("job") is not None


@pytest.fixture
def internal(api, function_client):
    assert api.post("/api/v1/tasks", json={"name": "job", "type": "ai", "prompt": "p"}, headers=AUTH).status_code == 201
    return function_client("internal")


def test_a_status_report_reads_the_task_once(internal):
    with store_calls() as calls:
        response = internal.post("/internal/v1/status/default/job", json={"phase": "Running"}, headers=AUTH)
    assert response.status_code == 204
    # the task, its new version (taking the feed's next number under its version check), then the
    # started event's feed record
    assert calls == ["GetItem", "PutItem", "PutItem"]
    assert tasks.get("default", "job").doc["status"]["phase"] == "Running"
    with store_calls() as calls:
        response = internal.post("/internal/v1/status/default/job", json={"phase": "Succeeded"}, headers=AUTH)
    assert response.status_code == 204
    assert calls == ["GetItem", "PutItem", "PutItem", "DeleteItem"]  # and out of the live index
    assert live_entry("job") is None


def test_a_result_reads_the_task_once(internal):
    assert internal.post("/internal/v1/status/default/job", json={"phase": "Running"}, headers=AUTH).status_code == 204
    with store_calls() as calls:
        response = internal.post("/internal/v1/results/default/job", data=b"the output", headers=AUTH)
    assert response.status_code == 204
    assert calls == ["GetItem", "PutItem", "PutItem"]  # task, its new version, the feed's record
    assert tasks.get("default", "job").doc["status"]["resultRef"] == {"available": True, "size": 10}


def test_saving_a_plan_reads_task_and_plan_in_one_batch(internal, api):
    body = {"summary": "one", "progress_pct": 10, "goal_complete": False, "plan_document": "# Plan"}
    with store_calls() as first:
        assert internal.post("/internal/v1/plans/default/job", json=body, headers=AUTH).status_code == 204
    with store_calls() as second:
        assert internal.post("/internal/v1/plans/default/job", json={**body, "summary": "two"},
                             headers=AUTH).status_code == 204
    for calls in (first, second):
        assert calls[:2] == ["BatchGetItem", "PutItem"] and "GetItem" not in calls
    plan = api.get("/api/v1/tasks/job", headers=AUTH).get_json()["plan"]
    assert plan["summary"] == "two" and plan["progressPct"] == 10



def test_the_plan_route_reads_task_and_plan_in_one_batch(internal, api):
    with store_calls() as calls:
        missing = api.get("/api/v1/tasks/job/plan", headers=AUTH)
    assert missing.status_code == 404 and missing.get_json() == {"error": {"code": 404,
                                                                          "message": "no plan found for this task"}}
    assert calls == ["BatchGetItem"]  # was a GetItem of the task, then one of the plan
    body = {"summary": "s", "progress_pct": 40, "goal_complete": False, "plan_document": "# P"}
    assert internal.post("/internal/v1/plans/default/job", json=body, headers=AUTH).status_code == 204
    with store_calls() as calls:
        found = api.get("/api/v1/tasks/job/plan", headers=AUTH)
    assert calls == ["BatchGetItem"]
    assert found.status_code == 200 and found.get_json()["Summary"] == "s" and found.get_json()["ProgressPct"] == 40
    unknown = api.get("/api/v1/tasks/nope/plan", headers=AUTH)
    assert unknown.status_code == 404 and unknown.get_json() == {"error": {"code": 404, "message": "task not found"}}


def test_an_artifact_download_reads_task_and_artifact_in_one_batch(internal, api):
    assert internal.post("/internal/v1/artifacts/default/job/out.txt", data=b"bytes",
                         headers={**AUTH, "Content-Type": "text/plain"}).status_code == 201
    with store_calls() as calls:
        response = api.get("/api/v1/tasks/job/artifacts/out.txt", headers=AUTH)
    assert response.status_code == 200 and response.data == b"bytes"
    assert calls == ["BatchGetItem"]  # was a GetItem of the task, then one of the artifact's record
    assert api.get("/api/v1/tasks/job/artifacts/other.txt", headers=AUTH).get_json() == {
        "error": {"code": 404, "message": "artifact not found"}}
    assert api.get("/api/v1/tasks/nope/artifacts/out.txt", headers=AUTH).get_json() == {
        "error": {"code": 404, "message": "task not found"}}


def test_a_page_of_children_is_read_in_one_batch(api):
    from shared.tasks.repository import child_partition, children
    from shared.tasks.usage import add_usage, start_counting

    assert api.post("/api/v1/tasks", json={"name": "parent", "type": "ai", "prompt": "p"},
                    headers=AUTH).status_code == 201
    for n in range(3):  # as the engine's spawn writes them (a user's labels may not name orka.ai/ keys)
        name = f"child-{n}"
        tasks.create("default", name, {"metadata": {"name": name, "labels": {"orka.ai/parent-task": "parent"}},
                                       "spec": {"type": "ai", "prompt": "p"}, "status": {"phase": "Pending"}})
        children.create(child_partition("default", "parent"), name, {"name": name})
    start_counting("default", "child-1")
    add_usage("default", "child-1", input_tokens=4, output_tokens=2)
    add_usage("default", "child-2", input_tokens=9, output_tokens=9)  # not counted: no placeholder
    with store_calls() as calls:
        response = api.get("/api/v1/tasks/parent/children", headers=AUTH)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [item["metadata"]["name"] for item in items] == ["child-0", "child-1", "child-2"]
    # the index page, then its tasks with their usage counters (was one GetItem per child, then the counters)
    assert calls == ["Query", "BatchGetItem"]
    assert [item["status"].get("usage") for item in items] == [
        None, {"inputTokens": 4, "outputTokens": 2, "llmCalls": 1}, None]


def test_get_together_asks_for_at_most_a_hundred_keys_per_call(api):
    from shared.store.objects import get_together

    for n in range(0, 150, 2):
        tasks.create("default", f"t{n:03d}", {"n": n})
    with store_calls() as calls:
        found = get_together(*((tasks, "default", f"t{n:03d}") for n in range(150)))
    assert calls == ["BatchGetItem", "BatchGetItem"]
    assert [r.doc["n"] if r else None for r in found] == [n if n % 2 == 0 else None for n in range(150)]


def test_cancel_reads_the_task_once(internal, api):
    with store_calls() as calls:
        response = api.post("/api/v1/tasks/job/cancel", json={"reason": "enough"}, headers=AUTH)
    assert response.status_code == 200
    view = response.get_json()
    assert view["status"]["phase"] == "Cancelled" and view["status"]["message"] == "enough"
    assert view["metadata"]["resourceVersion"] == str(tasks.get("default", "job").version)
    # the task, its new version, the finished event's feed record, out of the live index (was a read more)
    assert calls == ["GetItem", "PutItem", "PutItem", "DeleteItem"]
    again = api.post("/api/v1/tasks/job/cancel", json={}, headers=AUTH)
    assert again.status_code == 409 and again.get_json() == {"error": {"code": 409,
                                                                      "message": "task is already Cancelled"}}

# -- chat ---------------------------------------------------------------------------------------------
JSON = {**AUTH, "Accept": "application/json"}
# A turn (mock model, one-line reply) on a session that has one: slot and lock, `status`, the prompt's
# agents and tools, the session and its transcript, `message`, the transcript's two messages (reserve,
# batch), the counters with the turn's event, slot and lock back (the lock keeps the stream's next
# number for the next turn), `done`, the delivered event unparked. Was 26.
SECOND_TURN = ["PutItem", "PutItem", "PutItem", "Query", "Query", "GetItem", "Query", "PutItem", "UpdateItem",
               "BatchWriteItem", "TransactWriteItems", "DeleteItem", "UpdateItem", "PutItem", "DeleteItem"]


def test_a_chat_turn_on_an_existing_session_makes_fifteen_store_calls(function_client):
    from shared.chat.leases import SLOT_NAMESPACE, active_lock, slots
    from shared.chat.stream import stream_id
    from shared.memory.sessions import sessions, transcript_entries
    from shared.store import streams

    chat = function_client("chat")
    with store_calls(skip_thread="chat-keeper") as first:  # the keeper polls on a clock: not counted
        response = chat.post("/api/v1/chat", json={"message": "hi"}, headers=JSON)
    assert response.status_code == 200
    session = response.get_json()["sessionId"]
    # a new session (named here, so its stream starts at 1): no transcript to read, created with its counts
    assert first == ["PutItem", "PutItem", "PutItem", "Query", "Query", "GetItem", "PutItem", "UpdateItem",
                     "BatchWriteItem", "TransactWriteItems", "DeleteItem", "UpdateItem", "PutItem", "DeleteItem"]
    with store_calls(skip_thread="chat-keeper") as second:
        response = chat.post("/api/v1/chat", json={"message": "again", "sessionId": session}, headers=JSON)
    assert response.status_code == 200 and response.get_json()["sessionId"] == session
    assert second == SECOND_TURN
    events = streams.read(stream_id("default", session))
    assert [seq for seq, _ in events] == [1, 2, 3, 4, 5, 6]  # the second turn continues the first's numbers
    assert [record["event"] for _, record in events] == ["status", "message", "done"] * 2
    record = sessions.get("default", session)
    assert (record.doc["messageCount"], record.doc["turns"], record.version) == (4, 2, 2)
    entries = transcript_entries(record)
    assert [(e["order"], e["role"], e["content"][:5]) for e in entries] == [
        (1, "user", "hi"), (2, "assistant", "Hello"), (3, "user", "again"), (4, "assistant", "Hello")]
    assert active_lock("default", session) is None
    assert slots.list_page(SLOT_NAMESPACE, limit=None)[0] == []


def test_a_worker_transcript_append_reads_the_session_once_and_writes_its_messages_in_one_batch(internal):
    body = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"},
                         {"role": "user", "content": "q2"}], "taskName": "job"}
    with store_calls() as created:
        assert internal.post("/internal/v1/sessions/default/s1/transcript", json=body, headers=AUTH).status_code == 204
    with store_calls() as appended:
        assert internal.post("/internal/v1/sessions/default/s1/transcript", json=body, headers=AUTH).status_code == 204
    # read the session, reserve three numbers, write the three messages, create it with its counts; an
    # existing one the same, counted on (were 10 and 9 calls: two per message, the session read twice)
    assert created == appended == ["GetItem", "UpdateItem", "BatchWriteItem", "PutItem"]
    text = internal.get("/internal/v1/sessions/default/s1/transcript", headers=AUTH)
    assert text.status_code == 200
    assert [line.split('"order":')[1].split(",")[0] for line in text.get_data(as_text=True).splitlines()] == \
        ["1", "2", "3", "4", "5", "6"]


def test_a_chat_turn_whose_handoff_is_gone_reads_the_streams_last_number(function_client):
    from shared.chat.leases import locks
    from shared.chat.stream import stream_id
    from shared.store import streams

    chat = function_client("chat")
    session = chat.post("/api/v1/chat", json={"message": "hi"}, headers=JSON).get_json()["sessionId"]
    assert locks.delete("default", session)  # the released lock's item is gone (e.g. DynamoDB's TTL took it)
    with store_calls(skip_thread="chat-keeper") as calls:
        assert chat.post("/api/v1/chat", json={"message": "again", "sessionId": session},
                         headers=JSON).status_code == 200
    assert calls[:4] == ["PutItem", "PutItem", "Query", "PutItem"]  # slot, lock, the last number, `status`
    assert len(calls) == len(SECOND_TURN) + 1
    assert [seq for seq, _ in streams.read(stream_id("default", session))] == [1, 2, 3, 4, 5, 6]
