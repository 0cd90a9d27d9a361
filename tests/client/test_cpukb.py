"""cpukb, the one-file client (client/cpukb.py), run as a real subprocess against a live test
server (pytest-django's ``live_server``), with the data loaded through the services."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.cache import cache

from cpus.cpuid import decode
from cpus.models import HostReport
from tests.samples import DUMPS

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT = REPO_ROOT / "client" / "cpukb.py"

# Host name -> dump of tests/dumps loaded as that host's report.
HOST_DUMPS = {
    "opteron-248": "aida64_Opteron248_K8_SledgeHammer_libcpuid.txt",
    "barcelona-2344": "aida64_Opteron2344HE_Barcelona_libcpuid.txt",
    "barcelona-2347": "aida64_Opteron2347HE_Barcelona_2S_libcpuid.txt",
    "shanghai-2378": "aida64_Opteron2378_Shanghai_2S_libcpuid.txt",
    "harpertown-e5462": "aida64_XeonE5462_Harpertown_2S_libcpuid.txt",
}

_ROW = re.compile(
    r"^\s+0x([0-9a-f]{8}) 0x([0-9a-f]{2,8}): eax=0x([0-9a-f]{8}) ebx=0x([0-9a-f]{8}) "
    r"ecx=0x([0-9a-f]{8}) edx=0x([0-9a-f]{8})\s*$",
    re.MULTILINE,
)


def make_cpuid_device(dump_text: str, path: Path) -> Path:
    """A sparse regular file standing in for /dev/cpu/0/cpuid, from the rows of a ``cpuid -1 -r``
    dump: eax, ebx, ecx, edx little-endian at byte 16 * (leaf | subleaf << 32).

    The real driver answers 16 bytes for *position* ``leaf | subleaf << 32`` (consecutive
    leaves are consecutive positions), which a regular file cannot do without overlapping
    records, so cpukb reads a regular file as such an image: 16 bytes a position.
    """
    rows = _ROW.findall(dump_text)
    assert rows, "no cpuid -r rows in the dump"
    with open(path, "wb") as device:
        for leaf, subleaf, *registers in rows:
            device.seek((int(leaf, 16) | int(subleaf, 16) << 32) * 16)
            device.write(b"".join(int(value, 16).to_bytes(4, "little") for value in registers))
    return path


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of the test run without any CPUKB_* variable, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CPUKB_")}
    env.update(extra)
    return env


RunCli = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def run_cli() -> RunCli:
    """Run ``python client/cpukb.py ARGS`` with a clean environment (plus ``env``)."""

    def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None):
        done = subprocess.run(
            [sys.executable, str(CLIENT), *args],
            env=clean_env(**(env or {})),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO_ROOT,
            check=False,
        )
        # Whatever happens, the client never shows a traceback.
        assert "Traceback" not in done.stderr, done.stderr
        return done

    return run


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """The API throttles anonymous writes per IP in the local-memory cache that the live
    server shares with the rest of the test session: start each test with a clean count."""
    cache.clear()
    yield
    cache.clear()


@dataclass
class KnowledgeBase:
    url: str
    token: str
    hosts: dict  # name -> HostReport
    user: object

    def env(self, token: bool = True) -> dict[str, str]:
        env = {"CPUKB_SERVER": self.url}
        if token:
            env["CPUKB_TOKEN"] = self.token
        return env


@pytest.fixture
def kb(live_server, django_user_model) -> KnowledgeBase:
    """A live server with the hosts of HOST_DUMPS and a user with an API token.

    Needs ``@pytest.mark.django_db(transaction=True)`` on the test: the server thread must see
    committed data.
    """
    from rest_framework.authtoken.models import Token

    from cpus import services

    user = django_user_model.objects.create_user("operator", password="not-used-here")
    token = Token.objects.create(user=user)
    hosts = {}
    for name, dump in HOST_DUMPS.items():
        report, _ = services.report_ingest(
            raw=(DUMPS / dump).read_text(), host_name=name, uploaded_by=user
        )
        hosts[name] = report
    return KnowledgeBase(url=live_server.url, token=token.key, hosts=hosts, user=user)


MILAN_DUMP = DUMPS / "thismachine_kvm_EPYC-Milan_cpuid-1-r.txt"
HARPERTOWN_CPUINFO = DUMPS / "proc_cpuinfo_XeonE5405_Harpertown_cpu0.txt"
LIVE = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def milan_device(tmp_path):
    return make_cpuid_device(MILAN_DUMP.read_text(), tmp_path / "cpuid")


def _no_device_env(tmp_path) -> dict[str, str]:
    """Capture falls through the device and the cpuid tool to /proc/cpuinfo (Harpertown)."""
    return {
        "CPUKB_CPUID_DEVICE": str(tmp_path / "no-such-device"),
        "CPUKB_CPUID_TOOL": "",
        "CPUKB_CPUINFO": str(HARPERTOWN_CPUINFO),
    }


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


# --- report: capture -------------------------------------------------------------------------


@pytest.mark.subprocess
def test_dry_run_reads_the_cpuid_device_in_cpuid_r_format(run_cli, milan_device):
    done = run_cli("report", "--dry-run", env={"CPUKB_CPUID_DEVICE": str(milan_device)})

    assert done.returncode == 0, done.stderr
    assert f"captured from {milan_device}" in done.stderr
    original = MILAN_DUMP.read_text()
    captured = decode(done.stdout)
    expected = decode(original)
    assert captured.format == "cpuid-r"
    assert captured.feature_mask == expected.feature_mask
    assert captured.unknown_mask == expected.unknown_mask
    assert captured.identity == expected.identity
    # Every leaf and subleaf that `cpuid -1 -r` printed, enumerated the same way, byte for byte.
    assert done.stdout == original


@pytest.mark.subprocess
def test_dry_run_device_as_hidden_option_and_json(run_cli, milan_device):
    done = run_cli("report", "--dry-run", "--json", "--cpuid-device", str(milan_device))

    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["source"] == str(milan_device)
    assert body["raw"] == MILAN_DUMP.read_text()
    assert body["host_name"]  # this machine's name by default


@pytest.mark.subprocess
def test_dry_run_falls_back_to_proc_cpuinfo(run_cli, tmp_path):
    done = run_cli("report", "--dry-run", env=_no_device_env(tmp_path))

    assert done.returncode == 0, done.stderr
    assert "does not exist" in done.stderr  # says why the device was not used
    assert f"captured from {HARPERTOWN_CPUINFO}" in done.stderr
    captured = decode(done.stdout)
    expected = decode(HARPERTOWN_CPUINFO.read_text())
    assert captured.format == expected.format
    assert captured.feature_mask == expected.feature_mask
    assert captured.identity == expected.identity


@pytest.mark.subprocess
def test_cpuinfo_sends_the_first_processor_block(run_cli, tmp_path):
    block = HARPERTOWN_CPUINFO.read_text().strip("\n")
    second = block.replace("processor\t: 0", "processor\t: 1")
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(block + "\n\n" + second + "\n\n")

    done = run_cli("report", "--dry-run", "--from", "cpuinfo", "--cpuinfo", str(cpuinfo))

    assert done.returncode == 0, done.stderr
    assert done.stdout == block + "\n"


@pytest.mark.subprocess
def test_report_says_why_nothing_could_be_captured(run_cli, tmp_path):
    env = _no_device_env(tmp_path)
    env["CPUKB_CPUINFO"] = str(tmp_path / "no-cpuinfo")

    done = run_cli("report", "--dry-run", env=env)

    assert done.returncode == 3
    assert "cannot capture this host's CPU" in done.stderr
    assert "no-such-device does not exist" in done.stderr
    assert "no-cpuinfo" in done.stderr
    assert done.stdout == ""


@pytest.mark.subprocess
def test_dry_run_on_this_machine_matches_the_cpuid_tool(run_cli):
    device = "/dev/cpu/0/cpuid"
    tool = shutil.which("cpuid")
    if not os.access(device, os.R_OK):
        pytest.skip(f"{device} is not readable here (no cpuid driver, or not root)")
    if tool is None:
        pytest.skip("the cpuid tool is not installed here (apt install cpuid)")
    reference = subprocess.run([tool, "-r"], capture_output=True, text=True, check=True).stdout

    done = run_cli("report", "--dry-run", "--cpuid-device", device)

    assert done.returncode == 0, done.stderr
    assert f"captured from {device}" in done.stderr
    captured, expected = decode(done.stdout), decode(reference)
    assert captured.feature_mask == expected.feature_mask
    assert captured.unknown_mask == expected.unknown_mask
    assert captured.identity.signature == expected.identity.signature
    assert captured.identity.brand == expected.identity.brand


# --- report: upload --------------------------------------------------------------------------


@LIVE
@pytest.mark.subprocess
def test_report_uploads_and_prints_the_decoded_report(run_cli, kb, milan_device):
    env = {**kb.env(), "CPUKB_CPUID_DEVICE": str(milan_device)}

    done = run_cli("report", "--name", "milan-node", env=env)

    assert done.returncode == 0, done.stderr
    report = HostReport.objects.get(host__name="milan-node")
    assert report.raw == MILAN_DUMP.read_text()
    assert report.uploaded_by == kb.user
    assert f"Uploaded report #{report.pk} (cpuid-r)" in done.stdout
    assert "AMD EPYC" in done.stdout
    assert "Host:       milan-node" in done.stdout
    assert "avx2" in done.stdout
    assert f"{kb.url}/reports/{report.pk}/" in done.stdout

    again = run_cli("report", "--name", "milan-node", env=env)
    assert again.returncode == 0, again.stderr
    assert f"Already known: report #{report.pk}" in again.stdout
    assert HostReport.objects.filter(host__name="milan-node").count() == 1


@LIVE
@pytest.mark.subprocess
def test_report_json_from_proc_cpuinfo(run_cli, kb, tmp_path):
    env = {**kb.env(), **_no_device_env(tmp_path)}

    done = run_cli("report", "--json", "--name", "old-xeon", "--server", kb.url, env=env)

    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["format"] == decode(HARPERTOWN_CPUINFO.read_text()).format
    assert body["vendor"] == "GenuineIntel"
    assert body["host"]["name"] == "old-xeon"
    assert "ssse3" in body["features"]


@LIVE
@pytest.mark.subprocess
def test_report_with_a_bad_token_is_an_authentication_error(run_cli, kb, milan_device):
    env = {**kb.env(), "CPUKB_CPUID_DEVICE": str(milan_device), "CPUKB_TOKEN": "not-a-token"}

    done = run_cli("report", env=env)

    assert done.returncode == 3
    assert "authentication failed: Invalid token" in done.stderr
    assert "--token or CPUKB_TOKEN" in done.stderr
    assert done.stdout == ""
    assert not HostReport.objects.filter(raw=MILAN_DUMP.read_text()).exists()


@LIVE
@pytest.mark.subprocess
def test_report_without_a_token_says_how_to_get_one(run_cli, kb, milan_device):
    env = {**kb.env(token=False), "CPUKB_CPUID_DEVICE": str(milan_device)}

    done = run_cli("report", env=env)

    assert done.returncode == 3
    assert "needs an API token" in done.stderr
    assert f"{kb.url}/accounts/profile/" in done.stderr


@LIVE
@pytest.mark.subprocess
def test_report_rejected_by_the_decoder_names_the_line(run_cli, kb, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu\n")  # no vendor, family...

    done = run_cli("report", "--from", "cpuinfo", "--cpuinfo", str(cpuinfo), env=kb.env())

    assert done.returncode == 3
    assert "the server refused the request" in done.stderr


# --- check -----------------------------------------------------------------------------------


@LIVE
@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("source", "destination", "guest", "verdict", "status"),
    [
        # K8 -> K10 passthrough: no feature lost, but another CPU under the guest (a warning).
        ("opteron-248", "barcelona-2344", "host-passthrough", "risky", 1),
        # The same K8 host (no AMD-V, so no nested virtualisation to carry): safe.
        ("opteron-248", "opteron-248", "host-passthrough", "safe", 0),
        ("barcelona-2344", "barcelona-2347", "Opteron_G1", "safe-with-model", 1),
        # Nested virtualisation asked for explicitly (QEMU turns svm off by default under KVM).
        ("barcelona-2344", "barcelona-2347", "Opteron_G2,+svm", "risky", 1),
        ("harpertown-e5462", "shanghai-2378", "host-passthrough", "blocked", 2),
    ],
)
def test_check_exit_status_follows_the_verdict(
    run_cli, kb, source, destination, guest, verdict, status
):
    done = run_cli("check", source, destination, "--guest", guest, env=kb.env())

    assert done.returncode == status, done.stdout + done.stderr
    assert done.stdout.startswith(f"{verdict}: {source} -> {destination} (guest CPU {guest}, kvm)")

    as_json = run_cli("check", source, destination, "--guest", guest, "--json", env=kb.env())
    assert as_json.returncode == status
    assert json.loads(as_json.stdout)["verdict"] == verdict


@LIVE
@pytest.mark.subprocess
def test_check_blocked_lists_the_reasons(run_cli, kb):
    # The hosts are the operator's: a name means one's own host (or the catalog's), so the
    # check is made with the operator's token.
    done = run_cli("check", "harpertown-e5462", "shanghai-2378", env=kb.env())

    assert done.returncode == 2
    assert "[blocker] vendor:" in done.stdout
    assert "[blocker] features:" in done.stdout
    assert "sse4_1" in done.stdout
    assert "suggestion:" in done.stdout


@LIVE
@pytest.mark.subprocess
def test_check_accepts_files_and_ids(run_cli, kb):
    source = DUMPS / HOST_DUMPS["opteron-248"]
    destination = kb.hosts["barcelona-2344"]

    by_file = run_cli("check", str(source), f"report:{destination.pk}", env=kb.env())
    by_ids = run_cli(
        "check", f"cpu:{kb.hosts['opteron-248'].cpu_model_id}", f"host:{destination.host.pk}",
        env=kb.env(),
    )  # fmt: skip
    on_vmware = run_cli(
        "check", "opteron-248", "barcelona-2344", "--hypervisor", "vmware", "--json", env=kb.env()
    )

    # K8 -> K10 under host-passthrough: risky (another CPU under the guest), exit status 1.
    assert by_file.returncode == 1, by_file.stderr
    assert by_file.stdout.startswith("risky: ")
    assert by_ids.returncode == 1, by_ids.stderr
    assert json.loads(on_vmware.stdout)["hypervisor"] == "vmware"


@LIVE
@pytest.mark.subprocess
def test_check_validation_errors_are_clear(run_cli, kb, tmp_path):
    unknown = run_cli("check", "no-such-host", "barcelona-2344", env=kb.env())
    bad_guest = run_cli("check", "opteron-248", "barcelona-2344", "--guest", "Bogus", env=kb.env())
    not_a_dump = tmp_path / "notes.txt"
    not_a_dump.write_text("hello\n")
    bad_dump = run_cli("check", str(not_a_dump), "barcelona-2344", env=kb.env())

    assert unknown.returncode == 3
    assert (
        "not found: no host 'no-such-host' of yours or of the catalog "
        "(name another user's host by its id) (field source)"
    ) in unknown.stderr
    assert bad_guest.returncode == 3
    assert "unknown guest CPU model 'Bogus'" in bad_guest.stderr
    assert "(field guest_cpu)" in bad_guest.stderr
    assert bad_dump.returncode == 3
    assert "not a recognised CPUID dump" in bad_dump.stderr
    assert "line 1" in bad_dump.stderr


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "the following arguments are required: COMMAND"),
        (("check", "a"), "the following arguments are required: DST"),
        (("check", "a", "b", "--hypervisor", "xen"), "invalid choice: 'xen'"),
        (("frobnicate",), "invalid choice: 'frobnicate'"),
        (("baseline", "h", "--format", "yaml"), "invalid choice: 'yaml'"),
        (("record", "a", "b", "--guest", "x"), "the following arguments are required: --outcome"),
        (
            ("record", "a", "b", "--guest", "x", "--outcome", "succeeded", "--date", "2024-13-01"),
            "is not a date",
        ),
        (("check", "report:abc", "b", "--server", "http://127.0.0.1:9"), "needs a numeric id"),
        (("check", "a", "b"), "no server: pass --server URL or set CPUKB_SERVER"),
        (("check", "a", "b", "--server", "kb.example.com"), "must start with http://"),
    ],
)
def test_usage_errors_exit_3(run_cli, args, message):
    done = run_cli(*args)

    assert done.returncode == 3, done.stdout + done.stderr
    assert message in done.stderr
    assert done.stdout == ""


@pytest.mark.subprocess
def test_help_lists_every_command(run_cli):
    done = run_cli("--help")

    assert done.returncode == 0
    for command in ("report", "check", "baseline", "record"):
        assert command in done.stdout
    assert "3 usage, connection" in done.stdout


# --- network errors --------------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.subprocess
def test_connection_refused_is_a_clear_error(run_cli, closed_port):
    server = f"http://127.0.0.1:{closed_port}"

    check = run_cli("check", "a", "b", "--server", server)
    baseline = run_cli("baseline", "a", env={"CPUKB_SERVER": server})

    for done in (check, baseline):
        assert done.returncode == 3
        assert f"cannot reach the server at {server}/api/" in done.stderr
        assert "connection refused" in done.stderr


@LIVE
@pytest.mark.subprocess
def test_a_url_that_is_not_the_site_root_is_explained(run_cli, kb):
    done = run_cli("check", "opteron-248", "barcelona-2344", "--server", kb.url + "/api")

    assert done.returncode == 3
    assert "Is " + kb.url + "/api the root URL of a CPU Migration KB site?" in done.stderr


@pytest.mark.subprocess
def test_a_server_that_does_not_answer_times_out(run_cli):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        server = f"http://127.0.0.1:{silent.getsockname()[1]}"

        done = run_cli("check", "a", "b", "--server", server, "--timeout", "0.5")

    assert done.returncode == 3
    assert "no answer within 0.5 s" in done.stderr


# --- baseline --------------------------------------------------------------------------------

POOL = ("harpertown-e5462", "barcelona-2344", "shanghai-2378")


@LIVE
@pytest.mark.subprocess
def test_baseline_in_every_format(run_cli, kb):
    def baseline(fmt: str, *hosts: str) -> subprocess.CompletedProcess:
        return run_cli("baseline", *(hosts or POOL), "--format", fmt, env=kb.env())

    as_json = baseline("json")
    assert as_json.returncode == 0, as_json.stderr
    pool = json.loads(as_json.stdout)
    exports = pool["exports"]
    assert pool["vendors"] == {"AuthenticAMD": 2, "GenuineIntel": 1}

    libvirt = baseline("libvirt")
    assert libvirt.returncode == 0, libvirt.stderr
    cpu = ET.fromstring(libvirt.stdout)
    assert cpu.tag == "cpu"
    assert cpu.get("mode") == "custom"
    assert cpu.find("model").text == pool["libvirt_model"]["name"]
    assert libvirt.stdout == exports["libvirt_xml"]

    qemu = baseline("qemu")
    assert qemu.returncode == 0
    assert qemu.stdout == exports["qemu_cpu"] + "\n"
    assert re.fullmatch(r"[A-Za-z0-9_.-]+(,[+-]?[A-Za-z0-9_.=-]+)*\n", qemu.stdout)
    assert qemu.stdout.endswith(",vendor=AuthenticAMD\n")  # cross-vendor: the vendor is pinned
    assert "pins the guest's vendor to AuthenticAMD" in qemu.stderr  # the notes, on stderr
    assert qemu.stdout.startswith(pool["qemu_model"]["name"] + ",")

    nova = baseline("nova")
    assert nova.returncode == 0
    assert nova.stdout.startswith(exports["orchestrators"]["nova"]["config"])
    assert nova.stdout.startswith("[libvirt]\ncpu_mode = custom\ncpu_models = ")
    assert "# lost: " in nova.stdout

    proxmox = baseline("proxmox")
    assert proxmox.returncode == 0
    assert proxmox.stdout == exports["proxmox"]
    assert proxmox.stdout.startswith("cpu-model: ")

    summary = baseline("summary")
    assert summary.returncode == 0
    assert "Pool of 3 host(s): 2 AuthenticAMD, 1 GenuineIntel" in summary.stdout
    assert pool["qemu_model"]["spec"] in summary.stdout

    mixed_evc = baseline("evc")
    assert mixed_evc.returncode == 1
    assert mixed_evc.stdout == ""
    assert "no single EVC mode: the pool mixes vendors" in mixed_evc.stderr

    amd_evc = baseline("evc", "barcelona-2344", "shanghai-2378")
    assert amd_evc.returncode == 0, amd_evc.stderr
    amd_pool = json.loads(baseline("json", "barcelona-2344", "shanghai-2378").stdout)
    assert amd_evc.stdout == amd_pool["exports"]["evc_mode"] + "\n"


@LIVE
@pytest.mark.subprocess
def test_baseline_of_an_unknown_host_is_not_found(run_cli, kb):
    done = run_cli("baseline", "barcelona-2344", "nowhere", env=kb.env())

    assert done.returncode == 3
    assert (
        "not found: no host 'nowhere' of yours or of the catalog "
        "(name another user's host by its id) (field hosts[1])"
    ) in done.stderr


# --- record ----------------------------------------------------------------------------------


@LIVE
@pytest.mark.subprocess
def test_record_stores_the_outcome_in_the_ledger(run_cli, kb):
    error = "warning: host doesn't support requested feature: CPUID.01H:ECX.sse4.1 [bit 19]"

    done = run_cli(
        "record", "barcelona-2344", "barcelona-2347",
        "--guest", "Opteron_G2,+svm", "--outcome", "succeeded-with-issues",
        "--date", "2008-11-05", "--qemu-version", "0.9.1", "--downtime-ms", "120",
        "--error-message", "-",
        env=kb.env(), stdin=error,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    match = re.search(
        r"Recorded migration #(\d+): succeeded-with-issues, predicted risky", done.stdout
    )
    assert match, done.stdout
    record_id = int(match.group(1))
    assert f"{kb.url}/ledger/{record_id}/" in done.stdout
    listed = _get_json(f"{kb.url}/api/migrations/")["results"]
    assert [record["id"] for record in listed] == [record_id]
    record = listed[0]
    assert record["source_host"]["name"] == "barcelona-2344"
    assert record["destination_host"]["name"] == "barcelona-2347"
    assert record["happened_on"] == "2008-11-05"
    assert record["qemu_version"] == "0.9.1"
    assert record["downtime_ms"] == 120
    assert record["error_message"] == error
    assert record["submitter"] == "operator"


@LIVE
@pytest.mark.subprocess
def test_record_json_with_an_inline_dump(run_cli, kb):
    source = DUMPS / HOST_DUMPS["opteron-248"]

    done = run_cli(
        "record", str(source), "host:barcelona-2344", "--guest", "host-passthrough",
        "--hypervisor", "xen", "--outcome", "succeeded", "--json", env=kb.env(),
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["hypervisor"] == "xen"
    assert body["outcome"] == "succeeded"
    assert body["destination_host"]["name"] == "barcelona-2344"
    assert body["url"].rstrip("/").endswith(f"/api/migrations/{body['id']}")


@LIVE
@pytest.mark.subprocess
def test_record_errors(run_cli, kb):
    args = (
        "record",
        "barcelona-2344",
        "nowhere",
        "--guest",
        "Opteron_G1",
        "--outcome",
        "succeeded",
    )

    no_token = run_cli(*args, env=kb.env(token=False))
    bad_token = run_cli(*args, "--token", "wrong", env=kb.env(token=False))
    unknown_host = run_cli(*args, env=kb.env())

    assert no_token.returncode == 3
    assert "recording a migration needs an API token" in no_token.stderr
    assert bad_token.returncode == 3
    assert "authentication failed: Invalid token" in bad_token.stderr
    assert unknown_host.returncode == 3
    assert "the server refused the request: no host 'nowhere' of yours or of the catalog" in (
        unknown_host.stderr
    )
    assert _get_json(f"{kb.url}/api/migrations/")["count"] == 0


# --- the file itself -------------------------------------------------------------------------


@LIVE
@pytest.mark.subprocess
def test_the_site_serves_the_client_that_runs_as_downloaded(run_cli, live_server, tmp_path):
    with urllib.request.urlopen(f"{live_server.url}/client/cpukb.py", timeout=30) as response:
        downloaded = response.read()

    # The site may fill in DEFAULT_SERVER; everything else is the file of the repository.
    def code(text: bytes) -> list[bytes]:
        return [line for line in text.splitlines() if not line.startswith(b"DEFAULT_SERVER =")]

    assert code(downloaded) == code(CLIENT.read_bytes())
    script = tmp_path / "cpukb.py"
    script.write_bytes(downloaded)

    done = subprocess.run(
        [sys.executable, str(script), "--version"], capture_output=True, text=True, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("cpukb ")


@pytest.mark.django_db
def test_the_downloaded_client_defaults_to_the_site_it_came_from(client):
    # Through the view (the live test server answers paths that exist on disk from the
    # working directory before they reach Django, so it cannot show this).
    response = client.get("/client/cpukb.py", HTTP_HOST="localhost:8123")
    source = response.content

    served = [line for line in source.splitlines() if line.startswith(b"DEFAULT_SERVER =")]
    assert response.status_code == 200
    assert served == [b'DEFAULT_SERVER = "http://localhost:8123"']
    assert source.replace(served[0], b'DEFAULT_SERVER = ""') == CLIENT.read_bytes()


def test_client_is_python_3_8_and_standard_library_only():
    source = CLIENT.read_text()
    tree = ast.parse(source, feature_version=(3, 8))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported
    assert "from __future__ import annotations" in source
    # Python 3.9+ library calls that ast cannot see.
    for newer in (".removeprefix(", ".removesuffix(", "strict=", "BooleanOptionalAction"):
        assert newer not in source, newer


# --- report: the host's stack (issue 14) -----------------------------------------------------

# Outputs as the tools print them (QEMU 7.2 and libvirt 9.0 of Debian 12, the versions of this
# project's reference data), served by stand-in scripts on PATH.
FAKE_TOOLS = {
    "qemu-system-x86_64": "QEMU emulator version 7.2.11 (Debian 1:7.2+dfsg-7+deb12u12)\n"
    "Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n",
    "virsh": "Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\n"
    "Using API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.11\n",
    "uname": "6.1.0-28-amd64\n",
}


def _fake_tools(directory: Path, leave_out: str = "") -> str:
    directory.mkdir(exist_ok=True)
    for name, output in FAKE_TOOLS.items():
        if name == leave_out:
            continue
        script = directory / name
        # shell builtins only: PATH holds nothing but these stand-ins
        script.write_text(
            "#!/bin/sh\nwhile IFS= read -r line; do echo \"$line\"; done <<'END'\n"
            + output
            + "END\n"
        )
        script.chmod(0o755)
    return str(directory)


def _stack_env(tmp_path, milan_device, path: str, **extra) -> dict:
    cmdline = tmp_path / "cmdline"
    cmdline.write_text("BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro tsx=off mitigations=auto\n")
    vulnerabilities = tmp_path / "vulnerabilities"
    vulnerabilities.mkdir(exist_ok=True)
    (vulnerabilities / "tsx_async_abort").write_text("Not affected\n")
    return {
        "PATH": path,
        "CPUKB_CPUID_DEVICE": str(milan_device),
        "CPUKB_CPUINFO": str(DUMPS / "thismachine_kvm_EPYC-Milan_proc_cpuinfo.txt"),
        "CPUKB_CMDLINE": str(cmdline),
        "CPUKB_VULNERABILITIES": str(vulnerabilities),
        "CPUKB_MSR_DEVICE": str(tmp_path / "no-msr-device"),
        **extra,
    }


@pytest.mark.subprocess
def test_report_collects_the_stack_from_each_tool_and_file(run_cli, tmp_path, milan_device):
    env = _stack_env(tmp_path, milan_device, _fake_tools(tmp_path / "bin"))
    done = run_cli("report", "--dry-run", "--json", env=env)
    assert done.returncode == 0, done.stderr
    stack = json.loads(done.stdout)["stack"]
    assert stack["qemu_version"].startswith("QEMU emulator version 7.2.11")
    assert stack["libvirt_version"] == "9.0.0"
    assert stack["kernel_release"] == "6.1.0-28-amd64"
    assert "tsx=off" in stack["kernel_cmdline"]
    cpuinfo = (DUMPS / "thismachine_kvm_EPYC-Milan_proc_cpuinfo.txt").read_text()
    microcode = next(
        line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("micro")
    )
    assert stack["microcode"] == microcode
    assert stack["vulnerabilities"] == {"tsx_async_abort": "Not affected"}
    assert "vmx_msrs" not in stack and "no-msr-device" in done.stderr


@pytest.mark.subprocess
@pytest.mark.parametrize("missing", [*FAKE_TOOLS, "cmdline", "vulnerabilities", "everything"])
def test_report_tolerates_each_missing_tool(run_cli, tmp_path, milan_device, missing):
    path = _fake_tools(tmp_path / "bin", leave_out=missing)
    if missing == "everything":
        path = str(tmp_path / "empty-bin")
    extra = {}
    if missing in ("cmdline", "everything"):
        extra["CPUKB_CMDLINE"] = str(tmp_path / "no-cmdline")
    if missing in ("vulnerabilities", "everything"):
        extra["CPUKB_VULNERABILITIES"] = str(tmp_path / "no-vulnerabilities")
    done = run_cli(
        "report", "--dry-run", "--json", env=_stack_env(tmp_path, milan_device, path, **extra)
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["raw"] == MILAN_DUMP.read_text()  # the CPU report is unaffected
    stack = body["stack"]
    expected_gone = {
        "qemu-system-x86_64": set(),  # virsh's "Running hypervisor" line still names QEMU
        "virsh": {"libvirt_version"},
        "uname": {"kernel_release"},
        "cmdline": {"kernel_cmdline"},
        "vulnerabilities": {"vulnerabilities"},
        "everything": {"qemu_version", "libvirt_version", "kernel_release", "kernel_cmdline"},
    }[missing]
    assert not expected_gone & set(stack), stack
    assert "microcode" in stack  # from the cpuinfo file, whatever tools are missing
    if missing == "qemu-system-x86_64":
        assert stack["qemu_version"] == "7.2.11"  # virsh's "Running hypervisor" line


@pytest.mark.subprocess
def test_report_collects_the_stack_on_this_machine(run_cli, milan_device):
    done = run_cli("report", "--dry-run", "--json", env={"CPUKB_CPUID_DEVICE": str(milan_device)})
    assert done.returncode == 0, done.stderr
    stack = json.loads(done.stdout)["stack"]
    if shutil.which("uname"):
        assert stack["kernel_release"] == os.uname().release
    if os.access("/proc/cmdline", os.R_OK) and Path("/proc/cmdline").read_text().strip():
        assert stack["kernel_cmdline"] == Path("/proc/cmdline").read_text().strip()
    folder = Path("/sys/devices/system/cpu/vulnerabilities")
    if folder.is_dir():
        assert set(stack["vulnerabilities"]) == {p.name for p in folder.iterdir()}
    skipped = run_cli(
        "report",
        "--dry-run",
        "--json",
        "--no-stack",
        env={"CPUKB_CPUID_DEVICE": str(milan_device)},
    )
    assert json.loads(skipped.stdout)["stack"] == {}


@LIVE
@pytest.mark.subprocess
def test_report_uploads_the_stack_and_vmx_msrs(run_cli, kb, tmp_path, milan_device):
    # An msr-device image (byte offset = MSR index, as the Linux msr driver reads): the
    # true pin-based controls allow "process posted interrupts" (bit 7) without requiring it.
    msr = tmp_path / "msr"
    with open(msr, "wb") as image:
        image.seek(0x48D)
        image.write(struct.pack("<Q", 1 << 7 << 32))
    env = {
        **kb.env(),
        **_stack_env(tmp_path, milan_device, _fake_tools(tmp_path / "bin")),
        "CPUKB_MSR_DEVICE": str(msr),
    }
    done = run_cli("report", "--name", "kvm-stack", env=env)
    assert done.returncode == 0, done.stderr
    report = HostReport.objects.get(host__name="kvm-stack")
    assert report.stack["libvirt_version"] == "9.0.0"
    assert report.stack["kernel_release"] == "6.1.0-28-amd64"
    assert "vmx-posted-intr" in report.stack["vmx_features"]
    assert "libvirt:    9.0.0" in done.stdout
