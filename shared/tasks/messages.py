"""Inter-task messages between siblings (tasks sharing a parent coordinator).

Messages of one parent form one ordered stream (`msg#<namespace>/<parent>`); the stream's sequence
number is the message id. Read state is kept **per recipient** (Orka keeps one shared flag per
message, so the first sibling to read a broadcast hid it from the others): a record per
(parent, recipient) holds `through`, a sequence up to which every message is settled for that
recipient, and `read`, the ids above it that it has read. `through` only advances over a
contiguous run of stored sequences, so a message whose append is still in flight (its sequence
reserved, its item not yet written) can never be skipped.
"""

from __future__ import annotations

import contextlib
from typing import Any

from shared.clock import now_rfc3339
from shared.store import AlreadyExists, ObjectStore, streams

BROADCAST = "*"
read_state = ObjectStore("task-msg-read")
PAGE = 100


def _stream(namespace: str, parent: str) -> str:
    return f"msg#{namespace}/{parent}"


def _state_partition(namespace: str, parent: str) -> str:
    return f"{namespace}/{parent}"


def send(namespace: str, from_task: str, to_task: str, parent: str, content: str) -> int:
    return streams.append(_stream(namespace, parent), {"fromTask": from_task, "toTask": to_task,
                                                       "content": content, "createdAt": now_rfc3339()})


def _records_after(namespace: str, parent: str, after: int) -> list[tuple[int, dict[str, Any]]]:
    found: list[tuple[int, dict[str, Any]]] = []
    while True:
        batch = streams.read(_stream(namespace, parent), after=after, limit=PAGE)
        found += batch
        if len(batch) < PAGE:
            return found
        after = batch[-1][0]


def unread(namespace: str, task: str, parent: str, *, mark_read: bool) -> list[dict[str, Any]]:
    """Unread messages to `task` (or broadcast), not from it, in id order; optionally mark them read."""
    state = read_state.get(_state_partition(namespace, parent), task)
    through = int(state.doc.get("through", 0)) if state else 0
    already = set(state.doc.get("read", [])) if state else set()
    records = _records_after(namespace, parent, through)
    messages = [
        {"id": seq, "namespace": namespace, "fromTask": rec["fromTask"], "toTask": rec["toTask"],
         "parentTask": parent, "content": rec["content"], "read": False, "createdAt": rec["createdAt"]}
        for seq, rec in records
        if rec["toTask"] in (task, BROADCAST) and rec["fromTask"] != task and seq not in already
    ]
    if mark_read and messages:
        _mark(namespace, task, parent, [m["id"] for m in messages], [seq for seq, _ in records])
    return messages


def _mark(namespace: str, task: str, parent: str, ids: list[int], seen: list[int]) -> None:
    # Every seen sequence is settled for this recipient now (not for it, or returned and read), so
    # `through` may move over the contiguous run of them that starts right after it.
    def settle(doc: dict[str, Any]) -> None:
        through = int(doc.get("through", 0))
        read = set(doc.get("read", [])) | set(ids)
        present = set(seen) | read
        while through + 1 in present:
            through += 1
        doc["through"] = through
        doc["read"] = sorted(i for i in read if i > through)

    partition = _state_partition(namespace, parent)
    with contextlib.suppress(AlreadyExists):
        read_state.create(partition, task, {"through": 0, "read": []})
    read_state.update(partition, task, settle)
