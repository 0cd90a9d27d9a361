#!/usr/bin/env python3
"""cpukb: the command-line client of CPU Migration KB.

One file, Python 3.8 or newer, standard library only: copy it to a hypervisor host and run it.

    cpukb report   [--name NAME] [--dry-run] [--json]       capture this host's CPU and upload it
    cpukb check    SRC DST [--guest G] [--hypervisor H]     can a VM live-migrate from SRC to DST?
    cpukb baseline HOST ... | --tag TAG [--format FORMAT]    the CPU every host of a pool can run
    cpukb preflight FILE [--source HOST] [--pool TAG] [--to H] where can this VM go?
    cpukb record   SRC DST --guest G --outcome O [...]      record a real migration's outcome

The server and the API token come from --server/--token or CPUKB_SERVER/CPUKB_TOKEN.
Exit status: 0 success (check: safe), 1 check: safe-with-model or risky (baseline: the pool has
no such export), 2 check: blocked, 3 usage, connection, authentication or validation error.
preflight: 0 when the named destination (--to), or without --to at least one host, is safe.
See docs/cli.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import os
import shutil
import socket
import ssl
import stat
import struct
import subprocess
import sys
import textwrap
import urllib.error
import urllib.parse
import urllib.request

__version__ = "0.1.0"

# The site's download route may fill this in, so that a downloaded client knows its server.
DEFAULT_SERVER = ""

EXIT_OK = 0
EXIT_CAUTION = 1  # check: safe-with-model or risky; baseline: the pool has no such export
EXIT_BLOCKED = 2
EXIT_ERROR = 3  # usage, connection, authentication, validation
VERDICT_EXIT = {"safe": 0, "safe-with-model": 1, "risky": 1, "blocked": 2}

DEFAULT_CPUID_DEVICE = "/dev/cpu/0/cpuid"
DEFAULT_CPUINFO = "/proc/cpuinfo"
DEFAULT_CPUID_TOOL = "cpuid"
# The server parses at most 2 MiB of a report (a larger `cpuid -r`, up to 8 MiB, is accepted but
# only its first CPU blocks are read; older servers refuse it): above this, send `cpuid -1 -r`.
CPUID_TOOL_ALL_CPUS_LIMIT = 1536 * 1024

# The engine's hypervisors and the ones the ledger records too (the server's policy registry,
# cpus/cpuid/policies HYPERVISORS and RECORDED), and the VM formats (cpus/cpuid/vmconfig): the
# client is standalone, so it keeps copies that tests/engine/test_registry.py compares.
HYPERVISORS_CHECK = ("kvm", "vmware", "hyperv")
HYPERVISORS_RECORD = ("kvm", "vmware", "hyperv", "xen")
OUTCOMES = (
    "succeeded",
    "succeeded-with-issues",
    "refused-before-start",
    "failed-during",
    "guest-crashed-after",
)
VM_FORMATS = ("libvirt", "qemu", "proxmox", "kubevirt", "vmware")
BASELINE_FORMATS = (
    "summary",
    "libvirt",
    "qemu",
    "nova",
    "proxmox",
    "proxmox-vm",
    "kubevirt",
    "vsphere",
    "evc",
    "json",
)
CAPTURE_METHODS = ("auto", "device", "cpuid", "cpuinfo")


class CliError(Exception):
    """A problem to report in one line (never a traceback), with the exit status."""

    def __init__(self, message: str, status: int = EXIT_ERROR):
        super().__init__(message)
        self.message = message
        self.status = status


class CaptureError(Exception):
    """One capture method did not work; the next one is tried."""


# --------------------------------------------------------------------------------------------
# Capturing this host's CPU
# --------------------------------------------------------------------------------------------


def enumerate_cpuid(read) -> list:
    """Every (leaf, subleaf, (eax, ebx, ecx, edx)) the knowledge base's decoder can use.

    ``read(leaf, subleaf)`` returns the four registers.  The order and the set of rows follow
    Todd Allen's ``cpuid -1 -r``.
    """
    rows: list = []

    def add(leaf: int, subleaf: int = 0) -> tuple:
        registers = read(leaf, subleaf)
        rows.append((leaf, subleaf, registers))
        return registers

    leaf0 = add(0)
    max_basic = min(leaf0[0], 0xFF)  # a garbage maximum must not make us read for hours
    vendor = struct.pack("<3I", leaf0[1], leaf0[3], leaf0[2]).decode("latin-1")
    in_vm = False
    xsave_mask = 0
    for leaf in range(1, max_basic + 1):
        if leaf == 4:  # deterministic cache parameters: until cache type 0 (printed)
            for subleaf in range(64):
                if add(leaf, subleaf)[0] & 0x1F == 0:
                    break
        elif leaf in (0x7, 0x14, 0x17, 0x18, 0x1D, 0x1E, 0x20, 0x24):
            # EAX of subleaf 0 is the highest subleaf
            first = add(leaf, 0)
            for subleaf in range(1, min(first[0], 31) + 1):
                add(leaf, subleaf)
        elif leaf in (0xB, 0x1F):  # extended topology: until level type 0 (printed)
            for subleaf in range(64):
                if (add(leaf, subleaf)[2] >> 8) & 0xFF == 0:
                    break
        elif leaf == 0xD:  # XSAVE: 0, 1 and every state component XCR0 or XSS can enable
            main = add(leaf, 0)
            extended = add(leaf, 1)
            xsave_mask = main[0] | main[3] << 32 | extended[2] | extended[3] << 32
            for subleaf in range(2, 64):
                if xsave_mask >> subleaf & 1:
                    add(leaf, subleaf)
        elif leaf == 0xF:  # resource monitoring
            add(leaf, 0)
            add(leaf, 1)
        elif leaf == 0x10:  # resource allocation
            for subleaf in range(4):
                add(leaf, subleaf)
        elif leaf == 0x12:  # SGX: 0, 1, then EPC sections until an invalid one
            add(leaf, 0)
            add(leaf, 1)
            for subleaf in range(2, 34):
                registers = read(leaf, subleaf)
                if registers[0] & 0xF == 0:
                    break
                rows.append((leaf, subleaf, registers))
        else:
            registers = add(leaf, 0)
            if leaf == 1:
                in_vm = bool(registers[2] >> 31 & 1)
    add(0x20000000)
    if in_vm:  # the hypervisor's leaves exist only inside a VM
        for base in (0x40000000, 0x40000100):
            top = add(base)[0]
            if base < top <= base + 0xFF:
                for leaf in range(base + 1, top + 1):
                    add(leaf)
    top = add(0x80000000)[0]
    if 0x80000000 < top <= 0x8000FFFF:
        for leaf in range(0x80000001, min(top, 0x800000FF) + 1):
            if leaf == 0x8000001D:  # AMD cache topology: until cache type 0 (not printed)
                for subleaf in range(64):
                    registers = read(leaf, subleaf)
                    if registers[0] & 0x1F == 0:
                        break
                    rows.append((leaf, subleaf, registers))
            elif leaf == 0x80000020:  # AMD platform QoS: 0 and the subleaves EBX enumerates
                first = add(leaf, 0)
                for subleaf in range(1, 8):
                    if first[1] >> subleaf & 1:
                        add(leaf, subleaf)
            elif leaf == 0x80000026:  # AMD extended topology: until level type 0 (printed)
                for subleaf in range(64):
                    if (add(leaf, subleaf)[2] >> 8) & 0xFF == 0:
                        break
            else:
                add(leaf)
    add(0x80860000)
    top = add(0xC0000000)[0]
    if vendor in ("CentaurHauls", "  Shanghai  ") and 0xC0000000 < top <= 0xC00000FF:
        for leaf in range(0xC0000001, top + 1):
            add(leaf)
    return rows


def format_cpuid_rows(rows: list) -> str:
    """The rows in the text of ``cpuid -1 -r``."""
    lines = ["CPU:"]
    for leaf, subleaf, (eax, ebx, ecx, edx) in rows:
        lines.append(
            f"   0x{leaf:08x} 0x{subleaf:02x}: "
            f"eax=0x{eax:08x} ebx=0x{ebx:08x} ecx=0x{ecx:08x} edx=0x{edx:08x}"
        )
    return "\n".join(lines) + "\n"


def capture_from_device(path: str) -> str:
    """Read CPU 0's CPUID through the Linux cpuid driver (or a file laid out like it)."""
    if not os.path.exists(path):
        raise CaptureError(f"{path} does not exist (load the driver: modprobe cpuid)")
    if not os.access(path, os.R_OK):
        raise CaptureError(f"{path} is not readable (run as root)")
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as error:
        raise CaptureError(f"cannot open {path}: {error.strerror or error}") from None
    # The driver takes the file position as the request (EAX = low 32 bits, ECX = high 32 bits)
    # and answers 16 bytes for it, so consecutive leaves are consecutive positions.  A regular
    # file cannot answer like that: an image file (for tests, or a capture taken elsewhere)
    # holds the 16 bytes of position P at byte 16 * P instead, and reads as zeros where empty.
    try:
        slot = 16 if stat.S_ISREG(os.fstat(fd).st_mode) else 1

        def read(leaf: int, subleaf: int) -> tuple:
            data = os.pread(fd, 16, (leaf | subleaf << 32) * slot)
            if len(data) < 16:  # past the end of an image file: all zeros
                data = data + b"\0" * (16 - len(data))
            return struct.unpack("<4I", data)

        rows = enumerate_cpuid(read)
    except OSError as error:
        raise CaptureError(f"cannot read {path}: {error.strerror or error}") from None
    finally:
        os.close(fd)
    return format_cpuid_rows(rows)


