"""The project's imports, read from the source (scripts/importgraph.py, the graph the
architecture page draws): no cycle, no function-level import hiding one, and the layers.

The layers (a module may import its own layer and the layers below it):

1. **The core** ``cpus/cpuid/``: pure Python.  It imports no project module outside
   ``cpus/cpuid/`` and no third-party package but ``CORE_THIRD_PARTY`` (so no Django, DRF or
   Celery), not even inside a function.
2. **The site's shared bits** ``kbsite/`` (settings, env, API errors, filters, verdict words,
   writes, throttles ...): import only ``kbsite`` and the core, so every app may use them.
   ``importgraph.KBSITE_COMPOSITION`` (the URLconfs, the account pages, which show a user's
   hosts and drift webhook, and the API's error mapping, which names the apps' service errors)
   put the apps together and may import any of them.
3. **The catalog** ``cpus/`` outside ``cpus/cpuid/`` and ``cpus/compat/``: never imports
   ``cpus.compat`` or ``migrations_log``.  The ledger's contradictions panel reaches the catalog's
   pages as a template tag (``{% load ledger %}``), and the ledger fills in the migrations a
   drift event affects by receiving ``cpus.drift.drift_affects``.
4. **Compatibility** ``cpus/compat/`` and **the ledger** ``migrations_log/``: both import the
   catalog, the core and ``kbsite``; neither imports the other.
5. **The CLI** ``client/``: the standard library only, and no project module outside ``client``.

Function-level imports of a project module are allowed only where Django needs them late:
``FUNCTION_LEVEL_ALLOWED`` lists each one (a migration's RunPython function, an
``AppConfig.ready``).
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

CORE_THIRD_PARTY = {"defusedxml", "numpy", "yaml"}

# (module, function, imported module): each function-level import of a project module allowed.
FUNCTION_LEVEL_ALLOWED = {
    # RunPython functions: a migration runs with the code of its day, imported when it runs.
    ("cpus.migrations.0002_feature_rows", "load_features", "cpus.cpuid"),
    ("cpus.migrations.0006_host_report_host_facts_proxmox_source", "fill_host_facts", "cpus.cpuid"),
    (
        "cpus.migrations.0006_host_report_host_facts_proxmox_source",
        "fill_host_facts",
        "cpus.cpuid.baseline",
    ),
    # AppConfig.ready: the ledger connects its drift receiver once the models are loaded.
    ("migrations_log.apps", "MigrationsLogConfig.ready", "cpus.drift"),
    ("migrations_log.apps", "MigrationsLogConfig.ready", "migrations_log.drift"),
}


@pytest.fixture(scope="module")
def importgraph():
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(REPO_ROOT / "scripts"))
        import importgraph

    return importgraph


@pytest.fixture(scope="module")
def graph(importgraph):
    return importgraph.ImportGraph(REPO_ROOT)


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "cpus" and len(parts) > 1 and parts[1] in ("cpuid", "compat"):
        return f"cpus.{parts[1]}"
    return parts[0]


def listing(sites) -> str:
    return "\n".join(
        f"  {s.module} (line {s.lineno}{', in ' + s.function if s.function else ''}) "
        f"imports {s.target}"
        for s in sites
    )


def test_the_graph_covers_every_layer(graph):
    layers = {layer(module) for module in graph.modules}
    assert layers == {"kbsite", "cpus", "cpus.cpuid", "cpus.compat", "migrations_log", "client"}
    assert ("cpus.compat.runs", "cpus.services") in graph.edges()  # `from cpus import services`
    assert ("cpus.views", "cpus.selectors") in graph.edges()


def test_no_function_level_import_of_a_project_module(graph):
    found = {(s.module, s.function, s.target): s for s in graph.function_level()}
    hidden = [site for key, site in sorted(found.items()) if key not in FUNCTION_LEVEL_ALLOWED]
    assert not hidden, (
        "import these at the top of the module (a cycle they hid needs a better home for "
        "something: see docs/architecture.md):\n" + listing(hidden)
    )
    stale = FUNCTION_LEVEL_ALLOWED - set(found)
    assert not stale, f"no longer imported late: remove from FUNCTION_LEVEL_ALLOWED: {stale}"


def test_the_module_graph_has_no_cycle(graph, importgraph):
    cycles = graph.cycles()
    assert not cycles, "import cycles:\n" + "\n".join(
        "  " + importgraph.format_cycle(cycle) for cycle in cycles
    )


def test_the_core_imports_nothing_of_the_project_and_no_framework(graph):
    core = [s for s in graph.sites if layer(s.module) == "cpus.cpuid"]
    outside = [s for s in core if layer(s.target) != "cpus.cpuid"]
    assert not outside, "the core imports the project:\n" + listing(outside)
    third_party = [
        s
        for s in graph.external
        if layer(s.module) == "cpus.cpuid"
        and s.target.split(".")[0] not in sys.stdlib_module_names
        and s.target.split(".")[0] not in CORE_THIRD_PARTY
    ]
    assert not third_party, "the core imports a package it must not:\n" + listing(third_party)


def test_kbsite_shared_bits_import_only_kbsite_and_the_core(graph, importgraph):
    wrong = [
        s
        for s in graph.sites
        if layer(s.module) == "kbsite"
        and s.module not in importgraph.KBSITE_COMPOSITION
        and layer(s.target) not in ("kbsite", "cpus.cpuid")
    ]
    assert not wrong, "kbsite's shared modules import an app:\n" + listing(wrong)


@pytest.mark.parametrize(
    ("importer", "forbidden"),
    [
        ("cpus", "cpus.compat"),
        ("cpus", "migrations_log"),
        ("cpus.compat", "migrations_log"),
        ("migrations_log", "cpus.compat"),
    ],
)
def test_the_apps_import_only_downwards(graph, importer, forbidden):
    wrong = [s for s in graph.sites if layer(s.module) == importer and layer(s.target) == forbidden]
    assert not wrong, f"{importer} must not import {forbidden}:\n" + listing(wrong)


def test_the_client_is_standard_library_only(graph):
    project = [
        s for s in graph.sites if layer(s.module) == "client" and layer(s.target) != "client"
    ]
    outside = [
        s
        for s in graph.external
        if layer(s.module) == "client" and s.target.split(".")[0] not in sys.stdlib_module_names
    ]
    assert not project and not outside, listing(project + outside)


def test_the_checks_see_a_cycle_a_late_import_and_a_module_import(importgraph, tmp_path):
    """The graph builder on a made-up package: the checks above can fail."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    sources = {
        "__init__.py": "",
        "a.py": "from pkg import b\n",
        "b.py": "from pkg.sub import c\nimport json\n",
        "sub/__init__.py": "",
        "sub/c.py": """\
            from typing import TYPE_CHECKING

            from ..a import thing

            if TYPE_CHECKING:
                from pkg import d

            def late():
                from pkg import d
            """,
        "d.py": "",
    }
    for name, text in sources.items():
        (package / name).write_text(textwrap.dedent(text))

    graph = importgraph.ImportGraph(tmp_path, ["pkg"])

    assert graph.edges() == {("pkg.a", "pkg.b"), ("pkg.b", "pkg.sub.c"), ("pkg.sub.c", "pkg.a")}
    assert graph.cycles() == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]
    (late,) = graph.function_level()
    assert (late.module, late.function, late.target) == ("pkg.sub.c", "late", "pkg.d")
    assert {s.target for s in graph.external} == {"json", "typing"}
