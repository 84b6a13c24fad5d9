"""The server-side patch allow-list on every kind, with hostile patches."""

from __future__ import annotations

import pytest

from shared.investigation.patch_filter import filter_patch

HOSTILE_POD_SPEC = {
    "serviceAccountName": "cluster-admin", "hostPID": True, "hostNetwork": True,
    "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
    "initContainers": [{"name": "init", "image": "evil"}],
    "containers": [{"name": "app", "image": "registry.example/app:2", "command": ["sh"], "args": ["-c", "x"],
                    "securityContext": {"privileged": True, "runAsUser": 0},
                    "volumeMounts": [{"name": "root", "mountPath": "/host"}],
                    "livenessProbe": {"exec": {"command": ["true"]}},
                    "env": [{"name": "MODE", "value": "safe"},
                            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "admin", "key": "token"}}}],
                    "resources": {"limits": {"memory": "512Mi", "cpu": 1}, "claims": [{"name": "gpu"}]}}],
}
KEPT_CONTAINER = {"name": "app", "image": "registry.example/app:2", "env": [{"name": "MODE", "value": "safe"}],
                  "resources": {"limits": {"memory": "512Mi", "cpu": "1"}}}


def test_pod_keeps_only_container_fields():
    result = filter_patch("Pod", {"metadata": {"labels": {"a": "b"}}, "spec": {**HOSTILE_POD_SPEC, "replicas": 5}})
    assert result.patch == {"spec": {"containers": [KEPT_CONTAINER]}}
    for path in ("$.metadata", "spec.serviceAccountName", "spec.volumes", "spec.hostPID", "spec.replicas",
                 "spec.initContainers", "spec.containers[0].command", "spec.containers[0].securityContext",
                 "spec.containers[0].volumeMounts", "spec.containers[0].env[1]"):
        assert path in result.dropped


def test_deployment_keeps_replicas_and_template_containers():
    patch = {"spec": {"replicas": 3, "strategy": {"type": "Recreate"},
                      "template": {"metadata": {"annotations": {"x": "y"}}, "spec": HOSTILE_POD_SPEC}}}
    result = filter_patch("Deployment", patch)
    assert result.patch == {"spec": {"replicas": 3, "template": {"spec": {"containers": [KEPT_CONTAINER]}}}}
    assert "spec.template.spec.serviceAccountName" in result.dropped and "spec.strategy" in result.dropped


def test_job_keeps_template_containers_but_not_replicas():
    patch = {"spec": {"replicas": 3, "backoffLimit": 100, "template": {"spec": HOSTILE_POD_SPEC}}}
    result = filter_patch("Job", patch)
    assert result.patch == {"spec": {"template": {"spec": {"containers": [KEPT_CONTAINER]}}}}
    assert "spec.replicas" in result.dropped and "spec.backoffLimit" in result.dropped


@pytest.mark.parametrize("kind,patch", [
    ("Pod", {"spec": {"serviceAccountName": "x", "containers": [{"name": "app", "securityContext": {"privileged": True}}]}}),
    ("Deployment", {"spec": {"template": {"spec": {"volumes": [{"hostPath": {"path": "/"}}]}}}}),
    ("Job", {"spec": {"template": {"spec": {"containers": [{"name": "app", "command": ["rm", "-rf", "/"]}]}}}}),
    ("Deployment", {"spec": {"template": {"spec": {"containers": [{"image": "no-name-no-merge-key"}]}}}}),
    ("Deployment", {"spec": {"replicas": True}}),
    ("Pod", {"spec": {"containers": "not a list"}}),
])
def test_patches_with_nothing_allowed_are_empty(kind, patch):
    result = filter_patch(kind, patch)
    assert result.patch is None and "nothing in the proposed patch is an allowed change" in result.reason


def test_other_kinds_are_refused():
    result = filter_patch("ClusterRoleBinding", {"subjects": [{"name": "me"}]})
    assert result.patch is None and result.reason.startswith("patches to a ClusterRoleBinding are not allowed")
    assert filter_patch("Deployment", ["not", "an", "object"]).patch is None


