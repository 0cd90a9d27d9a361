import pytest

from cpus.cpuid import decode
from tests.samples import DUMPS


@pytest.fixture(scope="session")
def dump():
    """Decode a sample dump of tests/dumps by file name (cached per session)."""
    cache = {}

    def load(name: str):
        if name not in cache:
            cache[name] = decode((DUMPS / name).read_bytes())
        return cache[name]

    return load
