"""`shoal agents|skills|tools|memories|proposals|sessions get|list|apply|delete`, and `shoal apply -f`.

Manifests are Orka's shapes (`apiVersion: core.orka.ai/v1alpha1`, `kind`, `metadata`, `spec`). Apply
is create-or-replace for the named kinds (POST, then PUT of the spec on 409 `already exists`), and
create for the kinds the API names itself (memories and memory proposals get server ids; a memory
manifest that carries an `id` is updated in place).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import click

from shared.apiclient import ApiError, ShoalClient, agent_model
from shoal_cli.manifests import load_manifests
from shoal_cli.output import Column, age, echo, info, render
from shoal_cli.state import State, namespace_option, output_option, pass_state


def name_of(obj: dict) -> str:
    return str((obj.get("metadata") or {}).get("name") or obj.get("name") or obj.get("id") or "")


def _short(text: Any, width: int = 60) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class Resource:
    noun: str                 # the command and the path segment
    kind: str                 # the manifest kind
    singular: str             # kubectl's `-o name` prefix
    path: str
    columns: list[Column]
    wide: list[Column] = field(default_factory=list)
    apply: str | None = "upsert"   # "upsert", "create" or None (the API has no create route)

    def item(self, name: str) -> str:
        return f"{self.path}/{quote(name, safe='')}"


def _k8s_columns() -> list[Column]:
    return [("NAME", name_of), ("AGE", lambda o: age((o.get("metadata") or {}).get("creationTimestamp")))]


RESOURCES = [
    Resource("agents", "Agent", "agent", "/api/v1/agents",
             [("NAME", name_of), ("MODEL", agent_model),
              ("RUNTIME", lambda o: ((o.get("spec") or {}).get("runtime") or {}).get("type")),
              ("AGE", lambda o: age((o.get("metadata") or {}).get("creationTimestamp")))],
             [("DESCRIPTION", lambda o: _short((o.get("spec") or {}).get("description")))]),
    Resource("skills", "Skill", "skill", "/api/v1/skills",
             [("NAME", name_of), ("VERSION", lambda o: o.get("version") or (o.get("spec") or {}).get("version")),
              ("DESCRIPTION", lambda o: _short(o.get("description") or (o.get("spec") or {}).get("description")))],
             [("TAGS", lambda o: o.get("tags") or (o.get("spec") or {}).get("tags"))]),
    Resource("tools", "Tool", "tool", "/api/v1/tools",
             [("NAME", name_of), ("BUILTIN", lambda o: str(bool(o.get("builtin"))).lower()),
              ("DESCRIPTION", lambda o: _short(o.get("description") or (o.get("spec") or {}).get("description")))],
             [("URL", lambda o: o.get("url"))]),
    Resource("memories", "Memory", "memory", "/api/v1/memories",
             [("ID", name_of), ("CONTENT", lambda o: _short(o.get("content"), 50)), ("TAGS", lambda o: o.get("tags")),
              ("AGE", lambda o: age(o.get("updatedAt")))],
             [("SOURCE", lambda o: o.get("source")), ("AGENT", lambda o: o.get("agentName"))], apply="create"),
    Resource("proposals", "MemoryProposal", "memoryproposal", "/api/v1/memory-proposals",
             [("ID", name_of), ("TYPE", lambda o: o.get("type")), ("STATUS", lambda o: o.get("status")),
              ("TITLE", lambda o: _short(o.get("title"), 50))],
             [("AGE", lambda o: age(o.get("createdAt")))], apply="create"),
    Resource("sessions", "Session", "session", "/api/v1/sessions",
             [("NAME", name_of), ("TYPE", lambda o: o.get("sessionType")),
              ("MESSAGES", lambda o: o.get("messageCount")), ("AGE", lambda o: age(o.get("updatedAt")))],
             [("ACTIVE TASK", lambda o: o.get("activeTask")), ("INPUT TOKENS", lambda o: o.get("inputTokens")),
              ("OUTPUT TOKENS", lambda o: o.get("outputTokens"))], apply=None),
    Resource("scans", "RepositoryScan", "repositoryscan", "/api/v1/security/repositories", _k8s_columns()),
]
BY_KIND = {r.kind: r for r in RESOURCES}


def show(state: State, res: Resource, objects: Any, *, single: bool, raw: Any = None) -> None:
    echo(render(objects, state.fmt(), kind=res.singular, columns=res.columns, wide=res.wide, name=name_of,
                single=single, raw=raw))


def show_list(state: State, res: Resource, items: list[dict]) -> None:
    if not items and state.fmt() in ("table", "wide"):
        info(f"No {res.noun} found.")
    show(state, res, items, single=False, raw={"items": items} if state.fmt() in ("json", "yaml") else None)


def list_all(client: ShoalClient, res: Resource, params: dict[str, Any], limit: int) -> list[dict]:
    items: list[dict] = []
    cont = None
    while True:
        page = client.call("GET", res.path, params={**params, "continue": cont})
        items.extend(page.get("items") or [])
        cont = (page.get("metadata") or {}).get("continue")
        if not cont or (limit and len(items) >= limit):
            return items[:limit] if limit else items


def apply_one(client: ShoalClient, doc: dict[str, Any], namespace: str | None) -> str:
    """Create or replace one manifest; returns kubectl's `<kind>/<name> created|configured` line."""
    kind = doc.get("kind")
    res = BY_KIND.get(kind or "")
    if res is None:
        raise click.UsageError(f"cannot apply kind {kind!r}: one of {', '.join(sorted(BY_KIND))} (tasks: "
                               "`shoal tasks create -f`)")
    if res.apply is None:
        raise click.UsageError(f"{res.noun} cannot be applied: the API creates them (chat and task workers)")
    metadata = dict(doc.get("metadata") or {})
    ns = metadata.get("namespace") or namespace
    params = {"namespace": ns} if ns else None
    if res.apply == "create":
        body = dict(doc["spec"]) if isinstance(doc.get("spec"), dict) else {
            k: v for k, v in doc.items() if k not in ("apiVersion", "kind", "metadata")}
        ident = body.pop("id", None) or (metadata.get("name") if kind == "Memory" and "spec" in doc else None)
        if ident and kind == "Memory":
            try:
                client.call("PUT", res.item(ident), json_body=body, params=params, namespaced=ns is None)
                return f"{res.singular}/{ident} configured"
            except ApiError as exc:
                if exc.status != 404:
                    raise
        created = client.call("POST", res.path, json_body=body, params=params, namespaced=ns is None)
        return f"{res.singular}/{name_of(created)} created"
    name = metadata.get("name")
    if not name:
        raise click.UsageError(f"a {kind} manifest needs metadata.name")
    body = {"metadata": {k: metadata[k] for k in ("name", "namespace", "labels", "annotations") if k in metadata},
            "spec": doc.get("spec") or {}}
    try:
        client.call("POST", res.path, json_body=body, params=params, namespaced=ns is None)
        return f"{res.singular}/{name} created"
    except ApiError as exc:
        if exc.status != 409 or "already exists" not in exc.message:
            raise
    client.call("PUT", res.item(name), json_body=body, params=params, namespaced=ns is None)
    return f"{res.singular}/{name} configured"


