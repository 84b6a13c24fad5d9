"""The console's pages (`/` and `/console/**`): server-rendered HTML over the public API.

Every route here is `public` to the request pipeline because the console itself grants nothing:
a page forwards the caller's credential (shared.console.session) to the public API
(shared.console.api_client), so the API authenticates and authorizes it as it would any client.
Without a credential a page redirects to the sign-in form; an API 401 does the same; any other API
error is shown with its status and message. Writes need the CSRF token of the caller's credential.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from flask import Response

from shared.console import api_client, forms, render, session
from shared.console.api_client import ApiError
from shared.errors import ShoalError
from shared.http.api import RequestContext, Router
from shared.http.models import Reply

PAGE_MEDIA = "text/html; charset=utf-8"
HTML = Reply("An HTML page", media=PAGE_MEDIA)
AFTER_FORM = Reply("To the page that shows the result (the POST/redirect/GET pattern); to the sign-in form "
                   "without a credential", media=PAGE_MEDIA, headers={"Location": "the page to show next"})
TO_PAGE = {302: Reply("On to the tasks page (through /console/), or to the sign-in form without a credential",
                      media=PAGE_MEDIA, headers={"Location": "the page to show"})}
TO_SIGN_IN = Reply("To the sign-in form: no credential, or the API refused it (`next` is this page)",
                   media=PAGE_MEDIA, headers={"Location": "/console/sign-in?next=<this page>"})
RELAY = Reply("The API's SSE stream, relayed as it comes (resumes with Last-Event-ID)", media="text/event-stream")
ERROR_PAGE = Reply("The error page: the API's status and message (an HTML fragment for htmx)", media=PAGE_MEDIA)
# A page's errors are pages, whatever the API answered; 401 only where a redirect cannot be followed.
ERRORS: dict[int, str | Reply] = {
    400: Reply(ERROR_PAGE.description, media=PAGE_MEDIA, alternatives=(Reply(
        "A path the request pipeline refuses before the page runs (a control character): its JSON error",
        schema={"$ref": "#/components/schemas/simpleError"}),)),
    403: ERROR_PAGE, 404: ERROR_PAGE, 409: ERROR_PAGE, 502: ERROR_PAGE, 503: ERROR_PAGE,
    401: Reply("Not signed in, to a stream (text/plain) or an htmx request (HX-Redirect to the sign-in form)",
               media="text/plain", alternatives=(Reply(media=PAGE_MEDIA),))}


class ConsoleRouter(Router):
    """Console routes document what a browser gets: a page (or the sign-in redirect), a redirect after a
    form, a relay; and every error as a page (ERRORS)."""

    def route(self, rule: str, methods: Any = ("GET",), *, streaming: bool = False,  # type: ignore[override]
              responses: dict[int, str | Reply] | None = None, **kwargs: Any) -> Any:
        if responses is None:
            responses = {200: RELAY} if streaming else {303: AFTER_FORM} if "POST" in methods else \
                {200: HTML, 303: TO_SIGN_IN}
        # every page acts in ?namespace= unless it says otherwise
        kwargs.setdefault("query", "shared.console.queries:PageQuery")
        if "POST" in methods:
            kwargs.setdefault("body", forms.ACTION)
        return super().route(rule, methods, streaming=streaming, responses={**ERRORS, **responses}, **kwargs)


router = ConsoleRouter("", dialect="simple", tag="console")
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".txt": "text/plain; charset=utf-8", ".svg": "image/svg+xml"}
_STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SIGN_IN = "/console/sign-in"
PAGE_SIZE = 50
TOKEN_REQUIRED = "token is required"
TOKEN_REFUSED = "the API refused this token"


class View:
    """One console request: the caller's credential and the API calls made with it."""

    def __init__(self, ctx: RequestContext, cred: str) -> None:
        self.ctx = ctx
        self.cred = cred
        self.csrf = session.csrf_token(cred)

    @property
    def args(self) -> Any:
        return self.ctx.request.args

    @property
    def form(self) -> Any:
        return self.ctx.request.form

    @property
    def namespace(self) -> str:
        return self.args.get("namespace") or self.form.get("namespace") or ""

    def get(self, path: str, **params: Any) -> Any:
        return api_client.get(self.cred, path, **params)

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return api_client.call(self.cred, "POST", path, params=params, json=body).body

    def page(self, template: str, http_status: int = 200, **context: Any) -> Response:
        return render.page(template, http_status, csrf=self.csrf, signed_in=True, namespace=self.namespace,
                           **context)

    def sse(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None) -> Response:
        """Relay an API SSE stream; the browser's Last-Event-ID (header or ?lastEventId) goes along."""
        last = self.ctx.request.headers.get("Last-Event-ID") or self.args.get("lastEventId")
        status, content_type, chunks = api_client.stream(self.cred, method, path, params=params, json=json,
                                                         last_event_id=last)
        response = Response(chunks, status=status, content_type=content_type, direct_passthrough=True)
        response.headers["X-Accel-Buffering"] = "no"
        return render.secured(response)


