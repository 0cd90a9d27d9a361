"""The three offline commands: check_pair, pool_baseline, compat_matrix."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_check_pair_json_has_verdict_and_reasons(demo_paths):
    harpertown, _, shanghai = demo_paths
    record = json.loads(run("check_pair", harpertown, shanghai, "--json"))
    assert record["verdict"] == "blocked"
    assert {"ssse3", "sse4_1"} <= set(record["missing"])
    assert {r["axis"] for r in record["reasons"]} >= {"features", "vendor"}
    assert record["suggestion"]["guest_cpu"].startswith("Opteron_G2")


def test_check_pair_baseline_uses_the_two_hosts(demo_paths):
    harpertown, _, shanghai = demo_paths
    record = json.loads(run("check_pair", harpertown, shanghai, "--guest", "baseline", "--json"))
    # The pair's baseline pins the guest vendor, as every export of a cross-vendor pool does.
    assert record["verdict"] == "safe-with-model"
    assert record["guest_model"] == "Opteron_G2,+vme,-svm,phys-bits=38,vendor=AuthenticAMD"
    assert any(r["axis"] == "vendor" and r["severity"] == "info" for r in record["reasons"])
    vmware = json.loads(
        run(
            "check_pair",
            harpertown,
            shanghai,
            "--guest",
            "baseline",
            "--hypervisor",
            "vmware",
            "--json",
        )
    )
    assert vmware["verdict"] == "blocked"


def test_check_pair_human_output(demo_paths):
    harpertown, _, shanghai = demo_paths
    text = run("check_pair", harpertown, shanghai, "--names", "qemu")
    assert "BLOCKED" in text and "sse4.1" in text and "Suggestion" in text


def test_check_pair_parse_failure_prints_file_line_reason_and_exits_2(tmp_path, demo_paths):
    bad = tmp_path / "bad.txt"
    bad.write_text("hello\n")
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_pair", str(bad), demo_paths[0], stdout=io.StringIO(), stderr=err)
    assert exit_info.value.code == 2
    assert err.getvalue().startswith(f"{bad}:1: not a recognised")


def test_check_pair_exits_0_in_a_subprocess_and_2_on_failure(demo_paths, tmp_path):
    ok = subprocess.run(
        [sys.executable, "manage.py", "check_pair", demo_paths[1], demo_paths[2], "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"SECRET_KEY": "x", "PATH": "/usr/bin:/bin"},
    )
    assert ok.returncode == 0, ok.stderr
    record = json.loads(ok.stdout)
    # Barcelona -> Shanghai with -cpu host: no feature is missing and QEMU's migratable default
    # drops invtsc, but passthrough between different CPUs (family 16, model 2 -> 4) is unsafe.
    assert record["verdict"] == "risky"
    assert "identity" in {r["axis"] for r in record["reasons"] if r["severity"] == "warning"}
    missing = tmp_path / "nope.txt"
    failed = subprocess.run(
        [sys.executable, "manage.py", "check_pair", str(missing), demo_paths[2]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"SECRET_KEY": "x", "PATH": "/usr/bin:/bin"},
    )
    assert failed.returncode == 2
    assert failed.stderr.startswith(f"{missing}:0: cannot read")


def test_pool_baseline_json(demo_paths):
    record = json.loads(run("pool_baseline", *demo_paths, "--json"))
    assert {
        "features",
        "vendors",
        "qemu_model",
        "libvirt_model",
        "evc_mode",
        "x86_64_level",
        "exports",
    } <= set(record)
    assert len(record["features"]) == 28
    assert record["qemu_model"]["spec"] == "Opteron_G2,+vme,-svm"
    assert record["evc_mode"] is None
    assert record["x86_64_level"] == "x86-64-v1"
    assert record["exports"]["qemu_cpu"] == "Opteron_G2,+vme,-svm,phys-bits=38,vendor=AuthenticAMD"
    assert (
        "<model fallback='forbid' vendor_id='AuthenticAMD'>Opteron_G2</model>"
        in record["exports"]["libvirt_xml"]
    )


def test_pool_baseline_names_in_libvirt_vocabulary(demo_paths):
    record = json.loads(run("pool_baseline", *demo_paths, "--json", "--names", "libvirt"))
    assert "lahf_lm" in record["features"] and "pni" in record["features"]
    text = run("pool_baseline", *demo_paths)
    assert "Opteron_G2" in text and "cpu_mode = custom" in text


def test_compat_matrix_json(demo_paths):
    record = json.loads(run("compat_matrix", *demo_paths, "--json"))
    assert record["hosts"] == list(demo_paths)
    assert len(record["verdicts"]) == 3 and len(record["missing"][0]) == 3
    harpertown_to_shanghai = record["missing"][0][2]
    assert harpertown_to_shanghai > 0 and record["verdicts"][0][2] == "blocked"
    baseline = json.loads(run("compat_matrix", *demo_paths, "--guest", "baseline", "--json"))
    assert all(level != "blocked" for row in baseline["verdicts"] for level in row)


def test_compat_matrix_human_and_bad_guest(demo_paths):
    assert "row = source" in run("compat_matrix", *demo_paths)
    with pytest.raises(SystemExit) as exit_info:
        call_command("compat_matrix", *demo_paths, "--guest", "Nope", stderr=io.StringIO())
    assert exit_info.value.code == 2


def test_check_pair_hyperv_compatibility_mode(demo_paths):
    _, barcelona, shanghai = demo_paths
    backward = json.loads(
        run("check_pair", shanghai, barcelona, "--hypervisor", "hyperv", "--json")
    )
    assert backward["verdict"] == "blocked" and backward["hyperv_compatibility"] is None
    dynamic = json.loads(
        run(
            "check_pair",
            shanghai,
            barcelona,
            "--hypervisor",
            "hyperv",
            "--hyperv-compatibility",
            "dynamic",
            "--json",
        )
    )
    assert dynamic["hyperv_compatibility"] == "dynamic" and dynamic["missing"] == []
    with pytest.raises(SystemExit) as exit_info:
        call_command(
            "check_pair",
            shanghai,
            barcelona,
            "--hyperv-compatibility",
            "2008r2",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert exit_info.value.code == 2  # a Hyper-V mode given to KVM


def test_compat_matrix_hyperv_dynamic_mode(demo_paths):
    _, barcelona, shanghai = demo_paths
    record = json.loads(
        run(
            "compat_matrix",
            barcelona,
            shanghai,
            "--hypervisor",
            "hyperv",
            "--hyperv-compatibility",
            "dynamic",
            "--json",
        )
    )
    # the guest sees only what both AMD hosts share: nothing is missing either way
    assert record["missing"] == [[0, 0], [0, 0]]
    assert "blocked" not in {level for row in record["verdicts"] for level in row}
