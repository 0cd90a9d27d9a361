"""Issue 19: detection and parsing take time linear in the input. A hostile input of up to the
2 MB limit, in several shapes per format, is refused (or parsed) in well under a second.

Before the fix: 64 KB of ``<?`` took 8 s to be refused and 2 MB took a worker down (XML prolog
regex); one long line of blanks in /proc/cpuinfo or lscpu output took over 20 s (lazy field
regexes); 64 KB of blank lines took 6 s to detect (``^\\s+0x`` in the cpuid -r signature);
2 MB of AIDA64 rows took over 20 s and 2 MB of libvirt <cpuid> elements 14 s (line numbers
counted from the top for every block or element).

Each bound is generous (1 s, measured with time.perf_counter around the pure call); the fixed
code takes 0.01-0.3 s on these inputs. Pure core: no database.
"""

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpus.cpuid.errors import DumpParseError
from cpus.cpuid.formats import (
    MAX_BYTES,
    MAX_LINE_CHARS,
    MAX_PARSED_BYTES,
    decode,
    detect,
    to_text,
)
from migrations_log.explain import MAX_MESSAGE_BYTES, explain
from tests.samples import DUMPS

BOUND_SECONDS = 1.0
# A real dump's rows repeated to 2 MB are not refused early but parsed whole (tens of thousands of
# elements): linear, yet real work, so on a loaded 2-core CI machine it gets twice the bound.
PARSED_BOUND_SECONDS = 2.0
# Just under the parse limit, so the size check does not refuse the input before parsing.
SIZE = MAX_PARSED_BYTES - 4096
# Just under the hard limit: only a multi-CPU AIDA64 dump is accepted there (issue 16).
BIG_SIZE = MAX_BYTES - 4096
# Just under the line limit, so each line reaches the parser.
LINE = MAX_LINE_CHARS - 1024

# One real dump per format: the hostile part follows (or surrounds) it, so detection picks the
# format and the parser has to read the hostile lines.
REAL = {
    "cpuid-r": "thismachine_kvm_EPYC-Milan_cpuid-1-r.txt",
    "aida64": "aida64_XeonE5462_Harpertown_2S_libcpuid.txt",
    "libcpuid": "libcpuidraw_XeonE5420_Harpertown.txt",
    "x86info": "thismachine_kvm_EPYC-Milan_x86info-r.txt",
    "proc-cpuinfo": "proc_cpuinfo_XeonE5405_Harpertown_cpu0.txt",
    "lscpu": "thismachine_kvm_EPYC-Milan_lscpu.txt",
    "lscpu-json": "thismachine_kvm_EPYC-Milan_lscpu-J.json",
    "qmp": "thismachine_qemu7.2_qmp_query-cpu-model-expansion_host.jsonl",
    "libvirt-cpudata": "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml",
    "libvirt-capabilities": "thismachine_libvirt9.0_virsh_capabilities.xml",
    "libvirt-domcapabilities": "thismachine_libvirt9.0_virsh_domcapabilities_kvm.xml",
}
TEXT_FORMATS = ("cpuid-r", "aida64", "libcpuid", "x86info", "proc-cpuinfo", "lscpu")


def _real(fmt: str) -> str:
    return (DUMPS / REAL[fmt]).read_text()