def _q(value: str) -> str:
    return quote(value, safe="")


def _next_url(value: str | None) -> str:
    """Only a console path: never an open redirect."""
    if value and value.startswith("/console/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/console/tasks"


def _sign_in_redirect(ctx: RequestContext) -> Response:
    if ctx.request.headers.get("HX-Request"):
        return render.secured(Response(status=401, headers={"HX-Redirect": SIGN_IN}))
    target = ctx.request.full_path.rstrip("?") if ctx.request.method == "GET" else ""
    return render.redirect(SIGN_IN + (f"?{urlencode({'next': target})}" if target.startswith("/console/") else ""))


def _error(ctx: RequestContext, status: int, message: str, csrf: str = "") -> Response:
    if ctx.request.headers.get("HX-Request"):
        return render.page("fragment_error.html", status, message=message)
    return render.page("error.html", status, status=status, message=message, csrf=csrf,
                       signed_in=bool(csrf), namespace="")


def console_page(*, stream: bool = False) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """A page handler: credential or sign-in, CSRF on writes, API errors as pages."""

    def wrap(handler: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(handler)
        def run(ctx: RequestContext, **kwargs: Any) -> Response:
            cred = session.credential(ctx.request)
            if cred is None:
                if stream:
                    return render.secured(Response("not signed in\n", status=401, content_type="text/plain"))
                return _sign_in_redirect(ctx)
            view = View(ctx, cred)
            try:
                if ctx.route is not None and ctx.route.query is not None:
                    ctx.query()  # the parameters the page reads (view.args), as documented
                if ctx.request.method not in ("GET", "HEAD"):
                    session.check_csrf(ctx.request, cred)
                return handler(view, **kwargs)
            except ApiError as exc:
                if exc.status == 401 and not stream and ctx.request.method == "GET":
                    return _sign_in_redirect(ctx)
                return _error(ctx, exc.status, exc.message, view.csrf)
            except ShoalError as exc:
                return _error(ctx, exc.status, exc.message, view.csrf)

        return run

    return wrap


# -- entry, static, sign-in --------------------------------------------------------------------------
@router.route("/", ["GET"], public=True, summary="The console (redirect)", responses=TO_PAGE, query=None)
def root(ctx: RequestContext):
    return render.redirect("/console/", 302)


@router.route("/console/", ["GET"], public=True, summary="The console home", responses=TO_PAGE, query=None)
def home(ctx: RequestContext):
    return render.redirect("/console/tasks" if session.credential(ctx.request) else SIGN_IN, 302)


@router.route("/console/static/<filename>", ["GET"], public=True, summary="The console's static files",
              responses={200: Reply("The file, typed by its suffix", media=STATIC_TYPES[".js"], alternatives=tuple(
                                    Reply(media=media) for media in list(STATIC_TYPES.values())[1:])),
                         404: Reply("No such file", media="text/plain")}, query=None)
def static(ctx: RequestContext, filename: str):
    path = render.HERE / "static" / filename
    suffix = path.suffix
    if not _STATIC_NAME.match(filename) or suffix not in STATIC_TYPES or not path.is_file():
        return render.secured(Response("not found\n", status=404, content_type="text/plain"))
    response = Response(path.read_bytes(), content_type=STATIC_TYPES[suffix])
    response.headers["Cache-Control"] = "public, max-age=3600"
    return render.secured(response)


@router.route("/console/sign-in", ["GET"], public=True, summary="The sign-in form",
              query="shared.console.queries:SignInQuery")
def sign_in_form(ctx: RequestContext):
    nonce = session.new_login_nonce()
    response = render.page("sign_in.html", csrf=nonce, signed_in=False, namespace="",
                           next=_next_url(ctx.query().next), error=None)
    session.set_cookie(response, ctx.request, session.LOGIN_COOKIE, nonce, session.LOGIN_SECONDS)
    return response


@router.route("/console/sign-in", ["POST"], public=True, summary="Sign in with a token (kept in an HttpOnly cookie)",
              responses={303: Reply("To the page asked for (`next`), with the credential cookie", media=PAGE_MEDIA,
                                    headers={"Location": "the page to show", "Set-Cookie": "the credential (HttpOnly)"}),
                         400: Reply("The form again: no token", media=PAGE_MEDIA),
                         401: Reply("The form again: the API refused the token", media=PAGE_MEDIA)},
              query=None,
              body=forms.form("The sign-in form", "token", "next", required=("token",)))
def sign_in(ctx: RequestContext):
    try:
        session.check_login_csrf(ctx.request)
    except ShoalError as exc:
        return _error(ctx, exc.status, exc.message)
    token = (ctx.request.form.get("token") or "").strip()
    target = _next_url(ctx.request.form.get("next"))

    def again(status: int, message: str) -> Response:
        return render.page("sign_in.html", status, csrf=ctx.request.cookies.get(session.LOGIN_COOKIE, ""),
                           signed_in=False, namespace="", next=target, error=message)

    if not token:
        return again(400, TOKEN_REQUIRED)
    try:
        api_client.get(token, "/api/v1/auth/validate")
    except ApiError as exc:
        return again(exc.status if exc.status != 403 else 401,
                     TOKEN_REFUSED if exc.status in (401, 403) else exc.message)
    response = render.redirect(target)
    session.set_cookie(response, ctx.request, session.TOKEN_COOKIE, token)
    response.delete_cookie(session.LOGIN_COOKIE, path="/")
    return response


@router.route("/console/sign-out", ["POST"], public=True, summary="Sign out (clears the console's cookies)",
              query=None)
@console_page()
def sign_out(view: View):
    response = render.redirect(SIGN_IN)
    session.clear_credentials(response, view.ctx.request)
    return response


# -- tasks --------------------------------------------------------------------------------------------
TASK_FILTERS = ("phase", "type")


@router.route("/console/tasks", ["GET"], public=True, summary="Tasks: filters and cursor pages",
              query="shared.console.queries:TasksQuery")
@console_page()
def tasks_page(view: View):
    listing = view.get("/api/v1/tasks", namespace=view.namespace, labelSelector=view.args.get("labels"),
                       limit=PAGE_SIZE, **{"continue": view.args.get("continue")})
    wanted = {k: view.args.get(k) for k in TASK_FILTERS if view.args.get(k)}
    items = [t for t in listing.get("items", [])
             if (not wanted.get("phase") or (t.get("status") or {}).get("phase") == wanted["phase"])
             and (not wanted.get("type") or (t.get("spec") or {}).get("type") == wanted["type"])]
    cursor = (listing.get("metadata") or {}).get("continue")
    keep = {k: view.args.get(k) for k in ("namespace", "phase", "type", "labels") if view.args.get(k)}
    next_url = f"/console/tasks?{urlencode({**keep, 'continue': cursor})}" if cursor else None
    return view.page("tasks.html", title="Tasks", nav="tasks", items=items, filters=keep, next_url=next_url)


@router.route("/console/tasks", ["POST"], public=True, summary="Create a task",
              body=forms.form("A new task", "name", "prompt", "agentRef", "type"))
@console_page()
def create_task(view: View):
    body = {k: view.form.get(k).strip() for k in ("name", "prompt", "agentRef", "namespace")
            if (view.form.get(k) or "").strip()}
    body["type"] = view.form.get("type") or "ai"
    created = view.post("/api/v1/tasks", body)
    meta = created.get("metadata") or {}
    return render.redirect(f"/console/tasks/{_q(meta.get('name', ''))}?{urlencode({'namespace': meta.get('namespace', '')})}")


@router.route("/console/tasks/<name>", ["GET"], public=True, summary="A task: status, live stream, plan, children")
@console_page()
def task_page(view: View, name: str):
    task = view.get(f"/api/v1/tasks/{_q(name)}", namespace=view.namespace)
    return view.page("task.html", title=f"Task {name}", nav="tasks", task=task, name=name,
                     ns=(task.get("metadata") or {}).get("namespace", view.namespace))


TASK_PARTS = {"result": "/result", "plan": "/plan", "children": "/children", "artifacts": "/artifacts"}


@router.route("/console/tasks/<name>/part/<part>", ["GET"], public=True, summary="A part of a task page (htmx)",
              query="shared.console.queries:TaskPartQuery")
@console_page()
def task_part(view: View, name: str, part: str):
    if part not in TASK_PARTS:
        raise ApiError(404, f"unknown part {part}")
    try:
        data = view.get(f"/api/v1/tasks/{_q(name)}{TASK_PARTS[part]}", namespace=view.namespace)
    except ApiError as exc:
        if exc.status != 404:
            raise
        data = None  # no result or plan yet: an empty state, not an error
    return view.page(f"task_{part}.html", name=name, data=data, ns=view.namespace, nested=bool(view.args.get("nested")))


@router.route("/console/tasks/<name>/events", ["GET"], public=True, streaming=True,
              summary="The task's SSE stream (resumes with Last-Event-ID)",
              query="shared.console.queries:StreamQuery")
@console_page(stream=True)
def task_events(view: View, name: str):
    return view.sse("GET", f"/api/v1/tasks/{_q(name)}/stream", params={"namespace": view.namespace})


@router.route("/console/tasks/<name>/cancel", ["POST"], public=True, summary="Cancel a task")
@console_page()
def cancel_task(view: View, name: str):
    view.post(f"/api/v1/tasks/{_q(name)}/cancel", namespace=view.namespace)
    return render.redirect(f"/console/tasks/{_q(name)}?{urlencode({'namespace': view.namespace})}")


RETRY_OF = "shoal.dev/retry-of"
RETRY_ATTEMPTS = 20


@router.route("/console/tasks/<name>/retry", ["POST"], public=True, summary="Retry a task (a new task, same spec)")
@console_page()
def retry_task(view: View, name: str):
    """The API has no retry (Orka has none): a retry is a new task with the same spec and labels, named
    `<first>-retry-N` (the first free N) and annotated with the first task of the chain. Only ended tasks."""
    task = view.get(f"/api/v1/tasks/{_q(name)}", namespace=view.namespace)
    meta, phase = task.get("metadata") or {}, (task.get("status") or {}).get("phase")
    if phase not in ("Succeeded", "Failed", "Cancelled"):
        raise ApiError(409, f"task {name} is {phase or 'not started'}: only an ended task can be retried")
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if not k.startswith("orka.ai/")}
    base = (meta.get("annotations") or {}).get(RETRY_OF) or name  # a retry of a retry counts from the first
    annotations = {**{k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith("orka.ai/")},
                   RETRY_OF: base}
    for attempt in range(1, RETRY_ATTEMPTS + 1):
        body = {"name": f"{base}-retry-{attempt}"[:253], "namespace": meta.get("namespace") or view.namespace,
                "labels": labels, "annotations": annotations, "spec": task.get("spec") or {}}
        try:
            created = view.post("/api/v1/tasks", body)
        except ApiError as exc:
            if exc.status == 409:
                continue  # that name is taken: the next one
            raise
        made = created.get("metadata") or {}
        return render.redirect(f"/console/tasks/{_q(made.get('name', ''))}?"
                               f"{urlencode({'namespace': made.get('namespace', '')})}")
    raise ApiError(409, f"task {name} has been retried {RETRY_ATTEMPTS} times already")


@router.route("/console/tasks/<name>/artifacts/<filename>", ["GET"], public=True, summary="Download an artifact",
              responses={200: Reply("The artifact, as an attachment", media="application/octet-stream"),
                         303: TO_SIGN_IN})
@console_page()
def artifact(view: View, name: str, filename: str):
    answer = api_client.call(view.cred, "GET", f"/api/v1/tasks/{_q(name)}/artifacts/{_q(filename)}",
                             params={"namespace": view.namespace}, raw=True)
    response = Response(answer.body, content_type="application/octet-stream")
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{_q(filename)}"
    return render.secured(response)


# -- chat ---------------------------------------------------------------------------------------------
@router.route("/console/chat", ["GET"], public=True, summary="Chat: sessions and a conversation",
              query="shared.console.queries:SessionQuery")
@console_page()
def chat_page(view: View):
    sessions = view.get("/api/v1/sessions", namespace=view.namespace, limit=PAGE_SIZE)
    return view.page("chat.html", title="Chat", nav="chat", sessions=sessions.get("items", []),
                     session_id=view.args.get("session", ""))


@router.route("/console/chat/sessions/<session_id>", ["GET"], public=True, summary="A session's transcript (htmx)")
@console_page()
def chat_transcript(view: View, session_id: str):
    data = view.get(f"/api/v1/sessions/{_q(session_id)}", namespace=view.namespace)
    if isinstance(data.get("transcript"), str):  # the Sessions API's JSONL: one message per line
        import json

        data = {**data, "transcript": [json.loads(line) for line in data["transcript"].splitlines() if line.strip()]}
    return view.page("chat_transcript.html", data=data)


@router.route("/console/chat/send", ["POST"], public=True, streaming=True, summary="Send a message (SSE relay)",
              body=forms.form("A chat message", "message", "sessionId", required=("message",)))
@console_page(stream=True)
def chat_send(view: View):
    message = (view.form.get("message") or "").strip()
    if not message:
        raise ApiError(400, "message is required")
    body = {"message": message}
    for key in ("sessionId", "namespace"):
        if (view.form.get(key) or "").strip():
            body[key] = view.form[key].strip()
    return view.sse("POST", "/api/v1/chat", json=body)


@router.route("/console/chat/<session_id>/events", ["GET"], public=True, streaming=True,
              summary="A session's SSE replay and tail (resumes with Last-Event-ID)",
              query="shared.console.queries:StreamQuery")
@console_page(stream=True)
def chat_events(view: View, session_id: str):
    return view.sse("GET", f"/api/v1/chat/{_q(session_id)}/stream", params={"namespace": view.namespace})


@router.route("/console/chat/<session_id>/cancel", ["POST"], public=True, summary="Cancel a chat session")
@console_page()
def chat_cancel(view: View, session_id: str):
    api_client.call(view.cred, "DELETE", f"/api/v1/chat/{_q(session_id)}", params={"namespace": view.namespace})
    return render.redirect("/console/chat")


# -- incidents ----------------------------------------------------------------------------------------
@router.route("/console/incidents", ["GET"], public=True, summary="Incidents: operator analyses; open a session",
              responses={200: HTML, 303: TO_SIGN_IN,
                         302: Reply("With ?session=: on to that session's page", media=PAGE_MEDIA,
                                    headers={"Location": "/console/incidents/<session>"})},
              query="shared.console.queries:SessionQuery")
@console_page()
def incidents_page(view: View):
    session_id = (view.args.get("session") or "").strip()
    if session_id:
        return render.redirect(f"/console/incidents/{_q(session_id)}", 302)
    analyses = view.get("/analyses", limit=PAGE_SIZE)
    items = analyses if isinstance(analyses, list) else analyses.get("items", analyses.get("analyses", []))
    return view.page("incidents.html", title="Incidents", nav="incidents", items=items)


@router.route("/console/incidents/<session_id>", ["GET"], public=True, summary="A Kubernaut session")
@console_page()
def incident_page(view: View, session_id: str):
    status = view.get(f"/api/v1/incident/session/{_q(session_id)}")
    return view.page("incident.html", title=f"Incident {session_id}", nav="incidents", status=status,
                     session_id=session_id)


@router.route("/console/incidents/<session_id>/result", ["GET"], public=True, summary="The investigation result (htmx)")
@console_page()
def incident_result(view: View, session_id: str):
    try:
        data = view.get(f"/api/v1/incident/session/{_q(session_id)}/result")
    except ApiError as exc:
        if exc.status not in (404, 409):
            raise
        data = None
    return view.page("incident_result.html", data=data)


@router.route("/console/incidents/<session_id>/events", ["GET"], public=True, streaming=True,
              summary="The live investigation stream", query="shared.console.queries:StreamQuery")
@console_page(stream=True)
def incident_events(view: View, session_id: str):
    return view.sse("GET", f"/api/v1/incident/session/{_q(session_id)}/stream")


# -- security -----------------------------------------------------------------------------------------
@router.route("/console/security", ["GET"], public=True, summary="Security: repository scans")
@console_page()
def security_page(view: View):
    repos = view.get("/api/v1/security/repositories", namespace=view.namespace)
    return view.page("security.html", title="Security", nav="security", items=_items(repos))


FINDING_FILTERS = ("severity", "state", "validationStatus", "category")


@router.route("/console/security/<repo>", ["GET"], public=True, summary="A repository's findings (filters)",
              query="shared.console.queries:FindingsQuery")
@console_page()
def findings_page(view: View, repo: str):
    filters = {k: view.args.get(k) for k in FINDING_FILTERS if view.args.get(k)}
    findings = view.get(f"/api/v1/security/repositories/{_q(repo)}/findings", namespace=view.namespace, **filters)
    return view.page("findings.html", title=f"Findings of {repo}", nav="security", repo=repo,
                     items=_items(findings), filters=filters)


@router.route("/console/security/findings/<finding_id>/<action>", ["POST"], public=True,
              summary="Dismiss or reopen a finding, with a reason",
              body=forms.form("Dismiss (with a reason) or reopen", "reason", "back"))
@console_page()
def finding_action(view: View, finding_id: str, action: str):
    if action not in ("dismiss", "reopen"):
        raise ApiError(404, f"unknown action {action}")
    reason = (view.form.get("reason") or "").strip()
    view.post(f"/api/v1/security/findings/{_q(finding_id)}/{action}", {"reason": reason} if reason else {},
              namespace=view.namespace)
    return render.redirect(_next_url(view.form.get("back")))


# -- reviews ------------------------------------------------------------------------------------------
@router.route("/console/reviews", ["GET"], public=True, summary="Memory proposals to review",
              query="shared.console.queries:ReviewsQuery")
@console_page()
def reviews_page(view: View):
    status = view.args.get("status", "pending")
    proposals = view.get("/api/v1/memory-proposals", namespace=view.namespace, status=status, limit=PAGE_SIZE)
    return view.page("reviews.html", title="Reviews", nav="reviews", items=_items(proposals), status=status)


@router.route("/console/reviews/<proposal_id>/<action>", ["POST"], public=True,
              summary="Approve, reject or apply a memory proposal",
              body=forms.form("Accept, reject (with a note) or apply", "note"))
@console_page()
def review_action(view: View, proposal_id: str, action: str):
    path = f"/api/v1/memory-proposals/{_q(proposal_id)}"
    if action in ("accepted", "rejected"):
        view.post(path + "/review", {"status": action, "reviewNote": view.form.get("note") or ""},
                  namespace=view.namespace)
    elif action == "apply":
        view.post(path + "/apply", {}, namespace=view.namespace)
    else:
        raise ApiError(404, f"unknown action {action}")
    return render.redirect("/console/reviews" + (f"?{urlencode({'namespace': view.namespace})}" if view.namespace else ""))


@router.route("/console/memories", ["GET"], public=True, summary="Durable memories")
@console_page()
def memories_page(view: View):
    memories = view.get("/api/v1/memories", namespace=view.namespace, limit=PAGE_SIZE)
    return view.page("memories.html", title="Memories", nav="reviews", items=_items(memories))


# -- catalog and jobs ---------------------------------------------------------------------------------
CATALOG = {"agents": "/api/v1/agents", "skills": "/api/v1/skills", "tools": "/api/v1/tools"}


@router.route("/console/catalog", ["GET"], public=True, summary="The catalog (agents)",
              responses={302: Reply("On to the agents", media=PAGE_MEDIA, headers={"Location": "/console/catalog/agents"})},
              query=None)
def catalog_home(ctx: RequestContext):
    return render.redirect("/console/catalog/agents", 302)


@router.route("/console/catalog/<kind>", ["GET"], public=True, summary="Catalog: agents, skills or tools")
@console_page()
def catalog_page(view: View, kind: str):
    if kind not in CATALOG:
        raise ApiError(404, f"unknown catalog kind {kind}")
    listing = view.get(CATALOG[kind], namespace=view.namespace)
    return view.page("catalog.html", title=f"Catalog: {kind}", nav="catalog", kind=kind, items=_items(listing))


@router.route("/console/catalog/<kind>/<name>", ["GET"], public=True, summary="A catalog entry, to read and edit")
@console_page()
def catalog_item(view: View, kind: str, name: str):
    if kind not in CATALOG:
        raise ApiError(404, f"unknown catalog kind {kind}")
    item = view.get(f"{CATALOG[kind]}/{_q(name)}", namespace=view.namespace)
    return view.page("catalog_item.html", title=f"{kind[:-1].capitalize()} {name}", nav="catalog", kind=kind,
                     name=name, item=item)


@router.route("/console/catalog/<kind>/<name>", ["POST"], public=True, summary="Save a catalog entry (PUT)",
              body=forms.form("The entry, as JSON", "document", required=("document",)))
@console_page()
def save_catalog_item(view: View, kind: str, name: str):
    import json

    if kind not in CATALOG:
        raise ApiError(404, f"unknown catalog kind {kind}")
    try:
        document = json.loads(view.form.get("document") or "")
    except ValueError:
        raise ApiError(400, "document must be a JSON object") from None
    if not isinstance(document, dict):
        raise ApiError(400, "document must be a JSON object")
    api_client.call(view.cred, "PUT", f"{CATALOG[kind]}/{_q(name)}", params={"namespace": view.namespace},
                    json=document)
    return render.redirect(f"/console/catalog/{kind}/{_q(name)}?{urlencode({'namespace': view.namespace})}")


@router.route("/console/jobs", ["GET"], public=True, summary="Labrats jobs",
              query="shared.console.queries:JobsQuery")
@console_page()
def jobs_page(view: View):
    page_no = view.args.get("page", "1")
    listing = view.get("/api/jobs", page=page_no, limit=PAGE_SIZE)
    return view.page("jobs.html", title="Jobs", nav="jobs", items=listing.get("jobs", []), listing=listing)


@router.route("/console/jobs/<job_id>", ["GET"], public=True, summary="A labrats job")
@console_page()
def job_page(view: View, job_id: str):
    job = view.get(f"/api/jobs/{_q(job_id)}")
    return view.page("job.html", title=f"Job {job_id}", nav="jobs", job=job)


@router.route("/console/jobs/<job_id>/<action>", ["POST"], public=True, summary="Retry or cancel a labrats job")
@console_page()
def job_action(view: View, job_id: str, action: str):
    if action not in ("retry", "cancel"):
        raise ApiError(404, f"unknown action {action}")
    view.post(f"/api/jobs/{_q(job_id)}/{action}", {})
    return render.redirect(f"/console/jobs/{_q(job_id)}")


@router.route("/console/labrats-agents", ["GET"], public=True, summary="Labrats agents and their triggers")
@console_page()
def labrats_agents_page(view: View):
    agents = view.get("/api/agents")
    return view.page("labrats_agents.html", title="Job agents", nav="jobs", items=_items(agents))


@router.route("/console/api-keys", ["GET"], public=True, summary="Labrats API keys")
@console_page()
def api_keys_page(view: View):
    keys = view.get("/api/api-keys")
    return view.page("api_keys.html", title="API keys", nav="jobs", items=_items(keys), created=None)


@router.route("/console/api-keys", ["POST"], public=True, summary="Create an API key (shown once)",
              body=forms.form("A new API key", "name", required=("name",)))
@console_page()
def create_api_key(view: View):
    created = view.post("/api/api-keys", {"name": (view.form.get("name") or "").strip()})
    keys = view.get("/api/api-keys")
    return view.page("api_keys.html", 201, title="API keys", nav="jobs", items=_items(keys), created=created)


def _items(listing: Any) -> list[Any]:
    """The rows of a list answer, whichever dialect's envelope it has."""
    if isinstance(listing, list):
        return listing
    if isinstance(listing, dict):
        for key in ("items", "findings", "keys", "agents", "skills", "tools", "memories", "proposals"):
            if isinstance(listing.get(key), list):
                return listing[key]
    return []
