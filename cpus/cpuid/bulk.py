"""Decoding in worker processes (``manage.py import_dumps``): pure core, no Django, so a worker
started afresh (``spawn``) imports only this and ``cpus.cpuid``.

A fresh interpreter rather than ``fork``: a process that forks while another of its threads
holds a lock (a logging handler, a database driver, a test server's thread) can leave the child
waiting on that lock forever; a spawned worker inherits no lock and no database socket."""

from __future__ import annotations

import multiprocessing
import signal

from . import DumpParseError, decode
from .formats import MAX_BYTES


def ignore_sigint() -> None:
    """Workers leave Ctrl-C to the main process, which stops cleanly and prints the summary."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def decode_one(data: bytes, max_bytes: int = MAX_BYTES):
    """(decoded, None) or (None, "line: reason"); ``max_bytes``: the caller's size limit."""
    try:
        return decode(data, max_bytes=max_bytes), None
    except DumpParseError as error:
        return None, f"{error.line or 0}: {error.reason}"


def context():
    """The multiprocessing context of the decoding pool."""
    return multiprocessing.get_context("spawn")
