"""The one error a decoder raises: what is wrong with a dump, and on which line."""

from __future__ import annotations


class DumpParseError(ValueError):
    """A host report that cannot be decoded.  ``line`` is 1-based, or None for the whole input."""

    def __init__(self, reason: str, line: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason

    def to_dict(self) -> dict:
        return {"error": self.reason, "detail": str(self), "line": self.line}
