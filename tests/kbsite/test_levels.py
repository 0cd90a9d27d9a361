"""One list of verdict levels (cpus/cpuid/levels.py): the engine answers with it, the ledger's
choices are built from it, every level has its words here and its colour in site.css, and the
accuracy chart takes its outline colours from the same stylesheet."""

import re
from pathlib import Path
from types import SimpleNamespace

from django.contrib.staticfiles import finders

from cpus.cpuid import compat, matrix, preflight
from cpus.cpuid.levels import DISPLAY_LEVELS, LEVELS, SAFE_LEVELS, UNPREDICTABLE, Level
from cpus.management.commands import compat_matrix
from kbsite.verdicts import BY_LEVEL, VERDICTS
from migrations_log import charts
from migrations_log.models import MigrationRecord, Outcome, Verdict

ROOT = Path(__file__).resolve().parents[2]


def test_the_engine_answers_with_the_levels():
    assert LEVELS == ("safe", "safe-with-model", "risky", "blocked")
    assert tuple(Level) == LEVELS
    assert compat.LEVELS is LEVELS and matrix.LEVELS is LEVELS and preflight.LEVELS is LEVELS
    assert {"safe", "safe-with-model"} == SAFE_LEVELS
    assert compat.level_of([], named=True) == Level.SAFE_WITH_MODEL
    assert compat.level_of([compat.Reason("tsc", "warning", "x")], named=False) == "risky"


def test_the_ledger_choices_are_the_levels_with_the_same_stored_values_and_labels():
    assert Verdict.values == [*LEVELS, UNPREDICTABLE]
    # The labels of migration 0001: unchanged, so no migration is needed.
    field = MigrationRecord._meta.get_field("predicted_verdict")
    assert field.choices == [
        ("safe", "Safe"),
        ("safe-with-model", "Safe With Model"),
        ("risky", "Risky"),
        ("blocked", "Blocked"),
        ("unpredictable", "no prediction"),
    ]
    assert Verdict.NONE == UNPREDICTABLE


def test_every_level_has_its_words_in_order_and_one_symbol():
    assert tuple(word.level for word in VERDICTS) == DISPLAY_LEVELS
    symbols = [word.symbol for word in VERDICTS]
    assert len(set(symbols)) == len(symbols)
    assert {level: BY_LEVEL[level].symbol for level in LEVELS} == compat_matrix.SYMBOLS
    assert compat_matrix.SYMBOLS["safe-with-model"] == "M"


def test_every_level_has_one_colour_and_nothing_else_defines_one():
    css = Path(finders.find("kbsite/site.css")).read_text()
    colours = {}
    for level in DISPLAY_LEVELS:
        found = re.findall(rf"--v-{level}:\s*(#[0-9a-f]{{6}})", css)
        assert len(found) == 1, level
        colours[level] = found[0]
        assert f".v-{level} {{ background: var(--v-{level});" in css
    assert ".chart rect.right { stroke: var(--v-safe); }" in css
    assert ".chart rect.wrong { stroke: var(--v-blocked); }" in css
    # No template, script, style sheet or module outside site.css spells a verdict colour, the
    # colours the ledger and the matrix used before there was one palette included.
    old = {"#2e7d32", "#558b2f", "#7cb342", "#f9a825", "#c62828"}
    sources = [
        p
        for folder in ("cpus", "migrations_log", "kbsite")
        for p in (ROOT / folder).rglob("*")
        if p.suffix in (".py", ".html", ".js", ".css") and p.name != "site.css"
    ]
    assert sources
    for path in sources:
        text = path.read_text().lower()
        for colour in {*colours.values(), *old}:
            assert colour not in text, (path, colour)
        assert not re.search(r"verdict-(safe|risky|blocked|unpredictable)", text), path


def test_the_accuracy_chart_outlines_by_class_not_by_colour():
    cells = {verdict: dict.fromkeys(Outcome.values, 0) for verdict in Verdict.values}
    cells["blocked"]["refused-before-start"] = 2  # right
    cells["safe-with-model"]["succeeded"] = 3  # right
    cells["safe"]["refused-before-start"] = 1  # wrong
    cells["risky"]["succeeded"] = 4  # neither
    svg = charts.confusion_svg(SimpleNamespace(hypervisor="kvm", matrix=cells))

    assert len(re.findall(r'<rect class="cell right"', svg)) == 2
    assert len(re.findall(r'<rect class="cell wrong"', svg)) == 1
    assert len(re.findall(r'<rect class="cell"', svg)) == 4 * 5 - 3
    assert set(re.findall(r'stroke="([^"]+)"', svg)) == {"#d8dde3"}
