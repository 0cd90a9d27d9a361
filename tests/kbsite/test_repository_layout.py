"""The repository's layout rules: nothing the site runs reads a file under tests/."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Everything that runs outside the test suite: the apps, the project, the CLI, the scripts.
RUNTIME = ("cpus", "kbsite", "migrations_log", "client", "scripts", "manage.py", "gunicorn.conf.py")


def runtime_modules() -> list[Path]:
    found = []
    for name in RUNTIME:
        path = ROOT / name
        found += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return found


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings (prose may name a test file)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def paths_into_tests(source: str) -> list[str]:
    """String literals of ``source`` (docstrings aside) that build a path into tests/: the
    component ``"tests"`` (``ROOT / "tests"``, ``os.path.join(root, "tests")``) or a relative
    path starting ``tests/``."""
    tree = ast.parse(source)
    skip = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            continue
        text = node.value.strip().removeprefix("./")
        if id(node) not in skip and (text == "tests" or text.startswith(("tests/", "tests\\"))):
            found.append(node.value)
    return found


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ('DUMPS = ROOT / "tests" / "dumps"', ["tests"]),
        ('open("tests/dumps/a.txt")', ["tests/dumps/a.txt"]),
        ('os.path.join(BASE_DIR, "tests", "dumps")', ["tests"]),
        ('"""Checked by tests/engine/test_x.py."""\nSOURCE = "XTF tests/cpuid/main.c"', []),
        ("# tests/dumps holds the samples\nX = 1", []),
    ],
)
def test_the_scan_finds_paths_into_tests_and_nothing_else(source, found):
    assert paths_into_tests(source) == found


def test_no_runtime_module_reads_a_file_under_tests():
    modules = runtime_modules()
    assert len(modules) > 100  # the scan really walks the apps
    offenders = {
        str(path.relative_to(ROOT)): hits
        for path in modules
        if (hits := paths_into_tests(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


# --- docs/*.md citations -------------------------------------------------------------------------

# Where a citation of a page of docs/ can be: the code, the tests, the benchmarks and the docs.
CITING = ("cpus", "kbsite", "migrations_log", "client", "scripts", "bench", "tests", "docs")
CITING_FILES = ("README.md", "manage.py", "Makefile", "pyproject.toml")
SUFFIXES = {".py", ".md", ".html", ".txt", ".toml", ".json", ".yml", ".yaml", ".js", ".css"}
# A page of docs/ cited by its path (with or without an #anchor) anywhere, or linked by its bare
# file name (``](formats.md#anchor)``) from another page of docs/.
CITATION = re.compile(r"\bdocs/([\w.-]+\.md)(?:#([\w-]+))?")
DOCS_LINK = re.compile(r"\]\(([\w.-]+\.md)(?:#([\w-]+))?\)")


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    kept = "".join(ch for ch in heading.strip().lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {
        slug(line.lstrip("#"))
        for line in page.read_text(encoding="utf-8").splitlines()
        if re.match(r"#{1,6} ", line)
    }


def citations() -> list[tuple[str, str, str | None]]:
    """(citing file, cited page, anchor or None) for every citation of a page of docs/."""
    files = [ROOT / name for name in CITING_FILES if (ROOT / name).is_file()]
    for name in CITING:
        files += sorted(p for p in (ROOT / name).rglob("*") if p.suffix in SUFFIXES)
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        where = str(path.relative_to(ROOT))
        found += [(where, page, anchor) for page, anchor in CITATION.findall(text)]
        if path.parent == ROOT / "docs":
            found += [(where, page, anchor) for page, anchor in DOCS_LINK.findall(text)]
    return [(where, page, anchor or None) for where, page, anchor in found]


def test_slug_follows_github():
    assert slug(" 4. Pool baseline (`baseline.compute(reports) -> Baseline`)") == (
        "4-pool-baseline-baselinecomputereports---baseline"
    )
    assert slug("Host reports differ in what they can tell") == (
        "host-reports-differ-in-what-they-can-tell"
    )


def test_every_cited_docs_page_and_section_exists():
    found = citations()
    assert ("cpus/cpuid/policies/kvm.py", "domain.md", "the-axes") in found  # the scan works
    missing = sorted(
        f"{where}: docs/{page}" for where, page, _ in found if not (ROOT / "docs" / page).is_file()
    )
    assert missing == []
    unknown_sections = sorted(
        f"{where}: docs/{page}#{anchor}"
        for where, page, anchor in found
        if anchor and anchor not in anchors(ROOT / "docs" / page)
    )
    assert unknown_sections == []


def test_no_citation_of_the_domain_notes_outside_the_repository():
    stale = sorted({where for where, page, _ in citations() if page == "DOMAIN.md"})
    assert stale == []