def apply_file(state: State, filename: str, only: Resource | None) -> None:
    docs = load_manifests(filename)
    if only is not None:
        for doc in docs:
            doc.setdefault("kind", only.kind)
            if doc["kind"] != only.kind:
                raise click.UsageError(f"{filename}: {only.noun} apply takes kind {only.kind}, not {doc['kind']}")
    client = state.client()
    failed = 0
    for doc in docs:
        try:
            echo(apply_one(client, doc, state.namespace))
        except ApiError as exc:  # report each manifest, like kubectl, then exit 1
            failed += 1
            info(f"error: {doc.get('kind')}/{name_of(doc) or '?'}: {exc}")
    if failed:
        sys.exit(1)


def make_group(res: Resource) -> click.Group:
    group = click.Group(res.noun, help=f"{res.kind} resources ({res.path}).")

    @group.command("list")
    @click.option("--limit", type=int, default=0, help="At most this many (default: all pages).")
    @click.option("-q", "--query", help="Search text (memories and proposals).")
    @click.option("--tags", help="Comma-separated tags that must all match (memories).")
    @namespace_option
    @output_option
    @pass_state
    def list_cmd(state: State, limit: int, query: str | None, tags: str | None) -> None:
        show_list(state, res, list_all(state.client(), res, {"q": query, "tags": tags}, limit))

    list_cmd.help = f"List {res.noun}."

    @group.command("get")
    @click.argument("names", nargs=-1)
    @namespace_option
    @output_option
    @pass_state
    def get_cmd(state: State, names: tuple[str, ...]) -> None:
        client = state.client()
        if not names:
            show_list(state, res, list_all(client, res, {}, 0))
            return
        found = [client.call("GET", res.item(n)) for n in names]
        show(state, res, found[0] if len(found) == 1 else found, single=len(found) == 1)

    get_cmd.help = f"Show {res.noun} (all of them without a name)."

    @group.command("delete")
    @click.argument("names", nargs=-1, required=True)
    @namespace_option
    @pass_state
    def delete_cmd(state: State, names: tuple[str, ...]) -> None:
        for name in names:
            state.client().call("DELETE", res.item(name))
            echo(f'{res.singular} "{name}" deleted')

    delete_cmd.help = f"Delete {res.noun}."

    if res.apply is not None:
        @group.command("apply")
        @click.option("-f", "--filename", required=True, type=click.Path(dir_okay=False, allow_dash=True),
                      help="YAML/JSON manifests (`-` for stdin).")
        @namespace_option
        @pass_state
        def apply_cmd(state: State, filename: str) -> None:
            apply_file(state, filename, res)

        apply_cmd.help = f"Create or update {res.noun} from {res.kind} manifests."
    return group


@click.command("apply")
@click.option("-f", "--filename", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="YAML/JSON manifests of any kind the API stores (`-` for stdin).")
@namespace_option
@pass_state
def apply_any(state: State, filename: str) -> None:
    """Create or update resources from manifests (Agent, Skill, Tool, Memory, MemoryProposal, RepositoryScan)."""
    apply_file(state, filename, None)


def register(cli: click.Group) -> None:
    for res in RESOURCES:
        if res.noun != "scans":  # scans live under `shoal security`
            group = make_group(res)
            cli.add_command(group)
    cli.add_command(apply_any)


def resource(noun: str) -> Resource:
    return next(r for r in RESOURCES if r.noun == noun)

