"""Maintainer label commands of repository monitors (issue 19): `orka:fix`, `orka:fix-ci`,
`orka:update-branch`, `orka:review`, `orka:automerge`, `orka:stop`, `orka:resume` delivered as real
signed `pull_request.labeled` webhooks, through the webhooks, github and reactor functions, against
the fake GitHub REST API; the repair and automerge item states they set."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import pytest

from shared.events.envelope import to_http
from shared.github.signature import sign
from tests.conftest import AUTH
from tests.support.fake_github import pull
from tests.support.monitors import monitor_world
from tests.support.security import finish_task

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "github"
SECRET = "hook-secret"
SHA1, SHA2 = "a" * 40, "b" * 40
MONITOR = {"name": "app", "spec": {
    "repoURL": "https://github.com/example/app", "gitSecretRef": {"name": "gh"},
    "agents": {"reviewer": {"name": "reviewer"}, "repairer": {"name": "repairer"}},
    "triggers": {"github": {"labels": {"enabled": True, "consumeCommandLabels": True}}},
    "repair": {"enabled": True, "maxRepairsPerPR": 2, "maxRepairsPerHead": 1},
    "automerge": {"enabled": True, "requireGlobalMergeGate": False},
    "policy": {"protectedLabels": ["security-sensitive"], "pauseLabels": ["orka:pause"]}}}


def err(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


@pytest.fixture
def env(function_client, fake_kube, monkeypatch):
    from shared.config import reset_settings
    from shared.store import ObjectStore

    with monitor_world(fake_kube, monkeypatch) as github_api:
        monkeypatch.setenv("ORKA_GITHUB_WEBHOOK_SECRET", SECRET)
        reset_settings()
        ObjectStore("agent").create("default", "repairer", {"spec": {"runtime": {"type": "claude"}}})
        apps = {n: function_client(n) for n in ("webhooks", "github", "security", "tasks", "internal", "reactor")}
        github_api.permissions = {"maintainer": "maintain", "triager": "triage"}
        yield apps, github_api


def create_monitor(apps, **spec_changes) -> None:
    body = copy.deepcopy(MONITOR)
    body["spec"].update(spec_changes)
    response = apps["security"].post("/api/v1/monitors/repositories", json=body, headers=AUTH)
    assert response.status_code == 201, response.get_json()


def labeled(label: str, pr: dict, sender: str = "maintainer") -> dict:
    """GitHub's own pull_request.labeled payload (octokit fixture), aimed at the fake repository's PR."""
    data = json.loads((FIXTURES / "pull_request.labeled.json").read_text())
    data["repository"].update(full_name="example/app", html_url="https://github.com/example/app",
                              clone_url="https://github.com/example/app.git")
    data["pull_request"].update(number=pr["number"], head={**data["pull_request"]["head"], **pr["head"]},
                                base={**data["pull_request"]["base"], "ref": "main"},
                                labels=[*pr["labels"], {"name": label}])
    data["number"], data["label"], data["sender"]["login"] = pr["number"], {"name": label}, sender
    return data


def deliver(apps, event_sink, data: dict, delivery: str | None = None, relay: bool = True):
    body = json.dumps(data).encode()
    delivery = delivery or str(uuid.uuid4())
    response = apps["webhooks"].post("/webhooks/github", data=body, headers={
        "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": delivery, "Content-Type": "application/json",
        "X-Hub-Signature-256": sign(SECRET, body)})
    if relay and response.status_code == 202 and response.get_json()["status"] == "accepted":
        [event] = [e for e in event_sink.of_type("com.github.pull_request.labeled") if e.id == delivery]
        headers, payload = to_http(event)
        assert apps["github"].post("/", data=payload, headers=headers).status_code == 200
    return response


def item(apps, number: int = 1) -> dict:
    found = apps["security"].get("/api/v1/monitors/repositories/app/items", headers=AUTH).get_json()["items"]
    return next(i for i in found if i["number"] == number)


def events(apps, event_type: str) -> list[dict]:
    return apps["security"].get(f"/api/v1/monitors/events?name=app&eventType={event_type}",
                                headers=AUTH).get_json()["items"]


def command(command_id: str) -> dict:
    from shared.monitors.store import commands, scope

    return commands.get(scope("default", "app"), command_id).doc


def finish_repair(apps, event_sink, name: str, changes: dict | None, phase: str = "Succeeded") -> None:
    from shared.tasks.lifecycle import transition

    transition("default", name, "Running")
    if changes is not None:
        response = apps["internal"].post(f"/internal/v1/artifacts/default/{name}/workspace-changes.json",
                                         data=json.dumps(changes).encode(),
                                         headers={**AUTH, "Content-Type": "application/json"})
        assert response.status_code == 201
    finish_task(apps["internal"], apps["reactor"], event_sink, name, "done" if phase == "Succeeded" else None,
                phase=phase)


def test_a_fix_label_queues_one_repair_task_that_pushes_to_the_pr_branch(env, event_sink):
    from shared.monitors.commands import command_id

    apps, github_api = env
    create_monitor(apps)
    pr = pull(1, SHA1, labels=("bug",))
    github_api.pulls["example/app"] = [pr]
    data = labeled("orka:fix", pr)
    pr["labels"].append({"name": "orka:fix"})  # GitHub has the label on the PR when it delivers the event
    delivery = str(uuid.uuid4())
    response = deliver(apps, event_sink, data, delivery)
    expected_id = command_id("default", "app", delivery, "orka:fix", 1, SHA1)
    assert (response.status_code, response.get_json()) == (202, {
        "status": "accepted", "delivery": delivery, "type": "com.github.pull_request.labeled",
        "matchedMonitors": 1, "commandIDs": [expected_id]})

    recorded = command(expected_id)
    assert {k: recorded[k] for k in ("intent", "status", "author", "permission", "headSHA", "phase", "number")} == {
        "intent": "fix", "status": "accepted", "author": "maintainer", "permission": "maintain", "headSHA": SHA1,
        "phase": "completed", "number": 1}
    state = item(apps)
    assert (state["repairState"], state["automergeState"], state["skipReason"]) == ("queued", "", "")
    task = apps["tasks"].get(f"/api/v1/tasks/{state['repairTask']}", headers=AUTH).get_json()
    assert task["spec"]["type"] == "agent" and task["spec"]["agentRef"] == {"name": "repairer"}
    assert task["spec"]["workspace"] == {"gitRepo": "https://github.com/example/app.git", "ref": "branch-1",
                                         "pushBranch": "branch-1", "gitSecretRef": {"name": "gh"}}
    assert task["spec"]["prompt"].startswith('Repair this exact pull request head for intent "fix".')
    assert '"schemaVersion": "orka.prRepair.input.v1"' in task["spec"]["prompt"]
    assert task["metadata"]["labels"]["orka.ai/monitor-repair"] == "fix"
    # the command label was consumed (removed with the monitor's token); the permission read with it too
    assert [label["name"] for label in pr["labels"]] == ["bug"]
    removal = [r for r in github_api.requests if r["method"] == "DELETE"]
    assert [r["path"] for r in removal] == ["/repos/example/app/issues/1/labels/orka:fix"]
    assert removal[0]["authorization"] == "Bearer ghp_secret"
    assert [e["message"] for e in events(apps, "CommandAccepted")] == ["orka:fix on PR #1 by maintainer: accepted"]

    # the same delivery again: a duplicate at the door, nothing new behind it
    again = deliver(apps, event_sink, data, delivery)
    assert (again.status_code, again.get_json()["status"]) == (202, "duplicate")
    assert len(apps["tasks"].get("/api/v1/tasks", headers=AUTH).get_json()["items"]) == 1

    # the repair pushed to the PR branch: succeeded, and the verdict is cleared for the next review
    finish_repair(apps, event_sink, state["repairTask"],
                  {"branch": "branch-1", "commit": "c" * 40, "base": SHA1, "files": ["a.py"]})
    done = item(apps)
    assert (done["repairState"], done["verdict"], done["skipReason"], done["repairPushedSHA"]) == (
        "succeeded", "", "", "c" * 40)
    assert [e["message"] for e in events(apps, "RepairSucceeded")] == [
        f"PR #1 repair {state['repairTask']}: succeeded"]
    assert apps["security"].get("/api/v1/monitors/repositories/app/items?repairState=succeeded",
                                headers=AUTH).get_json()["items"][0]["number"] == 1


def test_the_repair_policy_and_budgets_block_with_orkas_reasons(env, event_sink):
    apps, github_api = env
    create_monitor(apps)
    github_api.pulls["example/app"] = [pull(1, SHA1), pull(2, SHA1, head_repo="someone/fork")]
    deliver(apps, event_sink, labeled("orka:fix", github_api.pulls["example/app"][0]))
    finish_repair(apps, event_sink, item(apps)["repairTask"], None, phase="Failed")
    failed = item(apps)
    assert (failed["repairState"], failed["skipReason"]) == ("failed", "task ended in phase Failed")
    # one repair per head (maxRepairsPerHead 1): a second command on the same head is refused
    deliver(apps, event_sink, labeled("orka:fix-ci", github_api.pulls["example/app"][0]))
    assert (item(apps)["repairState"], item(apps)["skipReason"]) == ("failed", "repair_head_budget_exhausted")
    # a new head has its own budget, the PR's total (maxRepairsPerPR 2) still counts
    github_api.pulls["example/app"][0]["head"]["sha"] = SHA2
    deliver(apps, event_sink, labeled("orka:update-branch", github_api.pulls["example/app"][0]))
    assert item(apps)["repairState"] == "queued"
    github_api.pulls["example/app"][0]["head"]["sha"] = "d" * 40
    deliver(apps, event_sink, labeled("orka:fix", github_api.pulls["example/app"][0]))
    assert (item(apps)["repairState"], item(apps)["skipReason"]) == ("failed", "repair_pr_budget_exhausted")
    # a fork's branch cannot be pushed to
    deliver(apps, event_sink, labeled("orka:fix", github_api.pulls["example/app"][1]))
    assert (item(apps, 2)["repairState"], item(apps, 2)["skipReason"]) == ("failed", "fork_pr_repair_not_writable")
    assert [e["message"] for e in events(apps, "RepairBlocked")] == [
        "PR #1 repair blocked: repair_head_budget_exhausted", "PR #1 repair blocked: repair_pr_budget_exhausted",
        "PR #2 repair blocked: fork_pr_repair_not_writable"]
    names = [t["metadata"]["name"] for t in apps["tasks"].get("/api/v1/tasks", headers=AUTH).get_json()["items"]]
    assert len(names) == 2  # the first fix and the update-branch


def test_update_branch_without_a_push_succeeds_only_when_the_head_contains_the_base(env, event_sink):
    apps, github_api = env
    create_monitor(apps, repair={"enabled": True})
    github_api.pulls["example/app"] = [pull(1, SHA1)]
    deliver(apps, event_sink, labeled("orka:update-branch", github_api.pulls["example/app"][0]))
    finish_repair(apps, event_sink, item(apps)["repairTask"], {"base": SHA1})
    assert (item(apps)["repairState"], item(apps)["skipReason"]) == (
        "failed", "PR head does not contain the requested base revision")
    github_api.compares[("example/app", "0" * 40, SHA1)] = "ahead"
    github_api.pulls["example/app"][0]["head"]["sha"] = SHA1  # the same head: a new command
    deliver(apps, event_sink, labeled("orka:update-branch", github_api.pulls["example/app"][0]))
    finish_repair(apps, event_sink, item(apps)["repairTask"], {"base": SHA1})
    assert item(apps)["repairState"] == "succeeded"


@pytest.mark.parametrize("sender,labels,spec,status,error", [
    ("outsider", (), {}, "rejected",
     'sender "outsider" has GitHub permission "read", which is not allowed for RepositoryMonitor commands'),
    ("maintainer", (), {"policy": {"allowedRepositoryPermissions": ["admin"]}}, "rejected",
     'sender "maintainer" has GitHub permission "maintain", which is not allowed for RepositoryMonitor commands'),
    ("maintainer", ("Security-Sensitive",), {}, "blocked", 'target has guard label "Security-Sensitive"'),
    ("maintainer", ("orka:pause",), {}, "blocked", 'target has guard label "orka:pause"'),
])
def test_commands_from_weak_senders_or_on_guarded_prs_do_nothing(env, event_sink, sender, labels, spec, status,
                                                                 error):
    apps, github_api = env
    create_monitor(apps, **spec)
    pr = pull(1, SHA1, labels=labels)
    github_api.pulls["example/app"] = [pr]
    response = deliver(apps, event_sink, labeled("orka:fix", pr, sender))
    [command_id] = response.get_json()["commandIDs"]
    recorded = command(command_id)
    assert (recorded["status"], recorded["error"], recorded["outcome"]) == (status, error, {"result": status})
    assert apps["tasks"].get("/api/v1/tasks", headers=AUTH).get_json()["items"] == []
    assert [r for r in github_api.requests if r["method"] == "DELETE"] == []  # not consumed
    event_type = "CommandRejected" if status == "rejected" else "CommandBlocked"
    assert [e["message"] for e in events(apps, event_type)] == [f"orka:fix on PR #1 by {sender}: {status} ({error})"]


def test_labels_a_monitor_does_not_take_are_ignored_at_the_door(env, event_sink):
    apps, github_api = env
    create_monitor(apps, triggers={"github": {"labels": {"enabled": True, "pullRequests": {"fix": "please-fix"}}}})
    pr = pull(1, SHA1)
    github_api.pulls["example/app"] = [pr]
    ignored = deliver(apps, event_sink, labeled("orka:fix", pr))  # renamed: the default no longer applies
    assert (ignored.status_code, ignored.get_json()["reason"]) == (202, 'label "orka:fix" is not a trigger label')
    renamed = deliver(apps, event_sink, labeled("Please-Fix", pr))
    assert renamed.get_json()["matchedMonitors"] == 1 and item(apps)["repairState"] == "queued"
    # a draft, or a PR into another branch, is not a target
    draft = labeled("orka:review", pr)
    draft["pull_request"]["draft"] = True
    assert deliver(apps, event_sink, draft).get_json()["status"] == "ignored"
    other = labeled("orka:review", pr)
    other["pull_request"]["base"]["ref"] = "release"
    assert deliver(apps, event_sink, other).get_json()["status"] == "ignored"


def test_review_label_reviews_the_head_again(env, event_sink):
    apps, github_api = env
    create_monitor(apps)
    github_api.pulls["example/app"] = [pull(1, SHA1)]
    deliver(apps, event_sink, labeled("orka:review", github_api.pulls["example/app"][0], "triager"))
    first = item(apps)
    assert first["state"] == "reviewing" and first["reviewRound"] == 0
    delivery = str(uuid.uuid4())
    deliver(apps, event_sink, labeled("orka:review", github_api.pulls["example/app"][0], "triager"), delivery)
    second = item(apps)
    assert second["reviewRound"] == 1 and second["reviewTask"] != first["reviewTask"]
    # the broker delivering the same event again (e.g. after a crash): no third round
    from shared.monitors.commands import command_id, on_labeled
    from shared.monitors.store import commands, scope

    recorded = command_id("default", "app", delivery, "orka:review", 1, SHA1)
    commands.update(scope("default", "app"), recorded, lambda doc: doc.pop("phase") is not None)  # unfinished
    [event] = [e for e in event_sink.of_type("com.github.pull_request.labeled") if e.id == delivery]
    on_labeled(event)  # the handler itself (the consumer would drop an event id it has processed)
    assert item(apps)["reviewRound"] == 1
    assert command(recorded)["outcome"] == {"result": "review_exists", "reviewTask": second["reviewTask"]}
    names = {t["metadata"]["name"] for t in apps["tasks"].get("/api/v1/tasks", headers=AUTH).get_json()["items"]}
    assert names == {first["reviewTask"], second["reviewTask"]}


def test_stop_cancels_the_queued_repair_and_resume_lifts_the_hold(env, event_sink):
    apps, github_api = env
    create_monitor(apps)
    pr = pull(1, SHA1)
    github_api.pulls["example/app"] = [pr]
    deliver(apps, event_sink, labeled("orka:fix", pr))
    task = item(apps)["repairTask"]
    deliver(apps, event_sink, labeled("orka:stop", pr))
    held = item(apps)
    assert (held["repairState"], held["skipReason"]) == ("failed", "stopped_by_command")
    assert apps["tasks"].get(f"/api/v1/tasks/{task}", headers=AUTH).get_json()["status"]["phase"] == "Cancelled"
    deliver(apps, event_sink, labeled("orka:resume", pr))
    assert (item(apps)["repairState"], item(apps)["skipReason"]) == ("", "")


def passed_review(apps, event_sink, github_api) -> None:
    """A monitor run reviews the head and the reviewer passes it."""
    response = apps["security"].post("/api/v1/monitors/repositories/app/runs", json={}, headers=AUTH)
    run_id = response.get_json()["id"]
    [event] = [e for e in event_sink.of_type("dev.shoal.monitor.run.queued") if e.data["runID"] == run_id]
    headers, data = to_http(event)
    assert apps["github"].post("/", data=data, headers=headers).status_code == 200
    answer = json.dumps({"schemaVersion": "orka.prReview.v1", "headSHA": SHA1, "verdict": "passed", "summary": "ok"})
    finish_task(apps["internal"], apps["reactor"], event_sink, item(apps)["reviewTask"], answer)
    assert item(apps)["automergeState"] == "merge_ready"


def run_monitor(apps, event_sink) -> None:
    response = apps["security"].post("/api/v1/monitors/repositories/app/runs", json={}, headers=AUTH)
    assert response.status_code == 201, response.get_json()
    [event] = [e for e in event_sink.of_type("dev.shoal.monitor.run.queued") if e.data["runID"] == response.get_json()["id"]]
    headers, data = to_http(event)
    assert apps["github"].post("/", data=data, headers=headers).status_code == 200


def test_automerge_waits_for_ci_and_merges_the_reviewed_head(env, event_sink):
    apps, github_api = env
    create_monitor(apps, automerge={"enabled": True, "requireGlobalMergeGate": False,
                                    "allowedMergeMethods": ["rebase"]})
    pr = pull(1, SHA1)
    github_api.pulls["example/app"] = [pr]
    # no passed review yet: blocked
    deliver(apps, event_sink, labeled("orka:automerge", pr))
    assert (item(apps)["automergeState"], item(apps)["skipReason"]) == ("blocked", "orka_review_not_passed")
    passed_review(apps, event_sink, github_api)
    github_api.ci[("example/app", SHA1)] = [{"check_runs": [{"name": "test", "status": "in_progress"}]}]
    deliver(apps, event_sink, labeled("orka:automerge", pr))
    assert (item(apps)["automergeState"], item(apps)["skipReason"]) == ("pending", "ci_pending")
    assert not [r for r in github_api.requests if r["path"].endswith("/merge")]
    # CI went green: the next monitor run merges it, with the head SHA and the allowed method
    github_api.ci[("example/app", SHA1)] = [{"check_runs": [{"name": "test", "status": "completed",
                                                             "conclusion": "success"}]}]
    run_monitor(apps, event_sink)
    merged = item(apps)
    assert (merged["automergeState"], merged["state"], merged["skipReason"], merged["mergeSHA"]) == (
        "merged", "merged", "", "m" * 40)
    [merge] = [r for r in github_api.requests if r["path"].endswith("/merge")]
    assert (merge["method"], merge["body"], merge["authorization"]) == (
        "PUT", {"merge_method": "rebase", "sha": SHA1}, "Bearer ghp_secret")
    assert [e["message"] for e in events(apps, "AutomergeSucceeded")] == [f"PR #1 automerged (rebase, {'m' * 12})"]
    # the merged PR is gone from the open list: the next run keeps its item merged, not closed
    run_monitor(apps, event_sink)
    assert item(apps)["state"] == "merged"


@pytest.mark.parametrize("spec,setup,reason", [
    ({"automerge": {"enabled": False}}, None, "automerge_disabled"),
    ({"automerge": {"enabled": True}}, None, "global_merge_gate_disabled"),
    ({}, lambda pr: pr.update(mergeable_state="dirty"), "pull_request_not_mergeable"),
    ({}, lambda pr: pr["labels"].append({"name": "orka:pause"}), "blocked_label"),
    ({}, "failing-ci", "ci_not_green"),
    ({}, "no-ci", "ci_checks_missing"),
])
def test_the_automerge_gate_blocks_with_orkas_reasons(env, event_sink, spec, setup, reason):
    apps, github_api = env
    create_monitor(apps, **spec)
    pr = pull(1, SHA1)
    github_api.pulls["example/app"] = [pr]
    passed_review(apps, event_sink, github_api)
    github_api.ci[("example/app", SHA1)] = [{"check_runs": [{"name": "t", "status": "completed",
                                                             "conclusion": "failure" if setup == "failing-ci"
                                                             else "success"}]}]
    if setup == "no-ci":
        github_api.ci[("example/app", SHA1)] = [{}]
    elif callable(setup):
        setup(pr)
    payload = labeled("orka:automerge", pr)
    if reason == "blocked_label":
        # the guard label is seen by the gate (the command itself was accepted before the label arrived)
        payload["pull_request"]["labels"] = [{"name": "orka:automerge"}]
    deliver(apps, event_sink, payload)
    assert (item(apps)["automergeState"], item(apps)["skipReason"]) == ("blocked", reason)
    assert not [r for r in github_api.requests if r["path"].endswith("/merge")]


def test_a_stale_head_or_a_refused_merge(env, event_sink):
    apps, github_api = env
    create_monitor(apps)
    pr = pull(1, SHA1)
    github_api.pulls["example/app"] = [pr]
    passed_review(apps, event_sink, github_api)
    github_api.ci[("example/app", SHA1)] = [{"statuses": [{"context": "ci", "state": "success"}]}]
    stale = labeled("orka:automerge", pull(1, SHA2))  # labelled while GitHub showed another head
    deliver(apps, event_sink, stale)
    assert (item(apps)["automergeState"], item(apps)["skipReason"]) == ("blocked", "stale_head_sha")
    github_api.unmergeable.add(("example/app", 1))
    deliver(apps, event_sink, labeled("orka:automerge", pr))
    assert (item(apps)["automergeState"], item(apps)["skipReason"]) == ("failed", "automerge_failed")


@pytest.mark.parametrize("changes,message", [
    ({"triggers": {"github": {"labels": {"enabled": "yes"}}}}, "spec.triggers.github.labels.enabled must be a boolean"),
    ({"triggers": {"github": {"labels": {"requireActorPermission": "triage"}}}},
     "spec.triggers.github.labels.requireActorPermission must be one of write, maintain, admin"),
    ({"triggers": {"github": {"labels": {"pullRequests": {"fix": 3}}}}},
     "spec.triggers.github.labels.pullRequests.fix must be a string"),
    ({"repair": {"enabled": True, "maxRepairsPerPR": -1}}, "spec.repair.maxRepairsPerPR must be a non-negative integer"),
    ({"automerge": {"allowedMergeMethods": ["fast-forward"]}},
     "spec.automerge.allowedMergeMethods must contain only merge, squash, rebase"),
    ({"policy": {"allowedRepositoryPermissions": ["read"]}},
     "spec.policy.allowedRepositoryPermissions must contain only write, maintain, admin"),
    ({"agents": {"reviewer": {"name": "reviewer"}}, "repair": {"enabled": True}},
     "spec.agents.repairer.name is required when spec.repair.enabled is true"),
    ({"agents": {"reviewer": {"name": "reviewer"}, "repairer": {"name": "ghost"}}}, 'repairer agent "ghost" not found'),
    ({"agents": {"reviewer": {"name": "reviewer"}, "repairer": {"name": "plain"}}}, 'repairer agent "plain" has no runtime'),
    ({"forgeCredentialRef": {"name": "nope"}}, 'forge credential secret "nope" not found in namespace "default"'),
])
def test_command_repair_and_automerge_fields_are_validated(env, changes, message):
    from shared.store import ObjectStore

    apps, _ = env
    ObjectStore("agent").create("default", "plain", {"spec": {"model": "m"}})
    body = copy.deepcopy(MONITOR)
    body["spec"].update(changes)
    response = apps["security"].post("/api/v1/monitors/repositories", json=body, headers=AUTH)
    assert (response.status_code, response.get_json()) == (400, err(400, message))
    assert apps["security"].get("/api/v1/monitors/repositories/app", headers=AUTH).status_code == 404


def test_the_forge_credential_is_used_for_github_calls_when_set(env, event_sink, fake_kube):
    from tests.support.monitors import b64

    apps, github_api = env
    fake_kube.add("/api/v1", "secrets", "default", {"metadata": {"name": "forge"}, "data": {"token": b64("ghp_forge")}})
    create_monitor(apps, forgeCredentialRef={"name": "forge"})
    pr = pull(1, SHA1)
    github_api.pulls["example/app"] = [pr]
    deliver(apps, event_sink, labeled("orka:fix", pr))
    calls = {r["path"]: r["authorization"] for r in github_api.requests}
    assert calls["/repos/example/app/collaborators/maintainer/permission"] == "Bearer ghp_forge"
    assert calls["/repos/example/app/pulls/1"] == "Bearer ghp_forge"
    task = apps["tasks"].get(f"/api/v1/tasks/{item(apps)['repairTask']}", headers=AUTH).get_json()
    assert task["spec"]["workspace"]["gitSecretRef"] == {"name": "gh"}  # the push credential stays gitSecretRef
