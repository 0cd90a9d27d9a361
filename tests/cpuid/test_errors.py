"""Bad input is refused with a line and a reason, and nothing but DumpParseError escapes."""

import contextlib
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpus.cpuid import DumpParseError, decode
from cpus.cpuid.formats import MAX_BYTES
from tests.samples import DUMPS

SAMPLES = sorted(p.name for p in DUMPS.iterdir() if p.name != "README.md")
# `make fuzz` runs these parser fuzz tests with a much larger budget (CPUKB_FUZZ_EXAMPLES).
FUZZ_EXAMPLES = int(os.environ.get("CPUKB_FUZZ_EXAMPLES", "0"))
SMALL_SAMPLES = [name for name in SAMPLES if (DUMPS / name).stat().st_size < 25_000]


def refused(data) -> DumpParseError:
    with pytest.raises(DumpParseError) as error:
        decode(data)
    return error.value


@pytest.mark.parametrize("data", [b"", "", "   \n\t\n", b"\xef\xbb\xbf\n"])
def test_empty_input_is_refused(data):
    assert "empty" in refused(data).reason


def test_binary_junk_is_refused_with_its_line():
    error = refused(b"CPUID 00000000: 0000000A-756E6547-6C65746E-49656E69\n\x00\x01\x02\xff")
    assert "binary" in error.reason and error.line == 2


def test_control_characters_are_refused():
    error = refused("processor : 0\nvendor_id : GenuineIntel\x1b[31m\n")
    assert "control character" in error.reason and error.line == 2


def test_invalid_utf8_is_refused_with_its_line():
    error = refused(b"processor\t: 0\nmodel name\t: Xeon \xe9\n")
    assert "not UTF-8" in error.reason and error.line == 2


def test_oversized_input_is_refused():
    text = (DUMPS / "aida64_XeonW9-3475X_SapphireRapids_libcpuid.txt").read_bytes()
    data = text * (MAX_BYTES // len(text) + 1)
    assert "limit" in refused(data).reason
    assert "limit" in refused(data.decode()).reason


def test_extremely_long_line_is_refused():
    error = refused("processor : 0\nflags : " + "sse " * 100_000)
    assert "longer than" in error.reason and error.line == 2


def test_dump_without_leaf_0_is_refused():
    text = (DUMPS / "aida64_Opteron248_K8_SledgeHammer_libcpuid.txt").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("CPUID 00000000:")]
    assert "no CPUID leaf 0" in refused("\n".join(lines)).reason


def test_dump_without_leaf_1_is_refused():
    text = (DUMPS / "thismachine_kvm_EPYC-Milan_cpuid-1-r.txt").read_text()
    lines = [line for line in text.splitlines() if not line.strip().startswith("0x00000001 ")]
    error = refused("\n".join(lines))
    assert "no CPUID leaf 1" in error.reason and error.line == 1


def test_malformed_row_reports_its_line():
    lines = (DUMPS / "aida64_XeonE5462_Harpertown_2S_libcpuid.txt").read_text().splitlines()
    assert lines[4].startswith("CPUID 00000003:")
    lines[4] = "CPUID 00000003: 0000000G-00000000-00000000-00000000"
    error = refused("\n".join(lines))
    assert error.line == 5 and "malformed AIDA64" in error.reason


def test_malformed_cpuid_r_row_reports_its_line():
    lines = (DUMPS / "thismachine_kvm_EPYC-Milan_cpuid-1-r.txt").read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if "0x00000007 0x00" in line)
    lines[index] = lines[index].replace("ebx=0x", "ebx=0y")
    error = refused("\n".join(lines))
    assert error.line == index + 1 and "cpuid -r" in error.reason


def test_malformed_libcpuid_row_reports_its_line():
    lines = (DUMPS / "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt").read_text().splitlines()
    lines[2] = "basic_cpuid[2]=55035a01 00f0b2e4"
    error = refused("\n".join(lines))
    assert error.line == 3 and "libcpuid" in error.reason


def test_bad_cpudata_attribute_is_refused():
    text = (DUMPS / "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml").read_text()
    error = refused(text.replace("eax='0x00100f23'", "eax='0x00100fz3'", 1))
    assert "not a hexadecimal number" in error.reason and error.line == 4  # leaf 1 is on line 4


XML_BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
]>
<cpudata arch='x86'>&lol2;</cpudata>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE cpu [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<cpu><model>&xxe;</model></cpu>"""


@pytest.mark.parametrize("xml", [XML_BOMB, EXTERNAL_ENTITY, "<!DOCTYPE cpu><cpu/>"])
def test_xml_with_dtd_or_entities_is_refused(xml):
    assert "DTD" in refused(xml).reason


def test_invalid_xml_reports_its_line():
    error = refused("<cpudata arch='x86'>\n  <cpuid eax_in='0x0'\n</cpudata>")
    assert "invalid XML" in error.reason and error.line == 3


def test_invalid_json_reports_its_line():
    error = refused('{\n  "lscpu": [\n    {"field": "Architecture:", "data": }\n  ]\n}')
    assert "invalid JSON" in error.reason and error.line == 3


def test_unknown_libvirt_model_is_refused():
    assert (
        "unknown libvirt CPU model"
        in refused("<cpu><arch>x86_64</arch><model>Zen9000</model></cpu>").reason
    )


def test_non_x86_libvirt_cpu_is_refused():
    assert "not x86" in refused("<cpu><arch>aarch64</arch><model>cortex-a72</model></cpu>").reason


def test_qmp_error_reply_is_refused():
    assert (
        "error"
        in refused(
            '{"error": {"class": "GenericError", "desc": "CPU model \'foo\' not found"}}'
        ).reason
    )


@settings(
    max_examples=FUZZ_EXAMPLES or 300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.binary(max_size=4096))
def test_random_bytes_give_a_result_or_a_parse_error(data):
    with contextlib.suppress(DumpParseError):
        decode(data)


@st.composite
def mutated_dump(draw):
    """A real sample with lines deleted, duplicated, swapped or with characters changed."""
    name = draw(st.sampled_from(SMALL_SAMPLES))
    lines = (DUMPS / name).read_text().splitlines()
    for _ in range(draw(st.integers(1, 6))):
        if not lines:
            break
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "duplicate", "swap", "mutate", "truncate"]))
        if action == "delete":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif action == "truncate":
            lines[index] = lines[index][: draw(st.integers(0, len(lines[index])))]
        elif lines[index]:
            position = draw(st.integers(0, len(lines[index]) - 1))
            char = draw(st.characters(codec="utf-8", exclude_categories=("Cs",)))
            lines[index] = lines[index][:position] + char + lines[index][position + 1 :]
    return "\n".join(lines)


@settings(
    max_examples=FUZZ_EXAMPLES or 400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(mutated_dump())
def test_mutated_real_dumps_give_a_result_or_a_parse_error(text):
    try:
        decoded = decode(text)
    except DumpParseError as error:
        assert error.reason
    else:
        assert decoded.identity.vendor is not None


def test_dump_without_a_vendor_string_is_refused():
    # A capture of something that is not an x86 CPU's CPUID (leaf 0 all zeros but EAX).
    text = (
        "CPU:\n   0x00000000 0x00: eax=0x00000001 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n"
        "   0x00000001 0x00: eax=0x00000000 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n"
    )
    error = refused(text)
    assert "no vendor string" in error.reason
