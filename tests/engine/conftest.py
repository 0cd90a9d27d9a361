"""Fixtures for the compatibility engine: real sample hosts, decoded once per session."""

from pathlib import Path

import pytest

from cpus.cpuid import DumpParseError, decode
from cpus.cpuid.baseline import host_view
from tests.samples import DUMPS

HARPERTOWN = "aida64_XeonE5462_Harpertown_2S_libcpuid.txt"
BARCELONA = "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml"
SHANGHAI = "aida64_Opteron2378_Shanghai_2S_libcpuid.txt"


def _load_all() -> dict:
    hosts = {}
    for path in DUMPS.iterdir():
        if path.suffix not in (".txt", ".xml", ".json", ".jsonl"):
            continue
        try:
            hosts[path.name] = host_view(decode(path.read_bytes()), path.name)
        except DumpParseError:
            continue
    return hosts


_HOSTS = _load_all()


@pytest.fixture(scope="session")
def dumps_dir() -> Path:
    return DUMPS


@pytest.fixture(scope="session")
def hosts() -> dict:
    """Every decodable sample report of tests/dumps, as HostViews labelled by file name."""
    return _HOSTS


@pytest.fixture(scope="session")
def real_hosts() -> list:
    return list(_HOSTS.values())


@pytest.fixture(scope="session")
def demo():
    """The 2008 demonstration: (Harpertown, Barcelona, Shanghai) as decoded DecodedDumps."""
    return tuple(decode((DUMPS / name).read_bytes()) for name in (HARPERTOWN, BARCELONA, SHANGHAI))


@pytest.fixture(scope="session")
def demo_paths():
    return tuple(str(DUMPS / name) for name in (HARPERTOWN, BARCELONA, SHANGHAI))