def capture_from_cpuid_tool(tool: str) -> str:
    """``cpuid -r`` (every CPU), or ``cpuid -1 -r`` when that is too big to upload."""
    if not tool:
        raise CaptureError("the cpuid tool is disabled")
    executable = shutil.which(tool)
    if executable is None:
        raise CaptureError(
            "the cpuid tool is not installed (apt install cpuid / dnf install cpuid)"
        )
    text = _run_cpuid_tool([executable, "-r"])
    if len(text.encode("utf-8")) > CPUID_TOOL_ALL_CPUS_LIMIT:
        text = _run_cpuid_tool([executable, "-1", "-r"])
    return text


def _run_cpuid_tool(command: list) -> str:
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise CaptureError("{} failed: {}".format(" ".join(command), error)) from None
    text = done.stdout.decode("utf-8", "replace")
    if done.returncode != 0 or "eax=0x" not in text:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = ": " + message[-1] if message else ""
        raise CaptureError(f"{' '.join(command)} failed (exit status {done.returncode}){why}")
    return text


def capture_from_cpuinfo(path: str) -> str:
    """The first processor block of /proc/cpuinfo (feature names only: less exact)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            text = file.read(4 * 1024 * 1024)
    except OSError as error:
        raise CaptureError(f"cannot read {path}: {error.strerror or error}") from None
    blocks = [block for block in text.replace("\r\n", "\n").split("\n\n") if block.strip()]
    for block in blocks:
        if "flags" in block:
            return block.strip("\n") + "\n"
    raise CaptureError(f"{path} has no 'flags' line: not an x86 Linux host?")


def capture(method: str, device: str, tool: str, cpuinfo: str) -> tuple:
    """(text, where it came from, [notes on the methods that did not work])."""
    attempts = {
        "device": (lambda: capture_from_device(device), device),
        "cpuid": (lambda: capture_from_cpuid_tool(tool), f"the cpuid tool ({tool} -r)"),
        "cpuinfo": (lambda: capture_from_cpuinfo(cpuinfo), cpuinfo),
    }
    order = ["device", "cpuid", "cpuinfo"] if method == "auto" else [method]
    notes = []
    for name in order:
        function, label = attempts[name]
        try:
            return function(), label, notes
        except CaptureError as error:
            notes.append(str(error))
    raise CliError("cannot capture this host's CPU: " + "; ".join(notes))


# --------------------------------------------------------------------------------------------
# Talking to the server
# --------------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirected POST would silently become a GET: report the redirect instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Api:
    def __init__(self, server: str, token: str, timeout: float):
        self.server = server.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def link(self, path: str) -> str:
        return self.server + path

    def require_token(self, what: str) -> None:
        if not self.token:
            raise CliError(
                "{} needs an API token: pass --token or set CPUKB_TOKEN (create one on your "
                "profile page, {})".format(what, self.link("/accounts/profile/"))
            )

    def post(self, path: str, body: dict) -> tuple:
        return self.request("POST", path, body)

    def request(self, method: str, path: str, body=None) -> tuple:
        """(HTTP status, decoded JSON) of a 2xx answer; anything else raises CliError."""
        url = self.link(path)
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", f"cpukb/{__version__} (Python {_python()})")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", "Token " + self.token)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = response.status
                raw = response.read()
                content_type = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            try:
                raw = error.read()
            except OSError:
                raw = b""
            raise self._http_error(url, error.code, error.headers, raw) from None
        except urllib.error.URLError as error:
            raise CliError(self._network_message(url, error.reason)) from None
        except (OSError, ValueError, http.client.HTTPException) as error:  # timeouts, resets...
            raise CliError(self._network_message(url, error)) from None
        if "json" not in content_type:
            raise CliError(
                f"unexpected answer from {url} (HTTP {status}, {content_type or 'no type'}, "
                f"not JSON): is {self.server} the root URL of a CPU Migration KB site?"
            )
        try:
            return status, json.loads(raw.decode("utf-8"))
        except ValueError:
            raise CliError(f"the server sent invalid JSON from {url}") from None

    def _network_message(self, url: str, reason) -> str:
        if isinstance(reason, ConnectionRefusedError):
            detail = "connection refused"
        elif isinstance(reason, socket.gaierror):
            detail = "cannot resolve the host name (%s)" % (reason.strerror or reason)
        elif isinstance(reason, socket.timeout) or "timed out" in str(reason):  # noqa: UP041 (3.8)
            detail = f"no answer within {self.timeout:g} s"
        elif isinstance(reason, ssl.SSLError):
            detail = "TLS error: %s" % (getattr(reason, "reason", None) or reason)
        elif isinstance(reason, OSError) and reason.strerror:
            detail = reason.strerror.lower()
        else:
            detail = str(reason) or reason.__class__.__name__
        return f"cannot reach the server at {url}: {detail} (check --server or CPUKB_SERVER)"

    def _http_error(self, url: str, code: int, headers, raw: bytes) -> CliError:
        body = None
        if raw:
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                body = None
        message = body.get("error") if isinstance(body, dict) else None
        if isinstance(body, dict) and not message:
            message = body.get("detail") if isinstance(body.get("detail"), str) else None
        if 300 <= code < 400:
            location = headers.get("Location", "") if headers is not None else ""
            return CliError(
                f"the server redirected {url} to {location or 'another address'}: use the final "
                "URL as --server / CPUKB_SERVER"
            )
        if code in (401, 403):
            hint = (
                "pass a valid token with --token or CPUKB_TOKEN (create one on your profile "
                "page, {})".format(self.link("/accounts/profile/"))
            )
            if code == 401:
                return CliError(
                    "authentication failed: {}; {}".format(message or "not allowed", hint)
                )
            return CliError("permission denied: %s" % (message or "not allowed"))
        if code == 429:
            wait = headers.get("Retry-After") if headers is not None else None
            return CliError(
                "the server is rate-limiting requests: {}{}".format(
                    message or "too many requests", f"; retry in {wait} s" if wait else ""
                )
            )
        if code >= 500:
            return CliError(f"server error (HTTP {code}) at {url}; try again later")
        if message is None:  # not the API's JSON: a wrong URL or a proxy's page
            return CliError(
                f"HTTP {code} from {url}: is {self.server} the root URL of a CPU Migration KB site?"
            )
        where = []
        if isinstance(body, dict):
            if body.get("field"):
                where.append("field {}".format(body["field"]))
            if body.get("line") is not None:
                where.append("line {}".format(body["line"]))
        suffix = " ({})".format(", ".join(where)) if where else ""
        if code == 404 and isinstance(body, dict) and body.get("code") == "no_such_endpoint":
            return CliError(f"{message} Is {self.server} the root URL of a CPU Migration KB site?")
        if code == 404:
            return CliError(f"not found: {message}{suffix}")
        return CliError(f"the server refused the request: {message}{suffix}")


def _python() -> str:
    return "{}.{}".format(*sys.version_info[:2])


# --------------------------------------------------------------------------------------------
# Host references
# --------------------------------------------------------------------------------------------

_REF_PREFIXES = {"report": "report", "cpu": "cpu_model", "cpu_model": "cpu_model", "host": "host"}


def parse_ref(text: str) -> dict:
    """A file -> its text inline; report:N, cpu:N, host:N|NAME -> references; else a host name."""
    if os.path.isfile(text):
        try:
            with open(text, "rb") as file:
                data = file.read()
        except OSError as error:
            raise CliError(f"cannot read {text}: {error.strerror or error}") from None
        try:
            return {"raw": data.decode("utf-8")}
        except UnicodeDecodeError:
            raise CliError(f"{text} is not a UTF-8 text host report") from None
    prefix, colon, value = text.partition(":")
    if colon and prefix.lower() in _REF_PREFIXES:
        kind = _REF_PREFIXES[prefix.lower()]
        if value.isdigit():
            return {kind: int(value)}
        if kind == "host" and value:
            return {"host": value}
        raise CliError(f"{text!r}: {prefix}: needs a numeric id, e.g. {prefix}:12")
    if not text:
        raise CliError("an empty host name")
    return {"host": text}


def describe_ref(text: str, ref: dict) -> str:
    return os.path.basename(text) if "raw" in ref else text


# --------------------------------------------------------------------------------------------
# Output helpers
# --------------------------------------------------------------------------------------------


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    sys.stderr.write("cpukb: " + text + "\n")


def print_json(data) -> None:
    out(json.dumps(data, indent=2, sort_keys=False))


def wrapped(label: str, words: list, width: int = 100) -> str:
    text = " ".join(words) if words else "(none)"
    return textwrap.fill(
        text, width=width, initial_indent=label, subsequent_indent=" " * len(label)
    )


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# The host's stack (for `cpukb report`): every item optional, a missing tool or file skipped
# --------------------------------------------------------------------------------------------

DEFAULT_CMDLINE = "/proc/cmdline"
DEFAULT_VULNERABILITIES = "/sys/devices/system/cpu/vulnerabilities"
DEFAULT_MSR_DEVICE = "/dev/cpu/0/msr"
VMX_MSRS = range(0x480, 0x492)


def _tool_output(*command: str, timeout: float = 20) -> str | None:
    """A tool's standard output, or None when it is not installed or fails."""
    executable = shutil.which(command[0])
    if executable is None:
        return None
    try:
        done = subprocess.run(
            [executable, *command[1:]], capture_output=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "replace")


