"""One list of feature-name vocabularies (cpus/cpuid/vocabulary.py) that every page, API field,
OpenAPI enum, command and the feature table read."""

import re
from pathlib import Path

from cpus import views
from cpus.api import views as api_views
from cpus.compat.api import checks as api_compat
from cpus.compat.api import preflight as api_vms
from cpus.cpuid import table
from cpus.cpuid.table import TABLE
from cpus.cpuid.vocabulary import (
    CANONICAL,
    VOCABULARIES,
    Vocabulary,
    engine_name,
    parse_vocabulary,
)
from cpus.management.commands import check_pair, decode_dump, pool_baseline

ROOT = Path(__file__).resolve().parents[2]


def _names_choices(command) -> tuple:
    parser = command.create_parser("manage.py", "x")
    (action,) = [a for a in parser._actions if "--names" in a.option_strings]
    assert action.default == "linux"
    return tuple(action.choices)


def test_the_vocabularies_and_their_table_columns():
    assert VOCABULARIES == ("linux", "qemu", "libvirt")
    assert table.VOCABULARIES is VOCABULARIES
    feature = TABLE.by_name["sse4_1"]
    assert [feature.name_in(v) for v in Vocabulary] == ["sse4_1", "sse4.1", "sse4.1"]
    assert feature.name_in(CANONICAL) == "sse4_1"


def test_parse_and_engine_name():
    assert parse_vocabulary("qemu") is Vocabulary.QEMU
    assert parse_vocabulary("nonsense") is Vocabulary.LINUX
    assert parse_vocabulary(None) is Vocabulary.LINUX
    assert engine_name("linux") == "canonical"
    assert engine_name(Vocabulary.LIBVIRT) == "libvirt"
    # Linux names no MSR bit; the canonical names fill them in.
    assert TABLE.by_name["invtsc"].name_in(engine_name("linux")) == "invtsc"


def test_every_list_of_vocabularies_is_the_core_one():
    assert views.VOCABULARIES is VOCABULARIES
    assert check_pair.VOCABULARIES is VOCABULARIES
    assert pool_baseline.VOCABULARIES is VOCABULARIES
    for serializer in (api_compat.CheckInput(), api_compat.BaselineInput()):
        assert tuple(serializer.fields["names"].choices) == VOCABULARIES
        assert serializer.fields["names"].default == "linux"
    assert tuple(api_vms.PreflightInput().fields["names"].choices) == VOCABULARIES
    assert tuple(api_views.NAMES.enum) == VOCABULARIES
    assert _names_choices(check_pair.Command()) == VOCABULARIES
    assert _names_choices(decode_dump.Command()) == VOCABULARIES
    assert _names_choices(pool_baseline.Command()) == VOCABULARIES


def test_no_other_module_spells_the_list():
    literal = re.compile(r"""[\(\[]\s*["']linux["'],\s*["']qemu["'],\s*["']libvirt["']""")
    for folder in ("cpus", "migrations_log", "kbsite", "client", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "vocabulary.py":
                continue
            assert not literal.search(path.read_text()), path