def test_keys_are_matched_case_insensitively_and_written_in_kubernetes_casing():
    result = filter_patch("Deployment", {"Spec": {"Replicas": 2, "Template": {"Spec": {"Containers": [
        {"Name": "app", "Image": "x:1"}]}}}})
    assert result.patch == {"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "app",
                                                                                          "image": "x:1"}]}}}}


def test_probe_fixes_are_kept_on_deployments_and_statefulsets():
    probe = {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP", "host": "169.254.169.254",
                         "httpHeaders": [{"name": "X", "value": "y"}]},
             "initialDelaySeconds": 10, "periodSeconds": 5, "failureThreshold": 0, "terminationGracePeriodSeconds": 1}
    container = {"name": "app", "readinessProbe": probe, "livenessProbe": {"tcpSocket": {"port": "http"}},
                 "startupProbe": {"exec": {"command": ["sh", "-c", "curl evil"]}, "periodSeconds": 2}}
    for kind in ("Deployment", "StatefulSet"):
        result = filter_patch(kind, {"spec": {"replicas": 2, "template": {"spec": {"containers": [container]}}}})
        assert result.patch == {"spec": {"replicas": 2, "template": {"spec": {"containers": [{
            "name": "app",
            "readinessProbe": {"initialDelaySeconds": 10, "periodSeconds": 5,
                               "httpGet": {"port": 8080, "path": "/healthz", "scheme": "HTTP"}},
            "livenessProbe": {"tcpSocket": {"port": "http"}},
            "startupProbe": {"periodSeconds": 2}}]}}}}
        for path in ("spec.template.spec.containers[0].readinessProbe.httpGet.host",
                     "spec.template.spec.containers[0].readinessProbe.httpGet.httpHeaders",
                     "spec.template.spec.containers[0].readinessProbe.failureThreshold",
                     "spec.template.spec.containers[0].readinessProbe.terminationGracePeriodSeconds",
                     "spec.template.spec.containers[0].startupProbe.exec"):
            assert path in result.dropped, path


@pytest.mark.parametrize("kind,patch", [
    ("Pod", {"spec": {"containers": [{"name": "app", "readinessProbe": {"tcpSocket": {"port": 80}}}]}}),
    ("Job", {"spec": {"template": {"spec": {"containers": [{"name": "app",
                                                             "livenessProbe": {"tcpSocket": {"port": 80}}}]}}}}),
    ("Deployment", {"spec": {"template": {"spec": {"containers": [{"name": "app", "readinessProbe": {
        "httpGet": {"path": "no-slash", "port": 70000}}}]}}}}),
    ("Deployment", {"spec": {"template": {"spec": {"containers": [{"name": "app", "readinessProbe": {
        "httpGet": {"port": 80}, "tcpSocket": {"port": 80}}}]}}}}),
])
def test_probe_changes_outside_the_allow_list_leave_nothing(kind, patch):
    result = filter_patch(kind, patch)
    assert result.patch is None
    assert result.reason == ("nothing in the proposed patch is an allowed change "
                             "(container image, env, resources, probes, or replicas)")


def test_the_answer_instructions_offer_every_change_the_allow_list_keeps():
    # The model only proposes what it is told it may patch. The evaluation's probe scenarios found the
    # instructions still listing image, env, resources and replicas after the allow-list kept probe fixes.
    from shared.investigation.schema import ANSWER_INSTRUCTIONS

    patch_line = ANSWER_INSTRUCTIONS[ANSWER_INSTRUCTIONS.index('"patch"'):ANSWER_INSTRUCTIONS.index('"detected_labels"')]
    for kept in ("image", "env", "resources", "readiness/liveness/startup probes", "httpGet path/port/scheme",
                 "tcpSocket or grpc port", "delays", "thresholds", "Deployment or StatefulSet", "spec.replicas"):
        assert kept in patch_line, kept
    probe = {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "readinessProbe": {"httpGet": {"path": "/ready", "port": 3000}, "periodSeconds": 5}}]}}}}
    assert filter_patch("Deployment", probe).patch == probe
