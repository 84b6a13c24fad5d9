"""The fake API server answers the official client the way a real apiserver does."""

from __future__ import annotations

from kubernetes import client

from shared.kube import api_client, core_v1


def test_secrets_listed_through_the_official_client(fake_kube):
    fake_kube.add("/api/v1", "secrets", "team", {"metadata": {"name": "gh", "labels": {"a": "b"}},
                                                  "type": "Opaque", "data": {"token": "eA=="}})
    names = [s.metadata.name for s in core_v1().list_namespaced_secret("team", label_selector="a=b").items]
    assert names == ["gh"]
    assert fake_kube.requests[-1]["headers"]["Authorization"] == "Bearer reviewer-token"


def test_pod_logs_per_container_and_previous_through_the_official_client(fake_kube):
    fake_kube.add("/api/v1", "pods", "team", {"metadata": {"name": "web-1"}})
    fake_kube.pod_logs[("team", "web-1")] = "app log\n"
    fake_kube.pod_logs[("team", "web-1", "proxy")] = "proxy log\n"
    fake_kube.previous_logs[("team", "web-1", "proxy")] = "proxy crashed\n"
    api = core_v1()
    assert api.read_namespaced_pod_log("web-1", "team") == "app log\n"
    assert api.read_namespaced_pod_log("web-1", "team", container="proxy") == "proxy log\n"
    assert api.read_namespaced_pod_log("web-1", "team", container="proxy", previous=True) == "proxy crashed\n"
    # a container without its own log gets the pod's (as before), the previous log of none is empty
    assert api.read_namespaced_pod_log("web-1", "team", container="app") == "app log\n"
    assert api.read_namespaced_pod_log("web-1", "team", previous=True) == ""
    fake_kube.clear()
    assert fake_kube.objects == {} and fake_kube.pod_logs == {} and fake_kube.requests == []


def test_token_review_round_trip(fake_kube):
    fake_kube.tokens["good"] = {"authenticated": True, "user": {
        "username": "system:serviceaccount:team:worker", "groups": ["system:serviceaccounts"]}}
    api = client.AuthenticationV1Api(api_client())
    review = api.create_token_review(client.V1TokenReview(spec=client.V1TokenReviewSpec(token="good",
                                                                                        audiences=["shoal"])))
    assert review.status.authenticated and review.status.user.username.endswith(":worker")
    bad = api.create_token_review(client.V1TokenReview(spec=client.V1TokenReviewSpec(token="bad")))
    assert not bad.status.authenticated and bad.status.user is None


def test_without_any_kubernetes_api_routes_get_a_clear_503(function_client, monkeypatch, tmp_path):
    from shared.kube import reset_client
    from tests.conftest import AUTH

    for key in ("SHOAL_KUBE_API_URL", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    reset_client()
    response = function_client("catalog").get("/api/v1/secrets", headers=AUTH)
    assert response.status_code == 503
    assert response.get_json() == {"error": {"code": 503, "message": (
        "no Kubernetes API is configured (run in a pod, set SHOAL_KUBE_API_URL, or provide a kubeconfig)")}}
    reset_client()
