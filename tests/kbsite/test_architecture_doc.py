"""docs/architecture.md draws the layout as it is: its diagrams are the ones
scripts/architecture.py draws from today's imports."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def architecture():
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(REPO_ROOT / "scripts"))
        import architecture

    return architecture


def test_the_page_shows_the_diagrams_of_todays_imports(architecture):
    page = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    fresh = architecture.update(page, architecture.render())
    assert fresh == page, (
        "docs/architecture.md is out of date: run `python scripts/architecture.py` to update"
    )


def test_the_diagrams_name_every_layer_and_an_import_between_them(architecture):
    generated = architecture.render()
    assert generated.count("```mermaid\nflowchart TD") == 3
    for title in architecture.LAYERS.values():
        assert f'["{title}"]' in generated
    # cpus/compat/runs.py imports cpus.services: compatibility's logic -> the catalog's logic
    assert "cpus_compat_logic --> cpus_logic" in generated
    # the catalog never imports compatibility or the ledger
    assert "cpus_logic --> cpus_compat" not in generated
    assert "cpus_pages --> migrations_log" not in generated
    assert "0 import cycles" in generated


def test_only_the_part_between_the_markers_is_rewritten(architecture):
    page = f"intro\n{architecture.BEGIN}\nold picture\n{architecture.END}\noutro\n"
    assert architecture.update(page, "NEW") == (
        f"intro\n{architecture.BEGIN}\n\nNEW\n\n{architecture.END}\noutro\n"
    )
    with pytest.raises(ValueError, match="markers"):
        architecture.update("no markers here", "NEW")
