"""What a reference to a host, report or CPU model answers when it does not resolve.

Shared by the reads that resolve many references at once (``selectors.host_views_by_ref``)
and the write path that resolves one and may ingest an inline dump (``services.report_for_ref``),
so neither has to import the other for it.
"""

from __future__ import annotations


class HostRefError(ValueError):
    """A reference to a host, report or CPU model that does not resolve.  ``not_found``: nothing
    has that id or name (the API answers 404); otherwise the reference is unusable (400)."""

    def __init__(self, message: str, field: str = "", *, not_found: bool = False):
        super().__init__(message)
        self.field = field
        self.not_found = not_found


def not_found_message(kind: str, value) -> str:
    """The message of a HostRefError for a ``kind`` reference (host, report, cpu_model) to
    ``value`` that names nothing."""
    if kind == "host" and isinstance(value, str):
        return f"no host {value!r} of yours or of the catalog (name another user's host by its id)"
    return f"no {kind.replace('_', ' ')} {value!r}"