def _read_text(path: str, limit: int = 65536) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read(limit)
    except OSError:
        return None


def _vmx_msrs(path: str) -> dict | None:
    """The VMX capability MSRs 0x480-0x491 through the Linux msr driver (root, `modprobe msr`);
    None when the device cannot be read.  MSRs the CPU does not have are left out."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    values = {}
    try:
        for index in VMX_MSRS:
            try:
                data = os.pread(fd, 8, index)
            except OSError:
                continue  # the CPU has no such MSR (#GP): skip it
            if len(data) == 8:
                values[hex(index)] = hex(struct.unpack("<Q", data)[0])
    finally:
        os.close(fd)
    return values or None


def collect_stack(cpuinfo: str, cmdline: str, vulnerabilities: str, msr_device: str) -> tuple:
    """(stack fields, [what could not be collected]) of this host: `qemu-system-x86_64
    --version`, `virsh version`, `uname -r`, the kernel command line, /proc/cpuinfo's microcode
    line, the vulnerabilities folder, `virsh domcapabilities` machine type, and the VMX MSRs."""
    stack: dict = {}
    missing = []
    qemu = _tool_output("qemu-system-x86_64", "--version")
    if qemu and qemu.strip():
        stack["qemu_version"] = qemu.strip().splitlines()[0][:64]
    else:
        missing.append("qemu-system-x86_64")
    virsh = _tool_output("virsh", "version")
    if virsh:
        for line in virsh.splitlines():
            label, _, value = line.partition(":")
            words = value.split()
            if label.strip() == "Using library" and len(words) >= 2:
                stack["libvirt_version"] = words[-1][:64]
            if label.strip() == "Running hypervisor" and words[:1] == ["QEMU"]:
                stack.setdefault("qemu_version", words[-1][:64])
    if "libvirt_version" not in stack:
        client = _tool_output("virsh", "--version")
        if client and client.strip():
            stack["libvirt_version"] = client.strip()[:64]
        else:
            missing.append("virsh")
    release = _tool_output("uname", "-r")
    if release and release.strip():
        stack["kernel_release"] = release.strip()[:128]
    else:
        missing.append("uname")
    line = _read_text(cmdline, 4096)
    if line is not None and line.strip():
        stack["kernel_cmdline"] = line.strip()[:4096]
    else:
        missing.append(cmdline)
    text = _read_text(cpuinfo, 1 << 20) or ""
    for entry in text.splitlines():
        key, _, value = entry.partition(":")
        if key.strip() == "microcode" and value.strip():
            stack["microcode"] = value.strip()[:32]
            break
    else:
        missing.append(cpuinfo + " microcode line")
    try:
        names = sorted(os.listdir(vulnerabilities))[:64]
    except OSError:
        names = None
        missing.append(vulnerabilities)
    if names:
        found = {}
        for name in names:
            status = _read_text(os.path.join(vulnerabilities, name), 512)
            if status is not None:
                found[name[:64]] = status.strip()[:512]
        stack["vulnerabilities"] = found
    domcaps = _tool_output("virsh", "domcapabilities")
    if domcaps and "<machine>" in domcaps:
        machine = domcaps.split("<machine>", 1)[1].split("</machine>", 1)[0].strip()
        if machine:
            stack["qemu_machine_types"] = [machine[:64]]
    msrs = _vmx_msrs(msr_device)
    if msrs:
        stack["vmx_msrs"] = msrs
    else:
        missing.append(msr_device + " (VMX MSRs: root and `modprobe msr`)")
    return stack, missing


def cmd_report(args, api_factory) -> int:
    device = args.cpuid_device or os.environ.get("CPUKB_CPUID_DEVICE") or DEFAULT_CPUID_DEVICE
    cpuinfo = args.cpuinfo or os.environ.get("CPUKB_CPUINFO") or DEFAULT_CPUINFO
    tool = args.cpuid_tool
    if tool is None:
        tool = os.environ.get("CPUKB_CPUID_TOOL", DEFAULT_CPUID_TOOL)
    text, source, notes = capture(args.capture_from, device, tool, cpuinfo)
    for note in notes:
        err("note: " + note)
    err(f"captured from {source}")
    stack: dict = {}
    if not args.no_stack:
        stack, missing = collect_stack(
            cpuinfo,
            os.environ.get("CPUKB_CMDLINE") or DEFAULT_CMDLINE,
            os.environ.get("CPUKB_VULNERABILITIES") or DEFAULT_VULNERABILITIES,
            os.environ.get("CPUKB_MSR_DEVICE") or DEFAULT_MSR_DEVICE,
        )
        err(
            "stack: {}{}".format(
                ", ".join(sorted(stack)) or "nothing",
                "; not available: " + ", ".join(missing) if missing else "",
            )
        )
    name = args.name if args.name is not None else socket.gethostname()
    if args.dry_run:
        if args.json:
            print_json({"source": source, "host_name": name, "raw": text, "stack": stack})
        else:
            sys.stdout.write(text)
        return EXIT_OK
    api = api_factory()
    api.require_token("uploading a report")
    body = {"raw": text}
    if name:
        body["host_name"] = name[:100]
    if stack:
        body["stack"] = stack
    status, report = api.post("/api/reports/", body)
    if args.json:
        print_json(report)
        return EXIT_OK
    if not isinstance(report, dict) or "id" not in report:
        raise CliError("unexpected answer from the server: no report id")
    link = api.link("/reports/{}/".format(report["id"]))
    out(
        "{} report #{} ({})".format(
            "Uploaded" if status == 201 else "Already known:",
            report["id"],
            report.get("format", "?"),
        )
    )
    identity = "{} family {} model {} stepping {}".format(
        report.get("vendor", "?"),
        report.get("family", "?"),
        report.get("model", "?"),
        report.get("stepping", "?"),
    )
    out("  CPU:        {} ({})".format(report.get("brand") or "?", identity))
    cpu_model = report.get("cpu_model") or {}
    if cpu_model:
        out(
            "  CPU model:  #{} {}{}".format(
                cpu_model.get("id"),
                cpu_model.get("brand") or "",
                " ({})".format(cpu_model["codename"]) if cpu_model.get("codename") else "",
            )
        )
    host = report.get("host")
    if host:
        out("  Host:       {} (#{})".format(host.get("name"), host.get("id")))
    out(
        "  Addresses:  {} physical, {} virtual bits".format(
            report.get("phys_bits"), report.get("virt_bits")
        )
    )
    if report.get("in_vm"):
        out("  In a VM:    yes (%s)" % (report.get("hypervisor_vendor") or "unknown hypervisor"))
    features = report.get("features") or []
    out(wrapped(f"  Features:   {len(features)}: ", list(features)))
    if report.get("unknown_when_absent"):
        out("              (a name-based report: an absent feature is unknown, not missing)")
    for warning in report.get("warnings") or []:
        out(
            textwrap.fill(
                warning, width=100, initial_indent="  Warning:    ", subsequent_indent=" " * 14
            )
        )
    reported = report.get("stack") or {}
    for key, label in (
        ("qemu_version", "QEMU"),
        ("libvirt_version", "libvirt"),
        ("kernel_release", "Kernel"),
        ("microcode", "Microcode"),
    ):
        if reported.get(key):
            out("  {:<12}{}".format(label + ":", reported[key]))
    if reported.get("vmx_features") is not None:
        out("  VMX:        {} capabilities".format(len(reported["vmx_features"])))
    out(f"  Link:       {link}")
    return EXIT_OK


def _check_body(args) -> dict:
    source = parse_ref(args.source)
    destination = parse_ref(args.destination)
    return {
        "source": source,
        "destination": destination,
        "guest_cpu": args.guest,
        "hypervisor": args.hypervisor,
    }


def cmd_check(args, api_factory) -> int:
    body = _check_body(args)
    api = api_factory()
    _, verdict = api.post("/api/compat/check", body)
    level = verdict.get("verdict") if isinstance(verdict, dict) else None
    if level not in VERDICT_EXIT:
        raise CliError("unexpected answer from the server: no verdict")
    if args.json:
        print_json(verdict)
        return VERDICT_EXIT[level]
    out(
        "{}: {} -> {} (guest CPU {}, {})".format(
            level,
            verdict.get("source") or describe_ref(args.source, body["source"]),
            verdict.get("destination") or describe_ref(args.destination, body["destination"]),
            verdict.get("guest_cpu") or args.guest,
            verdict.get("hypervisor") or args.hypervisor,
        )
    )
    if verdict.get("guest_model") and verdict.get("guest_model") != verdict.get("guest_cpu"):
        out("  guest model: {}".format(verdict["guest_model"]))
    for reason in verdict.get("reasons") or []:
        line = "[{}] {}: {}".format(
            reason.get("severity"), reason.get("axis"), reason.get("message")
        )
        features = reason.get("features") or []
        if any(feature not in (reason.get("message") or "") for feature in features):
            line += " ({})".format(", ".join(features))
        out(textwrap.fill(line, width=100, initial_indent="  ", subsequent_indent="    "))
    if verdict.get("missing"):
        out(wrapped("  missing on the destination: ", list(verdict["missing"])))
    suggestion = verdict.get("suggestion")
    if isinstance(suggestion, dict) and suggestion.get("message"):
        out(
            textwrap.fill(
                "suggestion: " + suggestion["message"],
                width=100,
                initial_indent="  ",
                subsequent_indent="    ",
            )
        )
        if suggestion.get("libvirt_model"):
            out("    libvirt: {}".format(suggestion["libvirt_model"]))
    return VERDICT_EXIT[level]


def cmd_baseline(args, api_factory) -> int:
    if bool(args.hosts) == bool(args.tag):
        raise CliError("give the pool as HOST arguments or as --tag TAG (one of them)")
    body = {"tag": args.tag} if args.tag else {"hosts": [parse_ref(h) for h in args.hosts]}
    if args.guest_os:
        body["guest_os"] = args.guest_os
    api = api_factory()
    _, pool = api.post("/api/pools/baseline", body)
    if not isinstance(pool, dict):
        raise CliError("unexpected answer from the server: not a baseline")
    exports = pool.get("exports") or {}
    fmt = args.format
    if fmt == "json":
        print_json(pool)
        return EXIT_OK
    notes = exports.get("notes") or {}
    orchestrators = exports.get("orchestrators") or {}
    os_check = pool.get("guest_os_check")
    if isinstance(os_check, dict) and os_check.get("message"):
        err(textwrap.fill(os_check["message"], width=100, initial_indent="guest OS: "))
    if fmt == "kubevirt":
        kubevirt = orchestrators.get("kubevirt") or {}
        status = _print_export(kubevirt.get("yaml"), "a KubeVirt CPU")
        labels = kubevirt.get("node_labels") or {}
        if status == EXIT_OK and labels:
            out("# node labels every node of the pool must carry (KubeVirt node-labeller):")
            for label, value in labels.items():
                out(f"#   {label}={value}")
        return _print_notes(kubevirt.get("notes"), status)
    if fmt == "proxmox-vm":
        proxmox_vm = orchestrators.get("proxmox") or {}
        status = _print_export(proxmox_vm.get("cpu_line"), "a Proxmox cpu: line")
        if status == EXIT_OK and proxmox_vm.get("custom_model"):
            out("# /etc/pve/virtual-guest/cpu-models.conf:")
            sys.stdout.write(proxmox_vm["custom_model"])
        return _print_notes(proxmox_vm.get("notes"), status)
    if fmt == "vsphere":
        vsphere = orchestrators.get("vsphere") or {}
        modes = {k: v for k, v in (vsphere.get("modes") or {}).items() if v}
        if not modes:
            err("no VMware EVC mode fits this pool")
            return EXIT_CAUTION
        for vendor, mode in sorted(modes.items()):
            out(f"# {vendor}: {mode.get('key')} ({mode.get('vcenter_name')})")
            for key in ("cluster_powercli", "vm_powercli", "cluster_govc_read", "vm_govc_read"):
                if mode.get(key):
                    out(mode[key])
        return _print_notes(vsphere.get("notes"), EXIT_OK)
    if fmt == "libvirt":
        status = _print_export(exports.get("libvirt_xml"), "a libvirt CPU definition")
        return _print_notes(notes.get("libvirt_xml"), status)
    if fmt == "qemu":
        status = _print_export(exports.get("qemu_cpu"), "a QEMU -cpu model")
        return _print_notes(notes.get("qemu_cpu"), status)
    if fmt == "proxmox":
        status = _print_export(exports.get("proxmox"), "a Proxmox CPU model")
        return _print_notes(notes.get("proxmox"), status)
    if fmt == "nova":
        nova = orchestrators.get("nova") or exports.get("nova") or {}
        status = _print_export(nova.get("config"), "a Nova configuration", nova.get("lost"))
        specs = nova.get("flavor_extra_specs") or {}
        if status == EXIT_OK and specs:
            out("# flavor extra specs for the features the workload needs (os-traits):")
            out("#   " + (nova.get("flavor_command") or ""))
        if status == EXIT_OK:
            for lost in nova.get("lost") or []:
                out(
                    textwrap.fill(
                        lost, width=100, initial_indent="# lost: ", subsequent_indent="#   "
                    )
                )
            for note in notes.get("nova") or []:
                if isinstance(note, dict) and note.get("level") == "info":
                    out(
                        textwrap.fill(
                            note.get("message", ""),
                            width=100,
                            initial_indent="# note: ",
                            subsequent_indent="#   ",
                        )
                    )
        return status
    if fmt == "evc":
        mode = exports.get("evc_mode", pool.get("evc_mode"))
        if mode:
            out(mode)
            return EXIT_OK
        modes = exports.get("evc_modes") or pool.get("evc_modes") or {}
        if len(modes) > 1:
            err(
                "no single EVC mode: the pool mixes vendors and VMware never migrates between "
                "them; per vendor: "
                + ", ".join(f"{vendor}: {mode}" for vendor, mode in sorted(modes.items()))
            )
        else:
            err("no VMware EVC mode fits this pool")
        return EXIT_CAUTION
    # summary
    features = pool.get("features") or []
    vendors = pool.get("vendors") or {}
    out(
        "Pool of {} host(s): {}".format(
            pool.get("hosts", len(args.hosts)),
            ", ".join(f"{count} {vendor}" for vendor, count in sorted(vendors.items())),
        )
    )
    out(wrapped(f"  common features ({len(features)}): ", list(features)))
    for key, label in (("qemu_model", "QEMU model"), ("libvirt_model", "libvirt model")):
        model = pool.get(key)
        spec = model.get("spec") if isinstance(model, dict) else "none fits"
        out(f"  {label + ':':<14} {spec}")
    modes = exports.get("evc_modes") or {}
    evc = pool.get("evc_mode") or (
        "none across vendors ({})".format(
            ", ".join("{}: {}".format(*kv) for kv in sorted(modes.items()))
        )
        if modes
        else "none"
    )
    out(f"  {'EVC mode:':<14} {evc}")
    out(f"  {'x86-64 level:':<14} {pool.get('x86_64_level') or 'none'}")
    if pool.get("phys_bits"):
        out(f"  {'address bits:':<14} {pool.get('phys_bits')}")
    for note in pool.get("notes") or []:
        out(textwrap.fill(note, width=100, initial_indent="  note: ", subsequent_indent="        "))
    for entry in pool.get("guest_os") or []:
        if isinstance(entry, dict):
            state = "boots" if entry.get("runs") else "will not boot"
            out(f"  {'guest OS:':<14} {entry.get('name')}: {state}")
    out(
        "Exports: --format libvirt | qemu | nova | proxmox | proxmox-vm | kubevirt | vsphere | "
        "evc | json"
    )
    return EXIT_OK


def _read_vm(path: str) -> str:
    """The VM definition from a file, or stdin for '-' (NUL bytes kept: /proc/PID/cmdline)."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from None
    return data.decode("utf-8", "replace")


