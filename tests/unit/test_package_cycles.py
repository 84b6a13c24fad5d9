"""No import loops in `shared`: not between its packages, not between the files of one package.

Every import of a `shared` module counts, wherever it is written: at module level, inside a function
(a deferred import still ties the two modules together, it only hides the loop until run time) and
under `if TYPE_CHECKING:`. A package is `shared/<pkg>/`; a top-level module such as
`shared/settings.py` is a node of its own.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"


def module_names() -> dict[str, Path]:
    """Every module under shared, by dotted name (a package by its own name, not `.__init__`)."""
    names = {}
    for path in SHARED.rglob("*.py"):
        parts = path.relative_to(SHARED.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def imported_modules(path: Path, known: dict[str, Path]) -> set[str]:
    """The shared modules `path` imports, anywhere in the file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("shared.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module != "shared" and not node.module.startswith("shared."):
                continue
            for alias in node.names:
                # `from shared.x import y` names the module shared.x.y when there is one
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
    return {m for m in found if m in known}


def import_graph() -> dict[str, set[str]]:
    known = module_names()
    return {name: imported_modules(path, known) - {name} for name, path in known.items()}


def package_of(module: str) -> str:
    """`shared.tasks.scheduler` → `tasks`; `shared.settings` → `settings`."""
    return module.split(".")[1] if module != "shared" else "shared"


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative): the components with more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def describe(component: list[str], graph: dict[str, set[str]], edges: dict[tuple[str, str], set[str]]) -> str:
    """A loop, with the imports that close it (`a -> b (via shared.a.x -> shared.b.y)`)."""
    members = set(component)
    lines = [" <-> ".join(component)]
    for source in component:
        for target in sorted(graph[source] & members):
            via = ", ".join(sorted(edges.get((source, target), ())))
            lines.append(f"  {source} -> {target}" + (f"  ({via})" if via else ""))
    return "\n".join(lines)


def package_graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], set[str]]]:
    graph: dict[str, set[str]] = defaultdict(set)
    edges: dict[tuple[str, str], set[str]] = defaultdict(set)
    for source, targets in import_graph().items():
        graph[package_of(source)]
        for target in targets:
            a, b = package_of(source), package_of(target)
            if a != b and "shared" not in (a, b):
                graph[a].add(b)
                edges[(a, b)].add(f"{source} -> {target}")
    return graph, edges


def test_no_import_loop_between_shared_packages():
    graph, edges = package_graph()
    loops = strongly_connected(graph)
    assert not loops, "import loops between shared packages:\n" + "\n".join(describe(c, graph, edges) for c in loops)


def test_no_import_loop_between_files():
    graph = import_graph()
    loops = strongly_connected(graph)
    assert not loops, "import loops between shared modules:\n" + "\n".join(describe(c, graph, {}) for c in loops)


def test_the_loop_finder_finds_a_loop():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_deferred_imports_are_counted(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    from shared.tasks import scheduler\n    import shared.settings\n")
    known = {"shared.tasks": Path(), "shared.tasks.scheduler": Path(), "shared.settings": Path()}
    assert imported_modules(module, known) == {"shared.tasks.scheduler", "shared.settings"}
