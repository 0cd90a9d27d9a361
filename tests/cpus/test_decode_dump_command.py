"""``manage.py decode_dump``: human and JSON output, vocabularies, stdin, exit status."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.samples import DUMPS

ROOT = Path(__file__).resolve().parents[2]
HARPERTOWN = DUMPS / "aida64_XeonE5462_Harpertown_2S_libcpuid.txt"
BARCELONA = DUMPS / "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml"

HARPERTOWN_FEATURES = (
    "acpi apic clflush cmov cx16 cx8 dca de ds_cpl dtes64 dtherm dts est fpu fxsr ht lahf_lm lm "
    "mca mce mmx monitor msr mtrr nx pae pat pbe pdcm pge pni pse pse36 sep ss sse sse2 sse4_1 "
    "ssse3 syscall tm tm2 tsc vme vmx xtpr"
).split()


def run(*args: str) -> list[dict]:
    out = io.StringIO()
    call_command("decode_dump", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_output_has_exactly_the_documented_keys_and_values():
    (record,) = run("--json", str(HARPERTOWN))
    assert list(record) == [
        "path",
        "format",
        "vendor",
        "family",
        "model",
        "stepping",
        "brand",
        "phys_bits",
        "virt_bits",
        "in_vm",
        "features",
        "unknown",
        "warnings",
    ]
    assert record["path"] == str(HARPERTOWN)
    assert (
        record["format"],
        record["vendor"],
        record["family"],
        record["model"],
        record["stepping"],
    ) == (
        "aida64",
        "GenuineIntel",
        6,
        23,
        6,
    )
    assert record["brand"] == "Intel(R) Xeon(R) CPU E5462 @ 2.80GHz"
    assert (record["phys_bits"], record["virt_bits"], record["in_vm"], record["unknown"]) == (
        38,
        48,
        False,
        False,
    )
    assert record["features"] == HARPERTOWN_FEATURES
    assert any("64-bit mode" in warning for warning in record["warnings"])


def test_names_switch_vocabulary():
    (linux,) = run("--json", str(BARCELONA))
    (qemu,) = run("--json", "--names", "qemu", str(BARCELONA))
    (libvirt,) = run("--json", "--names", "libvirt", str(BARCELONA))
    assert "cr8_legacy" in linux["features"] and "invtsc" in linux["features"]
    assert (
        "cr8legacy" in qemu["features"]
        and "lahf-lm" in qemu["features"]
        and "svm-lock" in qemu["features"]
    )
    assert (
        "lahf_lm" in libvirt["features"]
        and "svm-lock" in libvirt["features"]
        and "pni" in libvirt["features"]
    )
    assert linux["features"] == sorted(linux["features"])


def test_name_formats_say_absent_means_unknown():
    (record,) = run("--json", str(DUMPS / "proc_cpuinfo_Opteron2376_Shanghai_cpu0_2009.txt"))
    assert record["unknown"] is True


def test_human_output_names_identity_and_features():
    out = io.StringIO()
    call_command("decode_dump", str(BARCELONA), stdout=out)
    text = out.getvalue()
    assert "AuthenticAMD family 16 model 2 stepping 3 (signature 00100f23)" in text
    assert "Quad-Core AMD Opteron(tm) Processor 2350" in text
    assert "48 bits physical, 48 bits virtual" in text


@pytest.mark.subprocess
def test_failures_exit_2_with_file_line_and_reason_and_good_files_still_print(tmp_path):
    broken = tmp_path / "broken.txt"
    lines = HARPERTOWN.read_text().splitlines()
    lines[4] = "CPUID 00000003: 0000000G-00000000-00000000-00000000"
    broken.write_text("\n".join(lines))
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "decode_dump",
            "--json",
            str(HARPERTOWN),
            str(broken),
            str(tmp_path / "missing"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert [json.loads(line)["path"] for line in result.stdout.splitlines()] == [str(HARPERTOWN)]
    errors = result.stderr.splitlines()
    assert (
        errors[0]
        == f"{broken}:5: malformed AIDA64 CPUID row; expected 'CPUID LEAF: EAX-EBX-ECX-EDX'"
    )
    assert errors[1].startswith(f"{tmp_path / 'missing'}:0: cannot read")


@pytest.mark.subprocess
def test_dash_reads_standard_input_and_all_good_exits_0():
    result = subprocess.run(
        [sys.executable, "manage.py", "decode_dump", "--json", "-"],
        cwd=ROOT,
        input=BARCELONA.read_text(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["path"] == "-"
    assert json.loads(result.stdout)["vendor"] == "AuthenticAMD"