def cmd_preflight(args, api_factory) -> int:
    body = {"vm": _read_vm(args.file)}
    if args.source:
        body["source"] = parse_ref(args.source)
    for key in ("format", "hypervisor", "pool", "guest_os"):
        if getattr(args, key, None):
            body[key] = getattr(args, key)
    api = api_factory()
    _, answer = api.post("/api/vms/preflight", body)
    if not isinstance(answer, dict) or not isinstance(answer.get("destinations"), list):
        raise CliError("unexpected answer from the server: no destinations")
    destinations = answer["destinations"]
    safe = [d for d in destinations if d.get("verdict") in ("safe", "safe-with-model")]
    if args.to:
        named = [d for d in destinations if args.to in (d.get("host"), str(d.get("host_id")))]
        if not named:
            raise CliError(f"{args.to} is not among the destinations of this pool")
        status = VERDICT_EXIT.get(named[0].get("verdict"), EXIT_ERROR)
        status = EXIT_OK if named[0] in safe else status
    else:
        status = EXIT_OK if safe else EXIT_BLOCKED
    if args.json:
        print_json(answer)
        return status
    vm = answer.get("vm") or {}
    out(
        "VM {}({}): guest CPU {} on {}, {}".format(
            (vm.get("name") + " ") if vm.get("name") else "",
            vm.get("format"),
            answer.get("guest_cpu"),
            answer.get("source") or "(no source: where it could start)",
            answer.get("hypervisor"),
        )
    )
    for note in vm.get("notes") or []:
        out(textwrap.fill(note, width=100, initial_indent="  note: ", subsequent_indent="    "))
    os_answer = answer.get("guest_os")
    if isinstance(os_answer, dict):
        out(
            textwrap.fill(
                (os_answer.get("reason") or {}).get("message", ""),
                width=100,
                initial_indent="  guest OS: ",
                subsequent_indent="    ",
            )
        )
    counts = answer.get("counts") or {}
    out("  " + ", ".join(f"{n} {level}" for level, n in counts.items()))
    for entry in destinations:
        if args.to and entry not in named:
            continue
        line = "{:<16} {}".format(entry.get("verdict"), entry.get("host"))
        if entry.get("missing"):
            line += " (lacks {})".format(", ".join(entry["missing"]))
        out("  " + line)
        if entry.get("verdict") not in ("safe", "safe-with-model") or args.to:
            for reason in entry.get("reasons") or []:
                if reason.get("severity") != "info":
                    out(
                        textwrap.fill(
                            "[{}] {}".format(reason.get("severity"), reason.get("message")),
                            width=100,
                            initial_indent="      ",
                            subsequent_indent="        ",
                        )
                    )
    widen = answer.get("widen")
    if isinstance(widen, dict):
        out(
            "  widen: {} (guest CPU {}) makes {} more host(s) safe".format(
                widen.get("action"),
                widen.get("guest_model") or widen.get("guest_cpu"),
                widen.get("gained"),
            )
        )
    return status


