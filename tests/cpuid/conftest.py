import pytest

from cpus.cpuid import decode
from tests.samples import DUMPS


def read_dump(name: str) -> bytes:
    return (DUMPS / name).read_bytes()


@pytest.fixture(scope="session")
def dump():
    """Decode a sample dump by file name (cached per session)."""
    cache = {}

    def load(name: str):
        if name not in cache:
            cache[name] = decode(read_dump(name))
        return cache[name]

    return load
