"""The project's import graph, read from the source with `ast` (stdlib only, nothing imported).

Shared by tests/kbsite/test_layering.py (no cycles, no hidden imports, layering rules) and
scripts/architecture.py (the diagram in docs/architecture.md), so both see the same graph.

- A *project module* is a .py file under one of PACKAGES, named by its dotted path
  (`cpus/cpuid/__init__.py` is `cpus.cpuid`).
- A *top-level import* is an import that runs when the module is imported: in the module body,
  including inside module-level `if`/`try`/`with` blocks and class bodies, but not inside a
  function. Imports under `if TYPE_CHECKING:` never run and are left out.
- An edge goes from the importing module to the project module it names: `import a.b` and
  `from a.b import c` give an edge to `a.b`, or to `a.b.c` when `c` is itself a module.
  Relative imports are resolved against the importing module's package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kbsite", "cpus", "migrations_log", "client")
# The kbsite modules that put the apps together and so may import any of them (the layering
# test and the architecture page both read this): the URLconfs, the account pages (a user's
# hosts and drift webhooks) and the API's one error mapping (it names the apps' service errors).
KBSITE_COMPOSITION = frozenset(
    {"kbsite.urls", "kbsite.api_urls", "kbsite.accounts", "kbsite.api_errors"}
)


@dataclass(frozen=True)
class ImportSite:
    """One import statement naming a project module."""

    module: str  # the importing module
    target: str  # the project module imported
    lineno: int
    function: str | None  # the enclosing function's name, or None for a top-level import


def module_name(path: Path, root: Path = REPO_ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_files(root: Path = REPO_ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    """Every project module by dotted name (migrations included)."""
    files: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            files[module_name(path, root)] = path
    return files


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk_imports(
    node: ast.AST, scope: str, in_function: bool
) -> Iterator[tuple[ast.Import | ast.ImportFrom, str | None]]:
    """Every import statement below ``node``, with the qualified name of the function it is in
    (``Class.method``, ``outer.inner``), or None when it runs at import time."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, scope if in_function else None
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            inner = f"{scope}.{child.name}" if scope else child.name
            function = in_function or not isinstance(child, ast.ClassDef)
            yield from _walk_imports(child, inner, function)
        elif isinstance(child, ast.Lambda):
            yield from _walk_imports(child, f"{scope}.<lambda>" if scope else "<lambda>", True)
        elif isinstance(child, ast.If) and not in_function and _is_type_checking(child.test):
            # The `if TYPE_CHECKING:` body never runs; its `else:` does.
            yield from _walk_imports(ast.Module(body=child.orelse, type_ignores=[]), scope, False)
        else:
            yield from _walk_imports(child, scope, in_function)


class ImportGraph:
    """The import statements of every project module, and the module graph they draw."""

    def __init__(self, root: Path = REPO_ROOT, packages: Iterable[str] = PACKAGES) -> None:
        self.root = root
        self.packages = tuple(packages)
        self.files = project_files(root, self.packages)
        self.modules = set(self.files)
        self.sites: list[ImportSite] = []
        # Imports of anything else (the standard library, Django ...): target is the module
        # name as written, e.g. "django.db" or "json".
        self.external: list[ImportSite] = []
        for name, path in self.files.items():
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            is_package = path.name == "__init__.py"
            for statement, function in _walk_imports(tree, "", False):
                for target in self._targets(statement, name, is_package):
                    self.sites.append(ImportSite(name, target, statement.lineno, function))
                for outside in self._external(statement):
                    self.external.append(ImportSite(name, outside, statement.lineno, function))

    def _existing(self, dotted: str) -> str | None:
        """The longest prefix of `dotted` that is a project module."""
        parts = dotted.split(".")
        while parts:
            candidate = ".".join(parts)
            if candidate in self.modules:
                return candidate
            parts.pop()
        return None

    def _targets(
        self, statement: ast.Import | ast.ImportFrom, module: str, is_package: bool
    ) -> list[str]:
        if isinstance(statement, ast.Import):
            found = (self._existing(alias.name) for alias in statement.names)
            return [target for target in found if target]
        base = statement.module or ""
        if statement.level:
            package = module.split(".") if is_package else module.split(".")[:-1]
            package = package[: len(package) - (statement.level - 1)]
            base = ".".join([*package, *([base] if base else [])])
        targets = []
        for alias in statement.names:
            submodule = f"{base}.{alias.name}" if base else alias.name
            if submodule in self.modules:
                targets.append(submodule)
            elif (target := self._existing(base)) is not None:
                targets.append(target)
        return sorted(set(targets))

    def _external(self, statement: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(statement, ast.Import):
            names = [alias.name for alias in statement.names]
        else:
            names = [] if statement.level else [statement.module or ""]
        return [n for n in names if n.split(".")[0] not in self.packages]

    def function_level(self) -> list[ImportSite]:
        """Imports of a project module made inside a function body."""
        return [site for site in self.sites if site.function is not None]

    def edges(self, include: Iterable[str] | None = None) -> set[tuple[str, str]]:
        """Top-level import edges between project modules (self-imports left out)."""
        keep = set(include) if include is not None else None
        return {
            (site.module, site.target)
            for site in self.sites
            if site.function is None
            and site.module != site.target
            and (keep is None or (site.module in keep and site.target in keep))
        }

    def cycles(self, include: Iterable[str] | None = None) -> list[list[str]]:
        """The strongly connected components with more than one module, each as one cycle."""
        graph: dict[str, set[str]] = {}
        for source, target in self.edges(include):
            graph.setdefault(source, set()).add(target)
            graph.setdefault(target, set())
        return [_one_cycle(component, graph) for component in _components(graph)]


def _components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components (iterative), only those with 2+ nodes."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
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


def _one_cycle(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the component's first module, ending where it starts."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return component  # unreachable for a strongly connected component


def format_cycle(cycle: list[str]) -> str:
    return " -> ".join(cycle)