def _print_notes(notes, status: int) -> int:
    """An export's notes and warnings, on stderr so stdout stays the snippet itself."""
    for note in notes or []:
        if isinstance(note, dict) and note.get("message"):
            level = note.get("level", "note")
            err(textwrap.fill(note["message"], width=100, initial_indent=f"{level}: "))
    return status


def _print_export(text, what: str, reasons=None) -> int:
    if not text:
        err(
            "the server has no {} for this pool{}".format(
                what, ": " + "; ".join(reasons) if reasons else ""
            )
        )
        return EXIT_CAUTION
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def cmd_record(args, api_factory) -> int:
    body = _check_body(args)
    body["outcome"] = args.outcome
    body["happened_on"] = args.date
    for option in (
        "qemu_version",
        "libvirt_version",
        "machine_type",
        "esxi_version",
        "evc_mode",
        "hyperv_version",
        "xen_version",
        "guest_os",
        "source_url",
        "notes",
    ):
        value = getattr(args, option)
        if value is not None:
            body[option] = value
    if args.downtime_ms is not None:
        body["downtime_ms"] = args.downtime_ms
    if args.compatibility_mode is not None:
        body["compatibility_mode"] = args.compatibility_mode == "on"
    if args.error_message is not None:
        body["error_message"] = _text_argument(args.error_message)
    api = api_factory()
    api.require_token("recording a migration")
    _, record = api.post("/api/migrations/", body)
    if args.json:
        print_json(record)
        return EXIT_OK
    if not isinstance(record, dict) or "id" not in record:
        raise CliError("unexpected answer from the server: no record id")
    out(
        "Recorded migration #{}: {}, predicted {}".format(
            record["id"], record.get("outcome", args.outcome), record.get("predicted_verdict")
        )
    )
    if record.get("contradiction"):
        out("  contradicts the prediction: {}".format(record["contradiction"]))
    explanation = record.get("explanation")
    if isinstance(explanation, dict) and explanation.get("summary"):
        out(
            textwrap.fill(
                "error explained: " + explanation["summary"],
                width=100,
                initial_indent="  ",
                subsequent_indent="    ",
            )
        )
    out("  Link: {}".format(api.link("/ledger/{}/".format(record["id"]))))
    return EXIT_OK


