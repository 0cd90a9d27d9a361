"""Helpers shared by the format parsers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ..errors import DumpParseError

TRAILER = re.compile(r"^-{40,}\s*$")


def hex_int(text: str, line: int, what: str) -> int:
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


def parse_xml(text: str):
    """Parse XML with defusedxml: DTDs, entities and external references are refused."""
    try:
        return SafeET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as error:
        raise DumpParseError(f"XML with a DTD, entities or external references is refused ({error})", 1) from None
    except SafeET.ParseError as error:
        line = error.position[0] if getattr(error, "position", None) else None
        raise DumpParseError(f"invalid XML: {error}", line) from None


def iter_lines(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        yield number, line