def _lines(line: str, budget: int) -> str:
    """``line`` repeated to fill ``budget`` bytes of UTF-8."""
    return line * max(1, budget // len(line.encode()))


# Hostile bodies: (name, line). Each is repeated to fill the rest of the 2 MB.
HOSTILE_LINES = {
    "repeated <?": "<?" * (LINE // 2) + "\n",
    "repeated <!--": "<!--" * (LINE // 4) + "\n",
    "one long line": "a" * LINE + "\n",
    "long blanks": "a" + " " * LINE + "b\n",
    "long tabs without a colon": "x" + "\t" * LINE + "\n",
    "repeated key: prefixes": "key: " * (LINE // 5) + "\n",
    "long hex run": "0" * LINE + "\n",
    "long 0x run": "0x" * (LINE // 2) + "\n",
    "long digit run": "1" * LINE + " bits physical, 48 bits virtual\n",
    "many [": "[" * LINE + "\n",
    "many {": "{" * LINE + "\n",
    "long dashes": "-" * LINE + " \n",
    "blank lines": "\n",
    "blank-ish lines": " \t\n",
    "carriage returns": "\r",
    "unicode line breaks": "\u2028",
    "section brackets": "-[ " + " ]" * (LINE // 2) + "\n",
    "CPUID hex run": "CPUID " + "0" * LINE + "\n",
    "eax in: run": "eax in: " + " " * LINE + "\n",
    "field names": "flags" + " " * LINE + ":\n",
}


def _timed(call, *args):
    started = time.perf_counter()
    try:
        outcome = call(*args)
    except DumpParseError as error:
        outcome = error
    return time.perf_counter() - started, outcome


def _assert_fast(text: str, size: int = SIZE, bound: float = BOUND_SECONDS) -> None:
    assert len(text.encode()) <= size + 4096
    elapsed, outcome = _timed(decode, text)
    # Refused with a reason, or decoded: never any other exception, and never slow.
    assert isinstance(outcome, DumpParseError) or hasattr(outcome, "features"), outcome
    assert elapsed < bound, f"{elapsed:.2f} s"


@pytest.mark.parametrize("shape", HOSTILE_LINES)
def test_a_hostile_input_alone_is_refused_fast(shape):
    _assert_fast(_lines(HOSTILE_LINES[shape], SIZE))


@pytest.mark.parametrize("shape", HOSTILE_LINES)
@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_a_real_dump_followed_by_hostile_lines_is_read_fast(fmt, shape):
    real = _real(fmt)
    text = real + _lines(HOSTILE_LINES[shape], SIZE - len(real))
    try:
        assert detect(to_text(text)) == fmt
    except DumpParseError as error:  # refused by a limit before detection: that is fine too
        assert "limit" in error.reason
    _assert_fast(text)


@pytest.mark.parametrize("shape", HOSTILE_LINES)
@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_hostile_lines_before_a_real_dump_are_read_fast(fmt, shape):
    real = _real(fmt)
    _assert_fast(_lines(HOSTILE_LINES[shape], SIZE - len(real)) + real)


@pytest.mark.parametrize("fmt", REAL)
def test_a_real_dump_repeated_to_the_limit_is_read_fast(fmt):
    """Many CPU blocks, rows, elements or documents: the AIDA64 and libvirt cases used to count
    line numbers from the top for each of them."""
    real = _real(fmt)
    if fmt.startswith("libvirt") or fmt == "lscpu-json":
        # One document only: repeat its inner rows instead.
        return _repeated_inside(fmt, real)
    _assert_fast(
        _lines(real if real.endswith("\n") else real + "\n", SIZE), bound=PARSED_BOUND_SECONDS
    )


def _repeated_inside(fmt: str, real: str) -> None:
    if fmt == "libvirt-cpudata":
        row = next(line for line in real.splitlines() if "<cpuid " in line) + "\n"
        head, tail = real.split("</cpudata>")
        text = head + _lines(row, SIZE - len(real)) + "</cpudata>" + tail
        assert detect(to_text(text)) == fmt
        _assert_fast(text, bound=PARSED_BOUND_SECONDS)
        # ...and one bad element at the very end: refused, with its line, still fast.
        bad = text.replace(
            "</cpudata>", "<cpuid eax_in='0xzz' eax='0' ebx='0' ecx='0' edx='0'/>\n</cpudata>"
        )
        elapsed, outcome = _timed(decode, bad)
        assert isinstance(outcome, DumpParseError) and outcome.line > 10_000
        assert elapsed < BOUND_SECONDS
    elif fmt == "lscpu-json":
        document = json.loads(real)
        entry = document["lscpu"][0]
        document["lscpu"] = [entry] * (SIZE // (len(json.dumps(entry)) + 2) - 10)
        assert len(document["lscpu"]) > 10_000
        _assert_fast(json.dumps(document))
    else:  # capabilities: many <feature> elements in the host CPU
        marker = "<feature " if "<feature " in real else "<model"
        index = real.index(marker)
        row = "<feature name='sse2'/>\n" if marker == "<feature " else ""
        if row:
            text = real[:index] + _lines(row, SIZE - len(real)) + real[index:]
            assert detect(to_text(text)) == fmt
            _assert_fast(text)


XML_PROLOGS = {
    "declarations": "<?xml version='1.0'?>\n",
    "processing instructions": "<?a b?>\n",
    "comments": "<!-- CPU -->\n",
    "unterminated declarations": "<?" * 1000 + "\n",
    "unterminated comments": "<!--" * 1000 + "\n",
}


@pytest.mark.parametrize("prolog", XML_PROLOGS)
@pytest.mark.parametrize("fmt", ["libvirt-cpudata", "libvirt-capabilities"])
def test_xml_prologs_are_skipped_in_linear_time(fmt, prolog):
    real = _real(fmt)
    _assert_fast(_lines(XML_PROLOGS[prolog], SIZE - len(real)) + real)


def test_sixty_four_kilobytes_of_xml_declaration_openers_are_refused_fast():
    """The issue's first repro: 64 KB of ``<?`` took 8 s to be refused."""
    elapsed, outcome = _timed(decode, "<?" * 32 * 1024)
    assert isinstance(outcome, DumpParseError) and "unterminated" in outcome.reason
    assert elapsed < BOUND_SECONDS


@pytest.mark.parametrize(
    "text",
    [
        "[\n" * (SIZE // 2),
        '{"lscpu":' + "[\n" * (SIZE // 2 - 10),
        '{"return":' + '{"a":\n' * (SIZE // 6 - 10),
        "{}\n" * (SIZE // 3),
        '{"QMP": {}}\n' * (SIZE // 12),
        "<cpudata arch='x86'>\n" + "<a>\n" * (SIZE // 4 - 10),
    ],
    ids=["nested arrays", "nested lscpu", "nested objects", "many documents", "many QMP", "deep"],
)
def test_deep_or_many_json_and_xml_documents_are_refused_fast(text):
    _assert_fast(text)


@pytest.mark.parametrize(
    "text",
    ['{"lscpu":' + "[" * LINE, '{"return":' + '{"a":' * (LINE // 5)],
    ids=["lscpu", "objects"],
)
def test_json_nested_deeper_than_the_stack_is_refused_not_a_crash(text):
    elapsed, outcome = _timed(decode, text)
    assert isinstance(outcome, DumpParseError) and "nested too deeply" in outcome.reason
    assert elapsed < BOUND_SECONDS


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(
    tokens=st.lists(
        st.sampled_from(
            [
                "<?",
                "<!--",
                "[",
                "{",
                " ",
                "\t",
                "\n",
                ":",
                "0x",
                "0",
                "-",
                "CPUID ",
                "key: ",
                "processor : 0\n",
                "flags : ",
                "Architecture: x86_64\n",
                "Flags: ",
                "eax in: ",
                "basic_cpuid[0]=",
                "?>",
                "-->",
                '"',
                ",",
                "]",
                "}",
            ]
        ),  # fmt: skip
        min_size=1,
        max_size=6,
    ),
    prefix=st.sampled_from(["", "processor\t: 0\n", "Architecture: x86_64\n", "<?xml ?>"]),
)
def test_any_mix_of_hostile_tokens_repeated_to_two_megabytes_is_read_fast(tokens, prefix):
    unit = "".join(tokens)
    if "\n" not in unit:
        unit = unit * max(1, 8192 // len(unit)) + "\n"  # stay under the line limit
    _assert_fast(prefix + _lines(unit, SIZE - len(prefix)))


# --- The error explainer (64 KiB messages) -------------------------------------------------------

N_MESSAGE = MAX_MESSAGE_BYTES - 16
EXPLAIN_SHAPES = {
    "blanks": " " * N_MESSAGE,
    "newlines": "\n" * N_MESSAGE,
    "CPUID hex run": "host doesn't support requested feature: CPUID." + "0" * (N_MESSAGE - 60),
    "MSR hex run": "host doesn't support requested feature: MSR(" + "f" * (N_MESSAGE - 60),
    "feature names": "host doesn't support requested feature: CPUID.01H:ECX."
    + "a." * (N_MESSAGE // 2 - 40),
    "commas": "guest CPU doesn't match specification: extra features: "
    + ", " * (N_MESSAGE // 2 - 40),
    "repeated kinds": "guest CPU doesn't match specification: extra features: "
    + "missing features: " * (N_MESSAGE // 19 - 5),
    "TSC digits": "Requested TSC frequency " + "1" * (N_MESSAGE - 30),
    "TSC gap": "Requested TSC frequency 1 Hz is outside tolerance range "
    + "around host frequency " * (N_MESSAGE // 23 - 5),
    "phrase prefixes": "Host CPU does not provide " * (N_MESSAGE // 26),
    "wrapped phrase": ("The CPU of the host is incompatible with the" + " \n" * 50) * 300,
    "vmx names": "Host CPU does not provide required features: " + "vmx-" * (N_MESSAGE // 4 - 20),
    "address digits": "Address space limit 0x" + "0" * (N_MESSAGE - 30),
}


@pytest.mark.parametrize("shape", EXPLAIN_SHAPES)
def test_the_explainer_reads_a_hostile_64_kib_message_fast(shape):
    message = EXPLAIN_SHAPES[shape]
    assert len(message.encode()) <= MAX_MESSAGE_BYTES
    started = time.perf_counter()
    explanation = explain(message)
    assert time.perf_counter() - started < BOUND_SECONDS
    assert explanation.summary


@pytest.mark.parametrize("shape", HOSTILE_LINES)
@pytest.mark.parametrize("where", ["alone", "after", "before"])
@pytest.mark.parametrize("fmt", ["aida64", "cpuid-r"])
def test_up_to_8_mib_around_a_real_multi_cpu_dump_is_read_fast(fmt, where, shape):
    """Issue 16: inputs between the parse limit and the hard limit are looked at only to find
    whole AIDA64 or cpuid -r CPU blocks within the first 2 MiB; everything else is refused."""
    real = _real(fmt)
    hostile = _lines(HOSTILE_LINES[shape], BIG_SIZE - len(real))
    text = {"alone": hostile, "after": real + hostile, "before": hostile + real}[where]
    _assert_fast(text, BIG_SIZE)


@pytest.mark.parametrize("fmt", REAL)
def test_a_real_dump_repeated_to_8_mib_is_read_fast(fmt):
    real = _real(fmt).split("-" * 80)[0]
    _assert_fast(_lines(real if real.endswith("\n") else real + "\n", BIG_SIZE), BIG_SIZE)


@pytest.mark.parametrize("layout", [r"\1 : \2-\3-\4-\5", r"\1: \2 \3 \4 \5", r"\1 : \2 \3 \4 \5"])
def test_older_instlatx64_layouts_repeated_to_the_limit_are_read_fast(layout):
    import re

    row = re.compile(r"^(CPUID [0-9A-F]{8}): (\w{8})-(\w{8})-(\w{8})-(\w{8})", re.MULTILINE)
    real = row.sub(layout, _real("aida64").split("-" * 80)[0])
    _assert_fast(_lines(real, SIZE))
    # A row of the layout whose blanks go on for a whole line.
    _assert_fast(real + _lines("CPUID 00000001" + " " * LINE + ":\n", SIZE - len(real)))
