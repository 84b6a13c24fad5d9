"""A loopback identity provider for auth tests: OIDC discovery + JWKS over real HTTP, and token minting.

Keys are generated per test session (RSA 2048); `mint()` signs claims with a chosen key and header.
The issuer is `http://127.0.0.1:<port>`, accepted only with SHOAL_AUTH_ALLOW_HTTP (the test switch)
and SHOAL_OUTBOUND_ALLOW admitting loopback.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from functools import cache
from typing import Any
from urllib.parse import urlencode

from werkzeug import Request, Response

from tests.support.servers import BackgroundServer


@cache
def rsa_key(name: str) -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(private_key: Any, kid: str) -> dict[str, Any]:
    import jwt

    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    jwk.pop("key_ops", None)
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


class IdentityProvider(BackgroundServer):
    def __init__(self) -> None:
        self.keys: dict[str, Any] = {"k1": rsa_key("k1")}
        self.requests: list[str] = []
        self._lock = threading.Lock()
        # Authorization-code login (the dashboard's relying-party tests): the registered client, the
        # user who "signs in" at /authorize, extra ID-token claims, and the codes handed out.
        self.client_id, self.client_secret = "shoal-dashboard", "dashboard-client-secret"
        self.login_claims: dict[str, Any] = {"sub": "alice", "preferred_username": "alice", "email": "alice@example.com"}
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, Any]] = []
        super().__init__(self._wsgi)
        self.issuer = self.url

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/jwks.json"

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(key, kid) for kid, key in self.keys.items()]}

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        with self._lock:
            self.requests.append(request.path)
        if request.path == "/.well-known/openid-configuration":
            body = {"issuer": self.issuer, "authorization_endpoint": f"{self.url}/authorize",
                    "token_endpoint": f"{self.url}/token", "jwks_uri": self.jwks_url,
                    "response_types_supported": ["code"], "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"]}
        elif request.path in ("/jwks.json", "/.well-known/jwks.json"):
            body = self.jwks()
        elif request.path == "/authorize":
            return self._authorize(request)(environ, start_response)
        elif request.path == "/token" and request.method == "POST":
            return self._token(request)(environ, start_response)
        else:
            return Response("not found", status=404)(environ, start_response)
        return Response(json.dumps(body), content_type="application/json")(environ, start_response)

    def _authorize(self, request: Request) -> Response:
        """The user signs in at once: redirect back to the client with a one-time code."""
        args = request.args
        if args.get("client_id") != self.client_id or args.get("response_type") != "code":
            return Response("bad authorization request", status=400)
        code = secrets.token_urlsafe(16)
        with self._lock:
            self.codes[code] = {"redirect_uri": args.get("redirect_uri"), "nonce": args.get("nonce"),
                                "scope": args.get("scope")}
        query = urlencode({"code": code, "state": args.get("state", "")})
        return Response(status=302, headers={"Location": f"{args.get('redirect_uri')}?{query}"})

    def _token(self, request: Request) -> Response:
        form = request.form.to_dict()
        with self._lock:
            self.token_requests.append({**form, "authorization": request.authorization})
            grant = self.codes.pop(form.get("code", ""), None)  # one-time codes
        auth = request.authorization
        if auth is None or (auth.username, auth.password) != (self.client_id, self.client_secret):
            return Response(json.dumps({"error": "invalid_client"}), status=401, content_type="application/json")
        if form.get("grant_type") != "authorization_code" or grant is None \
                or grant["redirect_uri"] != form.get("redirect_uri"):
            return Response(json.dumps({"error": "invalid_grant"}), status=400, content_type="application/json")
        id_token = self.mint({**self.login_claims, "aud": self.client_id, "nonce": grant["nonce"]})
        body = {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                "id_token": id_token}
        return Response(json.dumps(body), content_type="application/json")

    def mint(self, claims: dict[str, Any] | None = None, *, kid: str = "k1", key: Any = None,
             headers: dict[str, Any] | None = None, lifetime: int = 300, **overrides: Any) -> str:
        import jwt

        now = int(time.time())
        body = {"iss": self.issuer, "sub": "alice", "iat": now, "nbf": now, "exp": now + lifetime,
                **(claims or {}), **overrides}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key or self.keys[kid], algorithm="RS256", headers={"kid": kid, **(headers or {})})
