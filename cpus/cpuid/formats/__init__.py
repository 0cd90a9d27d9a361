"""Host report formats: detection and decoding.

``decode(data)`` is the one entry point: it checks the input (size, encoding, binary junk),
detects the format, parses it and returns a ``DecodedDump``.  The size limit is the caller's
(``max_bytes``: the site passes its ``CPUKB_MAX_UPLOAD_BYTES``); ``MAX_BYTES`` is only the
default for callers without settings (the client, the benchmarks, the tests).  Every failure is a
``DumpParseError`` with the line and the reason; no other exception escapes.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

from ..errors import DumpParseError
from ..result import DecodedDump
from . import (
    aida64,
    cpuid_r,
    libcpuid,
    libvirt_cpu,
    libvirt_cpudata,
    lscpu,
    proc_cpuinfo,
    qmp,
    x86info,
)

# The default largest input accepted at all, for callers that do not pass ``max_bytes`` (the
# site passes its CPUKB_MAX_UPLOAD_BYTES setting, whose default is the same): a full AIDA64
# report of a two-socket EPYC with 384 logical CPUs is about 2.6 MB; 8 MiB leaves room for
# larger hosts while refusing hostile sizes.
MAX_BYTES = 8 * 1024 * 1024
# The most that is parsed.  Above it only a multi-CPU AIDA64 or cpuid -r dump is accepted, and
# only its whole CPU blocks within the first MAX_PARSED_BYTES are read (CPU 0 is what is
# decoded; the other CPUs only serve to check that the host is uniform).  Every other format is
# refused.
MAX_PARSED_BYTES = 2 * 1024 * 1024
MAX_LINE_CHARS = 256 * 1024
# Real dumps under 2 MiB have lines of 20 characters or more on average (the largest sample,
# AIDA64 of a 112-thread Sapphire Rapids, has 5,579 lines in 337 KB); 2 MiB of line breaks
# would cost the line-by-line parsers two million loop turns for nothing.
MAX_LINES = 100_000
# DEL (0x7f) is not junk by itself: real CPUs put odd bytes in their brand strings, which
# /proc/cpuinfo and AIDA64's annotations print as they are.  Binary data is told by structure:
# any NUL or C0 control byte (tab and line breaks aside), or DEL bytes making up more than
# 1 % of the input (a text report has at most a few per CPU block).
MAX_DEL_FRACTION = 0.01

# format id -> (human name, decoder).  Raw formats give exact bits; the others give names.
FORMATS = {
    "cpuid-r": ("Todd Allen's cpuid -r / cpuid -1 -r", cpuid_r.decode),
    "aida64": ("AIDA64 / InstLatx64 CPUID dump", aida64.decode),
    "libcpuid": ("libcpuid raw (cpuid_tool --save)", libcpuid.decode),
    "libvirt-cpudata": ("libvirt cputestdata <cpudata> XML", libvirt_cpudata.decode),
    "x86info": ("x86info -r", x86info.decode),
    "proc-cpuinfo": ("Linux /proc/cpuinfo", proc_cpuinfo.decode),
    "lscpu": ("lscpu", lscpu.decode_text),
    "lscpu-json": ("lscpu -J", lscpu.decode_json),
    "libvirt-capabilities": ("virsh capabilities", libvirt_cpu.decode_capabilities),
    "libvirt-domcapabilities": ("virsh domcapabilities", libvirt_cpu.decode_domcapabilities),
    "libvirt-cpu": ("libvirt host <cpu> XML", libvirt_cpu.decode_cpu),
    "qmp": ("QEMU QMP query-cpu-model-expansion", qmp.decode),
}
RAW_FORMATS = frozenset({"cpuid-r", "aida64", "libcpuid", "libvirt-cpudata", "x86info"})

_TEXT_SIGNATURES = [
    ("cpuid-r", cpuid_r.LINE),
    ("aida64", aida64.LINE),
    ("libcpuid", libcpuid.LINE),
    ("x86info", x86info.LINE),
]
_LSCPU = re.compile(r"^Architecture:\s+\S", re.MULTILINE)
_LSCPU_FLAGS = re.compile(r"^Flags:\s+", re.MULTILINE)
_CPUINFO = re.compile(r"^processor\s*:\s*\d+\s*$", re.MULTILINE)
_CPUINFO_KEYS = re.compile(r"^(vendor_id|flags)\s*:", re.MULTILINE)
_XML_ROOTS = {
    "cpudata": "libvirt-cpudata",
    "capabilities": "libvirt-capabilities",
    "domainCapabilities": "libvirt-domcapabilities",
    "cpu": "libvirt-cpu",
}
_XML_ROOT = re.compile(r"<\s*([A-Za-z][\w.-]*)")
# C0 controls other than tab and line breaks: signs of binary junk.
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x20)])
_BINARY = re.compile(b"[" + re.escape(_CONTROL_BYTES) + b"]")
_LONG_LINE = re.compile(f"^[^\n]{{{MAX_LINE_CHARS + 1}}}", re.MULTILINE)


def to_text(data: str | bytes, max_bytes: int = MAX_BYTES) -> str:
    """Check the raw upload and return it as text; refuse what is not a plain-text report."""
    return checked_text(data, max_bytes)[0]


def checked_text(data: str | bytes, max_bytes: int = MAX_BYTES) -> tuple[str, str | None]:
    """The checked text of an upload, and a note when only part of a large report is kept.
    ``max_bytes``: the largest input accepted (the caller's limit)."""
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError as error:
            line = data.count("\n", 0, error.start) + 1
            raise DumpParseError("not valid text (a lone surrogate code point)", line) from None
    if len(data) > max_bytes:
        raise DumpParseError(f"the input is {len(data):,} bytes; the limit is {max_bytes:,}")
    # Deleting the control bytes and comparing lengths runs in C; the regex only locates junk.
    if len(data.translate(None, _CONTROL_BYTES)) != len(data):
        junk = _BINARY.search(data)
        line = data.count(b"\n", 0, junk.start()) + 1
        what = (
            "a NUL byte" if junk.group() == b"\0" else f"control character 0x{junk.group()[0]:02x}"
        )
        raise DumpParseError(f"binary data ({what}) is not a text report", line)
    deletes = data.count(b"\x7f")
    if deletes > max(16, len(data) * MAX_DEL_FRACTION):
        line = data.count(b"\n", 0, data.find(b"\x7f")) + 1
        raise DumpParseError(
            f"binary data ({deletes:,} DEL bytes, 0x7f) is not a text report", line
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise DumpParseError(
            f"not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})", line
        ) from None
    text = text.removeprefix("\ufeff")
    note = None
    if len(data) > MAX_PARSED_BYTES:
        text, note = _whole_cpu_blocks(text, len(data), max_bytes)
    if not text.strip():
        raise DumpParseError("the input is empty")
    # Every break str.splitlines() honours (CRLF counted once), counted in C.
    lines = 1 + max(text.count("\n"), text.count("\r"))
    lines += sum(text.count(brk) for brk in ("\x0b", "\x0c", "\x85", "\u2028", "\u2029"))
    if lines > MAX_LINES:
        raise DumpParseError(f"the input has {lines:,} lines; the limit is {MAX_LINES:,}")
    long_line = _LONG_LINE.search(text) if len(text) > MAX_LINE_CHARS else None
    if long_line is not None:
        line = text.count("\n", 0, long_line.start()) + 1
        raise DumpParseError(f"line longer than {MAX_LINE_CHARS:,} characters", line)
    return text, note


_AIDA64_CPU_START = re.compile(rf"^[ \t]*(?:{aida64.CPU_HEADER})", re.MULTILINE)
_AIDA64_LEAF0 = re.compile(r"^[ \t]*CPUID[ \t]+00000000\b", re.MULTILINE | re.IGNORECASE)
_CPUID_R_CPU_START = re.compile(r"^CPU \d+:[ \t]*\r?$", re.MULTILINE)
# Formats whose reports have one block per logical CPU and may be accepted above
# MAX_PARSED_BYTES: (first row, block header, block start when there are no headers).
LARGE_FORMATS = {
    "aida64": (aida64.LINE, _AIDA64_CPU_START, _AIDA64_LEAF0),
    "cpuid-r": (cpuid_r.LINE, _CPUID_R_CPU_START, None),
}


def _whole_cpu_blocks(text: str, size: int, max_bytes: int = MAX_BYTES) -> tuple[str, str]:
    """The whole CPU blocks of a large multi-CPU AIDA64 or ``cpuid -r`` dump that fit in
    ``MAX_PARSED_BYTES``, from the first block on.

    A few regex scans over at most 2 MiB each, plus the first-row search (linear); any other
    large input is refused.
    """
    refusal = (
        f"the input is {size:,} bytes; the limit is {MAX_PARSED_BYTES:,} "
        f"(up to {max_bytes:,} for a multi-CPU AIDA64 or cpuid -r dump)"
    )
    try:
        name = detect(text)
    except DumpParseError:
        raise DumpParseError(refusal) from None
    if name not in LARGE_FORMATS:
        raise DumpParseError(refusal)
    row, header, fallback = LARGE_FORMATS[name]
    first = row.search(text)
    if first is None:
        raise DumpParseError(refusal)
    # The block starts at its header, if one stands within a few lines above the first row.
    window_start = max(0, first.start() - 4096)
    headers = list(header.finditer(text, window_start, first.start()))
    start = headers[-1].start() if headers else first.start()
    window = text[start : start + MAX_PARSED_BYTES]
    starts = [m.start() for m in header.finditer(window)]
    if len(starts) < 2 and fallback is not None:
        starts = [m.start() for m in fallback.finditer(window)]
    if len(starts) < 2:
        raise DumpParseError(refusal)
    kept = window[: starts[-1]]
    return kept, (
        f"the report is {size:,} bytes: only its first {len(starts) - 1} CPU blocks "
        f"({len(kept.encode()):,} bytes) were read; CPU 0 is decoded and the others only "
        "check that the host is uniform"
    )


def detect(text: str) -> str:
    """The format id of a report, judged from its first lines; DumpParseError if none fits."""
    stripped = text.lstrip()
    if stripped.startswith("<"):
        root = _xml_root(stripped)
        if root in _XML_ROOTS:
            return _XML_ROOTS[root]
        raise DumpParseError(
            f"XML with root <{root}> is not a known report (expected <cpudata>, <capabilities>, "
            "<domainCapabilities> or <cpu>)",
            1,
        )
    if stripped.startswith("{"):
        return _detect_json(stripped)
    head = text[:65536]
    for name, pattern in _TEXT_SIGNATURES:
        if pattern.search(head):
            return name
    if _LSCPU.search(head) and _LSCPU_FLAGS.search(text):
        return "lscpu"
    if _CPUINFO.search(head) and _CPUINFO_KEYS.search(head):
        return "proc-cpuinfo"
    if aida64.LINE.search(text, len(head)):
        # A full AIDA64 report: its CPUID section follows many other sections.
        return "aida64"
    raise DumpParseError(
        "not a recognised CPUID dump or host report; accepted formats: "
        + ", ".join(name for name, _ in FORMATS.values()),
        1,
    )


def _skip_prolog(text: str) -> str:
    """``text`` after its leading XML declarations, processing instructions and comments (such
    as libvirt's "<!-- CPU name -->").

    A scan with ``str.find`` from the current position, so each character is looked at a bounded
    number of times: the regular expression it replaces (``<\\?.*?\\?>`` applied over the whole
    text) rescanned to the end of the input from every ``<?``, which made 64 KB of ``<?`` take
    8 s and 2 MB take a worker down (issue 19).
    """
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        for opening, closing in (("<?", "?>"), ("<!--", "-->")):
            if text.startswith(opening, position):
                end = text.find(closing, position + len(opening))
                if end < 0:
                    raise DumpParseError(f"XML with an unterminated {opening!r}", 1)
                position = end + len(closing)
                break
        else:
            return text[position:]


def _xml_root(text: str) -> str:
    body = _skip_prolog(text)
    if body.startswith("<!"):
        raise DumpParseError("XML with a DTD or entity declarations is refused", 1)
    match = _XML_ROOT.match(body)
    return match.group(1) if match else ""


def _detect_json(text: str) -> str:
    first = text.split("\n", 1)[0] if qmp.looks_like_jsonl(text) else text
    try:
        document = json.loads(first)
    except json.JSONDecodeError as error:
        raise DumpParseError(f"invalid JSON: {error.msg}", error.lineno) from None
    except RecursionError:
        raise DumpParseError("JSON nested too deeply", 1) from None
    if isinstance(document, dict) and isinstance(document.get("lscpu"), list):
        return "lscpu-json"
    if isinstance(document, dict) and (
        "QMP" in document or "return" in document or "execute" in document or "error" in document
    ):
        return "qmp"
    raise DumpParseError("JSON that is neither lscpu -J output nor a QMP reply", 1)


def decode(
    data: str | bytes,
    format: str | None = None,  # noqa: A002
    *,
    max_bytes: int = MAX_BYTES,
) -> DecodedDump:
    """Decode a host report of any supported format.  ``max_bytes`` is the largest input
    accepted: the caller's limit (the site's CPUKB_MAX_UPLOAD_BYTES); its default, ``MAX_BYTES``
    (8 MiB), is the core's own for callers without settings."""
    text, note = checked_text(data, max_bytes)
    name = format or detect(text)
    if name not in FORMATS:
        raise DumpParseError(f"unknown format {name!r}; use one of {', '.join(FORMATS)}")
    if note and name not in LARGE_FORMATS:
        raise DumpParseError(f"a {FORMATS[name][0]} report over {MAX_PARSED_BYTES:,} bytes")
    try:
        decoded = FORMATS[name][1](text)
        return replace(decoded, warnings=(*decoded.warnings, note)) if note else decoded
    except DumpParseError:
        raise
    except RecursionError:  # JSON or XML nested deeper than the interpreter's stack
        raise DumpParseError(f"{FORMATS[name][0]} report nested too deeply") from None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError) as error:
        # A parser bug must not become a 500: report it as a malformed dump.
        raise DumpParseError(
            f"malformed {FORMATS[name][0]} report ({type(error).__name__}: {error})"
        ) from error
