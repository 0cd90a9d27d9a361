"""manage.py explain_error: human and JSON output, stdin, exit codes 0/1/2."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

ROOT = Path(__file__).resolve().parents[2]
# Real: vagrant-libvirt/vagrant-libvirt#667.
SVM = (
    "Call to virDomainCreateWithFlags failed: the CPU is incompatible with host CPU: "
    "Host CPU does not provide required features: svm"
)
# Real: foxlet/macOS-Simple-KVM#245 (two of its lines).
QEMU_LOG = (
    "qemu-system-x86_64: warning: host doesn't support requested feature: "
    "CPUID.01H:ECX.fma [bit 12]\n"
    "qemu-system-x86_64: warning: host doesn't support requested feature: "
    "CPUID.07H:EBX.avx2 [bit 5]\n"
)


def run(*args, stdin=None):
    out, err = io.StringIO(), io.StringIO()
    kwargs = {"stdout": out, "stderr": err}
    if stdin is not None:
        kwargs["stdin"] = stdin
    call_command("explain_error", *args, **kwargs)
    return out.getvalue()


def test_human_output_names_hypervisor_axis_features_and_what_to_do():
    text = run(SVM)
    assert "Hypervisor: libvirt" in text
    assert "Axis:       nested virt" in text
    assert "Features:   svm" in text
    assert "does not provide svm" in text


def test_json_output_is_the_explanation_dict():
    body = json.loads(run("--json", SVM))
    assert body["hypervisor"] == "libvirt"
    assert body["axis"] == "nested virt"
    assert body["features"] == ["svm"]
    assert body["matched"] is True
    assert body["summary"]


def test_unquoted_words_are_joined():
    body = json.loads(run("--json", *"CPU vendors do not match".split()))
    assert body["axis"] == "vendor"


def test_dash_reads_a_whole_log_from_stdin():
    body = json.loads(run("--json", "-", stdin=io.StringIO(QEMU_LOG)))
    assert body["features"] == ["avx2", "fma"]


def test_unrecognised_message_exits_1_and_says_so():
    out = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("explain_error", "the network is down", stdout=out, stderr=io.StringIO())
    assert exited.value.code == 1
    assert "not one the knowledge base recognises yet" in out.getvalue()


@pytest.mark.parametrize("args", [(" ",), ("-",)])
def test_empty_message_is_bad_input(args):
    with pytest.raises(CommandError, match="empty") as raised:
        run(*args, stdin=io.StringIO(""))
    assert raised.value.returncode == 2


def test_oversized_message_is_bad_input():
    with pytest.raises(CommandError, match="64 KiB") as raised:
        run("-", stdin=io.StringIO("x" * (64 * 1024 + 10)))
    assert raised.value.returncode == 2


@pytest.mark.subprocess
def test_manage_py_exit_codes():
    env = {**os.environ, "DEBUG": "1"}
    env.setdefault("SECRET_KEY", "x")

    def manage(*args, stdin=None):
        return subprocess.run(
            [sys.executable, "manage.py", "explain_error", *args],
            cwd=ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            timeout=120,
        )

    recognised = manage("--json", SVM)
    assert recognised.returncode == 0, recognised.stderr
    assert json.loads(recognised.stdout)["features"] == ["svm"]
    unknown = manage("hello")
    assert unknown.returncode == 1
    assert b"not one the knowledge base recognises yet" in unknown.stdout
    bad = manage("-", stdin=b"\xff\xfe not utf-8")
    assert bad.returncode == 2
    assert b"not UTF-8" in bad.stderr
    piped = manage("-", stdin=QEMU_LOG.encode())
    assert piped.returncode == 0 and b"avx2, fma" in piped.stdout
