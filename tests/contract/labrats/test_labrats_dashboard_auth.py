"""The labrats dashboard login: OIDC authorization code against a loopback provider, the auth_token cookie."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.idp import IdentityProvider

SECRET = "dashboard-test-signing-key-0123456789abcdef"
REDIRECT = "http://localhost/api/auth/oidc/callback"


@pytest.fixture
def idp(monkeypatch):
    from shared.auth.jwks import reset_caches
    from shared.config import reset_settings

    with IdentityProvider() as server:
        monkeypatch.setenv("SHOAL_DASHBOARD_OIDC_ISSUER", server.issuer)
        monkeypatch.setenv("SHOAL_DASHBOARD_OIDC_CLIENT_ID", server.client_id)
        monkeypatch.setenv("SHOAL_DASHBOARD_OIDC_CLIENT_SECRET", server.client_secret)
        monkeypatch.setenv("SHOAL_DASHBOARD_OIDC_REDIRECT_URL", REDIRECT)
        monkeypatch.setenv("SHOAL_DASHBOARD_JWT_SECRET", SECRET)
        monkeypatch.setenv("SHOAL_DASHBOARD_POST_LOGIN_URL", "/dashboard")
        monkeypatch.setenv("SHOAL_AUTH_ALLOW_HTTP", "true")
        monkeypatch.setenv("SHOAL_OUTBOUND_ALLOW", "127.0.0.1")
        reset_settings()
        reset_caches()
        yield server
        reset_caches()


@pytest.fixture
def jobs(function_client):
    return function_client("jobs")


def _set_cookies(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}


def _start(jobs) -> tuple[str, dict]:
    response = jobs.get("/api/auth/oidc")
    assert response.status_code == 302
    location = response.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    return location, {k: v[0] for k, v in query.items()}


def _provider_redirect(location: str) -> str:
    """What the browser does at the provider: follow /authorize back to our callback (path + query)."""
    answer = httpx.get(location, follow_redirects=False)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def login(jobs) -> None:
    location, _ = _start(jobs)
    callback = jobs.get(_provider_redirect(location))
    assert callback.status_code == 302, callback.get_data(as_text=True)


def test_login_redirects_with_state_cookie_then_sets_the_session_cookie(idp, jobs):
    response = jobs.get("/api/auth/oidc")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{idp.url}/authorize?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["response_type"] == "code" and query["client_id"] == idp.client_id
    assert query["redirect_uri"] == REDIRECT and query["scope"] == "openid profile email"
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    state_cookie = _set_cookies(response)["oidc_state"]
    assert "HttpOnly" in state_cookie and "SameSite=Lax" in state_cookie and "Path=/api/auth" in state_cookie
    state_value = state_cookie.split(";")[0].split("=", 1)[1]
    assert state_value.count(".") == 2 and query["state"] not in state_value  # a signed JWT, not the bare state

    callback = jobs.get(_provider_redirect(location))
    assert callback.status_code == 302 and callback.headers["Location"].endswith("/dashboard")
    cookies = _set_cookies(callback)
    session = cookies["auth_token"]
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Path=/" in session and "Secure" not in session
    assert "oidc_state=;" in cookies["oidc_state"]  # the state is single-use
    # The code went to the token endpoint with client_secret_basic and our redirect URI.
    exchange = idp.token_requests[-1]
    assert exchange["grant_type"] == "authorization_code" and exchange["redirect_uri"] == REDIRECT
    assert "client_secret" not in exchange

    me = jobs.get("/api/auth/me").get_json()
    assert me == {"user": {"username": "alice", "subject": "alice", "kind": "oidc", "email": "alice@example.com"},
                  "version": "shoal-0.1.0"}
    # The cookie opens the dashboard routes (no Authorization header).
    assert jobs.get("/api/jobs").status_code == 200
    submitted = jobs.post("/api/jobs/submit", json={"source": "dashboard", "type": "t", "prompt": "p"})
    assert submitted.status_code == 201

    logout = jobs.post("/api/auth/logout")
    assert logout.get_json() == {"ok": True} and "auth_token=;" in logout.headers["Set-Cookie"]
    assert jobs.get("/api/auth/me").get_json() == {"user": None, "version": "shoal-0.1.0"}
    assert jobs.get("/api/jobs").get_json() == {"error": "missing authorization header"}


def test_secure_cookie_behind_https(idp, jobs):
    location, _ = _start(jobs)
    callback = jobs.get(_provider_redirect(location), headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in _set_cookies(callback)["auth_token"]


def test_wrong_state_is_refused_and_no_session_is_set(idp, jobs):
    location, query = _start(jobs)
    path = _provider_redirect(location).replace(query["state"], "forged-state")
    response = jobs.get(path)
    assert response.status_code == 400 and response.get_json() == {"error": "invalid OIDC state"}
    assert "auth_token" not in _set_cookies(response)
    assert idp.token_requests == []  # refused before the code exchange


def test_missing_state_cookie_is_refused(idp, jobs, function_client):
    location, _ = _start(jobs)
    other_browser = function_client("jobs")  # never saw /api/auth/oidc: no state cookie
    response = other_browser.get(_provider_redirect(location))
    assert response.status_code == 400 and response.get_json() == {"error": "invalid OIDC state"}


def test_bad_code_and_provider_error(idp, jobs):
    _, query = _start(jobs)
    response = jobs.get(f"/api/auth/oidc/callback?state={query['state']}&code=not-a-code")
    assert response.status_code == 401 and response.get_json() == {"error": "OIDC code exchange was refused"}
    _, query = _start(jobs)
    response = jobs.get(f"/api/auth/oidc/callback?state={query['state']}")
    assert response.status_code == 400 and response.get_json() == {"error": "code is required"}
    response = jobs.get("/api/auth/callback?error=access_denied")
    assert response.status_code == 401 and response.get_json() == {"error": "OIDC login was refused by the provider"}


def test_id_token_with_wrong_audience_or_nonce_is_refused(idp, jobs, monkeypatch):
    location, _ = _start(jobs)
    original_mint = idp.mint
    monkeypatch.setattr(idp, "mint", lambda claims, **kw: original_mint({**claims, "aud": "someone-else"}, **kw))
    response = jobs.get(_provider_redirect(location))
    assert response.status_code == 401 and response.get_json() == {"error": "invalid ID token"}
    monkeypatch.setattr(idp, "mint", lambda claims, **kw: original_mint({**claims, "nonce": "replayed"}, **kw))
    location, _ = _start(jobs)
    response = jobs.get(_provider_redirect(location))
    assert response.status_code == 401 and response.get_json() == {"error": "invalid ID token"}


def test_subject_allow_list(idp, jobs, monkeypatch):
    from shared.config import reset_settings

    monkeypatch.setenv("SHOAL_DASHBOARD_ALLOWED_SUBJECTS", "bob,svc-*")
    reset_settings()
    location, _ = _start(jobs)
    response = jobs.get(_provider_redirect(location))
    assert response.status_code == 403 and response.get_json() == {"error": "user is not allowed to sign in"}


def test_tampered_and_expired_cookies_are_401(idp, jobs):
    import jwt

    login(jobs)
    good = jobs.get_cookie("auth_token").value
    header, claims, signature = good.split(".")
    tampered_claims = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(claims).replace(b'"alice"', b'"admin"')).decode()
    for bad in (f"{header}.{tampered_claims}.{signature}", good[:-4] + "AAAA",
                jwt.encode({"sub": "alice", "iss": "shoal-dashboard", "aud": "shoal-dashboard", "typ": "session",
                            "iat": int(time.time()) - 100, "exp": int(time.time()) - 50}, SECRET, algorithm="HS256"),
                jwt.encode({"sub": "alice", "iss": "shoal-dashboard", "aud": "shoal-dashboard", "typ": "oidc-state",
                            "iat": int(time.time()), "exp": int(time.time()) + 50}, SECRET, algorithm="HS256"),
                jwt.encode({"sub": "alice", "iss": "shoal-dashboard", "aud": "shoal-dashboard", "typ": "session",
                            "iat": int(time.time()), "exp": int(time.time()) + 50}, "x" * 40, algorithm="HS256")):
        jobs.set_cookie("auth_token", bad)
        response = jobs.get("/api/jobs")
        assert response.status_code == 401 and response.get_json() == {"error": "invalid or expired session"}, bad
        assert jobs.get("/api/auth/me").get_json()["user"] is None


def test_login_not_configured_is_503(jobs):
    assert jobs.get("/api/auth/oidc").get_json() == {"error": "OIDC login is not configured"}
    assert jobs.get("/api/auth/oidc").status_code == 503
    assert jobs.get("/api/auth/oidc/callback?code=x&state=y").status_code == 503


def test_session_cookie_is_not_accepted_by_other_dialects(idp, jobs, function_client):
    login(jobs)
    events = function_client("webhooks")
    events.set_cookie("auth_token", jobs.get_cookie("auth_token").value)
    response = events.post("/api/events/ingest", json={"source": "github", "event": "x", "payload": {}})
    assert response.status_code == 401
