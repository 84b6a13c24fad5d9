"""Kubernaut session statuses beyond the agent's own: `user_driving` (the owner takes over, then hands
back) and `unknown` (a record whose state cannot be mapped), with exact bodies (peers.md §2.1)."""

from __future__ import annotations

import pytest

from tests.conftest import AUTH
from tests.contract.kubernaut.test_incidents import (
    HEADERS,
    REQUESTED,
    RID,
    incident,
    problem,
    run_pending,
    submit,
)
from tests.support.incident_scenarios import SCENARIOS, use_scripted_llm


def base(session_id: str) -> str:
    return f"/api/v1/incident/session/{session_id}"


@pytest.mark.parametrize("action", ["takeover", "handback"])
def test_new_routes_without_credentials_are_401(incidents, action):
    response = incidents.post(f"/api/v1/incident/session/x/{action}", headers=RID)
    assert response.status_code == 401
    assert response.get_json()["type"] == "https://kubernaut.ai/problems/unauthorized"


def test_takeover_of_an_interactive_session_is_user_driving_until_handback_runs_it(
        incidents, investigator, event_sink, fake_kube, scripted_llm, monkeypatch):
    use_scripted_llm(monkeypatch, scripted_llm)
    scripted_llm.script = SCENARIOS["crashloop"](fake_kube)
    session_id = submit(incidents, incident(interactive=True)).get_json()["session_id"]
    taken = incidents.post(f"{base(session_id)}/takeover", headers=AUTH)
    assert (taken.status_code, taken.get_json()) == (200, {"session_id": session_id, "status": "user_driving"})
    assert incidents.post(f"{base(session_id)}/takeover", headers=AUTH).get_json() == {
        "session_id": session_id, "status": "user_driving"}  # idempotent
    assert incidents.get(base(session_id), headers=AUTH).get_json() == {
        "session_id": session_id, "status": "user_driving", "progress": "User is driving the investigation",
        "acting_user": "dev", "acting_user_groups": ["system:authenticated"]}
    # Not finished: no result yet; a snapshot is available (it is not the agent investigating).
    result = incidents.get(f"{base(session_id)}/result", headers={**AUTH, **RID})
    assert result.get_json() == problem("conflict", "Conflict", 409,
                                        "Session is still user_driving, result not yet available",
                                        f"{base(session_id)}/result")
    snapshot = incidents.get(f"{base(session_id)}/snapshot", headers=AUTH).get_json()
    assert snapshot["status"] == "user_driving" and snapshot["metadata"]["incident_id"] == "inc-1"
    assert event_sink.of_type(REQUESTED) == []

    handed = incidents.post(f"{base(session_id)}/handback", headers=AUTH)
    assert (handed.status_code, handed.get_json()) == (200, {"session_id": session_id, "status": "pending"})
    [requested] = event_sink.of_type(REQUESTED)
    assert requested.data["name"] == session_id
    run_pending(event_sink, investigator)
    assert incidents.get(base(session_id), headers=AUTH).get_json()["status"] == "completed"
    again = incidents.post(f"{base(session_id)}/takeover", headers={**AUTH, **RID})
    assert again.get_json() == problem("session-already-terminal", "Conflict", 409,
                                       "Session is already in a terminal state", f"{base(session_id)}/takeover")


def test_handback_of_a_session_nobody_drives_is_409(incidents):
    session_id = submit(incidents, incident(interactive=True)).get_json()["session_id"]
    response = incidents.post(f"{base(session_id)}/handback", headers={**AUTH, **RID})
    assert response.get_json() == problem("session-not-user-driving", "Conflict", 409,
                                          "Session is not user-driven", f"{base(session_id)}/handback")
    assert incidents.get(base(session_id), headers=AUTH).get_json()["status"] == "pending"


def test_a_taken_over_session_is_not_run_by_a_late_request_and_stops_a_running_loop(
        incidents, investigator, event_sink, scripted_llm, monkeypatch):
    from shared.incidents import sessions
    from shared.incidents.runner import TakenOver, _Observer

    use_scripted_llm(monkeypatch, scripted_llm)
    session_id = submit(incidents).get_json()["session_id"]
    sessions.change(session_id, lambda d: d.update(status="investigating"))
    assert incidents.post(f"{base(session_id)}/takeover", headers=AUTH).get_json()["status"] == "user_driving"
    run_pending(event_sink, investigator)  # the original request arrives late: nothing runs
    assert scripted_llm.requests == []
    with pytest.raises(TakenOver):  # a loop already running stops at its next step
        _Observer(session_id)("tool_call", {"id": "c1", "name": "get_resource", "args": {}})
    assert incidents.get(base(session_id), headers=AUTH).get_json()["status"] == "user_driving"


def test_cancel_of_a_user_driven_session_frees_its_slot(incidents, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_INCIDENT_MAX_SESSIONS", "1")
    reset_settings()
    session_id = submit(incidents, incident(interactive=True)).get_json()["session_id"]
    incidents.post(f"{base(session_id)}/takeover", headers=AUTH)
    assert submit(incidents).status_code == 500  # user_driving is not terminal: it holds its slot
    cancelled = incidents.post(f"{base(session_id)}/cancel", headers=AUTH)
    assert cancelled.get_json() == {"session_id": session_id, "status": "cancelled"}
    assert submit(incidents).status_code == 202


@pytest.mark.parametrize("stored", ["Exploded", None, 42, "user-driving"])
def test_a_record_whose_state_cannot_be_mapped_is_unknown(incidents, stored):
    from shared.incidents import sessions

    session_id = submit(incidents, incident(interactive=True)).get_json()["session_id"]
    sessions.change(session_id, lambda d: d.update(status=stored))
    assert incidents.get(base(session_id), headers=AUTH).get_json() == {
        "session_id": session_id, "status": "unknown", "progress": "Queued for investigation",
        "acting_user": "dev", "acting_user_groups": ["system:authenticated"]}
    result = incidents.get(f"{base(session_id)}/result", headers={**AUTH, **RID})
    assert result.get_json() == problem("conflict", "Conflict", 409,
                                        "Session state is unknown, result not available",
                                        f"{base(session_id)}/result")
    taken = incidents.post(f"{base(session_id)}/takeover", headers={**AUTH, **RID})
    assert taken.get_json() == problem("session-state-unknown", "Conflict", 409,
                                       "Session state is unknown and cannot be taken over",
                                       f"{base(session_id)}/takeover")
    stream = incidents.get(f"{base(session_id)}/stream", headers=AUTH).get_data(as_text=True)
    assert stream == 'id: 1\nevent: session_ended\ndata: {"type":"session_ended","turn":0}\n\n'
    # Cancel still works, so a broken record does not hold a capacity slot until it expires.
    assert incidents.post(f"{base(session_id)}/cancel", headers=AUTH).get_json() == {
        "session_id": session_id, "status": "cancelled"}


def test_a_legacy_running_record_reads_as_investigating(incidents):
    from shared.incidents import sessions

    session_id = submit(incidents).get_json()["session_id"]
    sessions.change(session_id, lambda d: d.update(status="running"))
    assert incidents.get(base(session_id), headers=AUTH).get_json()["status"] == "investigating"


def test_a_corrupt_record_without_its_request_still_snapshots(incidents):
    from shared.incidents import sessions

    session_id = submit(incidents, incident(interactive=True)).get_json()["session_id"]
    sessions.change(session_id, lambda d: d.update(status="bogus", request=None))
    body = incidents.get(f"{base(session_id)}/snapshot", headers=HEADERS).get_json()
    assert body["status"] == "unknown" and body["metadata"]["incident_id"] is None