def _text_argument(value: str) -> str:
    """'-' reads standard input, '@FILE' reads a file, anything else is the text itself."""
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@") and len(value) > 1:
        try:
            with open(value[1:], encoding="utf-8", errors="replace") as file:
                return file.read()
        except OSError as error:
            raise CliError(f"cannot read {value[1:]}: {error.strerror or error}") from None
    return value


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Usage errors exit with status 3, like every other error of cpukb."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"cpukb: error: {message} (cpukb --help for help)\n")


def _date(value: str) -> str:
    try:
        return datetime.date(*map(int, value.split("-"))).isoformat()
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{value!r} is not a date YYYY-MM-DD") from None


def _non_negative(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of milliseconds")
    return int(value)


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number of seconds")
    return number


def build_parser() -> argparse.ArgumentParser:
    # Connection options are accepted before and after the command: SUPPRESS keeps a
    # subcommand's default from overwriting a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--server",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="the site's root URL (default: $CPUKB_SERVER)",
    )
    common.add_argument(
        "--token", default=argparse.SUPPRESS, help="API token (default: $CPUKB_TOKEN)"
    )
    common.add_argument(
        "--timeout",
        type=_positive_float,
        default=argparse.SUPPRESS,
        metavar="SECONDS",
        help="network timeout (default 60)",
    )
    parser = _Parser(
        prog="cpukb",
        parents=[common],
        description="Ask CPU Migration KB whether a VM can live-migrate between x86 hosts.",
        epilog="Exit status: 0 success (check: safe); 1 check: safe-with-model or risky; "
        "2 check: blocked; 3 usage, connection, authentication or validation error.",
    )
    parser.add_argument("--version", action="version", version="cpukb " + __version__)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    report = commands.add_parser(
        "report",
        parents=[common],
        help="capture this host's CPU and upload it",
        description="Capture this host's CPUID (from /dev/cpu/0/cpuid, else `cpuid -r`, else "
        "/proc/cpuinfo), upload it and print what the knowledge base decoded.",
    )
    report.add_argument("--name", help="host name to file the report under (default: hostname)")
    report.add_argument(
        "--dry-run", action="store_true", help="print the captured report instead of uploading it"
    )
    report.add_argument("--json", action="store_true", help="print the server's JSON answer")
    report.add_argument(
        "--from",
        dest="capture_from",
        choices=CAPTURE_METHODS,
        default="auto",
        help="where to read the CPU from (default auto: device, then cpuid tool, then cpuinfo)",
    )
    report.add_argument(
        "--no-stack",
        action="store_true",
        help="do not collect the stack (QEMU, libvirt, kernel, microcode, vulnerabilities, VMX)",
    )
    report.add_argument("--cpuid-device", help=argparse.SUPPRESS)
    report.add_argument("--cpuid-tool", help=argparse.SUPPRESS)
    report.add_argument("--cpuinfo", help=argparse.SUPPRESS)

    ref_help = (
        "a host report file, report:ID, cpu:ID, host:ID, or a host name (host:NAME for a name "
        "that looks like a file)"
    )
    check = commands.add_parser(
        "check",
        parents=[common],
        help="can a VM live-migrate from SRC to DST?",
        description="The verdict and its reasons. Exit status: 0 safe, 1 safe-with-model or "
        "risky, 2 blocked, 3 error.",
    )
    check.add_argument("source", metavar="SRC", help=ref_help)
    check.add_argument("destination", metavar="DST", help=ref_help)
    check.add_argument(
        "--guest",
        default="host-passthrough",
        metavar="G",
        help="guest CPU: host-passthrough (default), host-model, baseline, a model with +/- "
        "features (Opteron_G2,-rdtscp), an EVC key or x86-64-v2",
    )
    check.add_argument("--hypervisor", choices=HYPERVISORS_CHECK, default="kvm")
    check.add_argument("--json", action="store_true", help="print the server's JSON answer")

    baseline = commands.add_parser(
        "baseline",
        parents=[common],
        help="the CPU model every host of a pool can run",
        description="The pool baseline of the hosts, in one tool's vocabulary.",
    )
    baseline.add_argument("hosts", metavar="HOST", nargs="*", help=ref_help)
    baseline.add_argument("--tag", metavar="TAG", help="every host with this pool tag")
    baseline.add_argument("--guest-os", metavar="OS", help="does this guest OS boot on it?")
    baseline.add_argument(
        "--format",
        choices=BASELINE_FORMATS,
        default="summary",
        help="summary (default), libvirt XML, qemu -cpu, nova.conf (ordered cpu_models and "
        "flavor traits), proxmox cpu-models.conf, proxmox-vm (the VM's cpu: line), kubevirt "
        "(spec.domain.cpu and node labels), vsphere (EVC keys and commands), VMware evc key, "
        "or the whole json",
    )

    preflight = commands.add_parser(
        "preflight",
        parents=[common],
        help="where can this VM go?",
        description="Read a VM's guest CPU from FILE (virsh dumpxml, /proc/PID/cmdline, qm "
        "config, a KubeVirt VM in YAML or JSON, or a VMware EVC mode key; '-' for stdin) and rank "
        "every host of the pool (default: the inventory). Exit status: 0 when the --to host, or "
        "without --to at least one host, is safe; 1 --to is risky; 2 blocked; 3 error.",
    )
    preflight.add_argument("file", metavar="FILE", help="the VM definition ('-': stdin)")
    preflight.add_argument(
        "--source",
        metavar="HOST",
        help="the VM's current host: " + ref_help + " (without it, named models only: where "
        "the VM could start)",
    )
    preflight.add_argument("--pool", metavar="TAG", help="the pool tag (default: every host)")
    preflight.add_argument("--to", metavar="HOST", help="the destination you intend (name or id)")
    preflight.add_argument("--format", choices=VM_FORMATS, help="default: detected")
    preflight.add_argument("--hypervisor", choices=HYPERVISORS_CHECK, help="default: the VM's")
    preflight.add_argument("--guest-os", metavar="OS", help="e.g. rhel-10, windows-server-2025")
    preflight.add_argument("--json", action="store_true", help="print the server's JSON answer")

    record = commands.add_parser(
        "record",
        parents=[common],
        help="record a migration outcome in the ledger",
        description="Record what happened when a VM was live-migrated from SRC to DST.",
    )
    record.add_argument("source", metavar="SRC", help=ref_help)
    record.add_argument("destination", metavar="DST", help=ref_help)
    record.add_argument("--guest", required=True, metavar="G", help="the guest CPU the VM ran with")
    record.add_argument("--hypervisor", choices=HYPERVISORS_RECORD, default="kvm")
    record.add_argument("--outcome", required=True, choices=OUTCOMES)
    record.add_argument(
        "--date",
        type=_date,
        default=datetime.date.today().isoformat(),
        help="when it happened, YYYY-MM-DD (default today)",
    )
    for option, help_text in (
        ("--qemu-version", "e.g. 7.2.0"),
        ("--libvirt-version", "e.g. 9.0.0"),
        ("--machine-type", "e.g. pc-q35-7.2"),
        ("--esxi-version", "e.g. 8.0u2"),
        ("--evc-mode", "e.g. intel-broadwell"),
        ("--hyperv-version", "e.g. 2022"),
        ("--xen-version", "e.g. 4.17"),
        ("--guest-os", "e.g. RHEL 9.3"),
        ("--source-url", "a link to the evidence"),
        ("--notes", "free text"),
    ):
        record.add_argument(option, help=help_text)
    record.add_argument("--compatibility-mode", choices=("on", "off"), help="Hyper-V")
    record.add_argument("--downtime-ms", type=_non_negative, metavar="MS")
    record.add_argument(
        "--error-message", metavar="TEXT", help="the error, verbatim ('-': stdin, @FILE: a file)"
    )
    record.add_argument("--json", action="store_true", help="print the server's JSON answer")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)

        def api_factory() -> Api:
            server = (
                getattr(args, "server", None) or os.environ.get("CPUKB_SERVER") or DEFAULT_SERVER
            )
            if not server:
                raise CliError("no server: pass --server URL or set CPUKB_SERVER")
            if not server.startswith(("http://", "https://")):
                raise CliError(
                    f"the server URL must start with http:// or https://, not {server!r}"
                )
            token = getattr(args, "token", None) or os.environ.get("CPUKB_TOKEN", "")
            return Api(server, token.strip(), getattr(args, "timeout", 60.0))

        handler = {
            "report": cmd_report,
            "check": cmd_check,
            "baseline": cmd_baseline,
            "preflight": cmd_preflight,
            "record": cmd_record,
        }[args.command]
        status = handler(args, api_factory)
        sys.stdout.flush()
        return status
    except CliError as error:
        err(error.message)
        return error.status
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:
        # The reader of our output went away (cpukb ... | head): not an error worth a message.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (silences the flush at exit)
        return EXIT_OK
    except Exception as error:  # never a traceback: a bug is reported in one line
        err(f"internal error: {error.__class__.__name__}: {error} (please report it)")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
