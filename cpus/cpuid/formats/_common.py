"""Helpers shared by the format parsers."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ..errors import DumpParseError

TRAILER = re.compile(r"^-{40,}[ \t]*\r?$", re.MULTILINE)
_FOUR_WORDS = struct.Struct(">4I")


def registers(eax: str, ebx: str, ecx: str, edx: str) -> tuple[int, int, int, int]:
    """Four 8-digit hex strings as integers, in one C call (the parsers' hot path)."""
    return _FOUR_WORDS.unpack(bytes.fromhex(eax + ebx + ecx + edx))


def cut_at_trailer(text: str) -> str:
    """libcpuid's test files append expected results after a line of dashes."""
    match = TRAILER.search(text)
    return text if match is None else text[: match.start()]


def line_at(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def first_bad_line(text: str, candidate: re.Pattern, row: re.Pattern) -> int | None:
    """The first line that looks like a row (``candidate``) but does not parse (``row``)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if candidate.match(line) and not row.match(line):
            return number
    return None


def hex_int(text: str, line: int | None, what: str) -> int:
    try:
        return int(text, 16)
    except ValueError:
        raise DumpParseError(f"{what} {text!r} is not a hexadecimal number", line) from None


def dec_int(text: str, line: int | None, what: str) -> int:
    try:
        return int(text.strip(), 10)
    except ValueError:
        raise DumpParseError(f"{what} {text.strip()!r} is not a decimal number", line) from None


def line_of(text: str, needle: str) -> int | None:
    """1-based line of the first occurrence of needle (XML parsers give no element lines)."""
    index = text.find(needle)
    return None if index < 0 else text.count("\n", 0, index) + 1


# Tags ("<") an XML report may hold: a large host's virsh capabilities has a few thousand;
# defusedxml's pure-Python handlers cost about 10 us per element, so this bounds parsing to a
# fraction of a second whatever the 2 MiB holds.
MAX_XML_TAGS = 40_000


def parse_xml(text: str):
    """Parse XML with defusedxml: DTDs, entities and external references are refused, and so is
    a document with more than ``MAX_XML_TAGS`` tags (counted in C before parsing)."""
    tags = text.count("<")
    if tags > MAX_XML_TAGS:
        raise DumpParseError(f"XML with {tags:,} tags; the limit is {MAX_XML_TAGS:,}", None)
    try:
        return SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise DumpParseError(
            f"XML with a DTD, entities or external references is refused ({error})", 1
        ) from None
    except SafeET.ParseError as error:
        line = error.position[0] if getattr(error, "position", None) else None
        raise DumpParseError(f"invalid XML: {error}", line) from None


def iter_lines(text: str) -> Iterator[tuple[int, str]]:
    yield from enumerate(text.splitlines(), start=1)
