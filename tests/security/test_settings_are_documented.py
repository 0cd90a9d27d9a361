"""Every setting of the stack's defences is in the README table (or docs/deploy.md) and in
.env.example, so an operator can find and set it."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PREFIXES = ("CPUKB_THROTTLE_", "CPUKB_LOGIN_", "CPUKB_TRUSTED", "CPUKB_CACHE", "CPUKB_HEALTH")


def variables(path: Path, pattern: str) -> set[str]:
    return set(re.findall(pattern, path.read_text()))


SETTINGS = {
    name
    for name in variables(ROOT / "kbsite/settings.py", r'env_\w+\("([A-Z0-9_]+)"')
    if name.startswith(PREFIXES) or name in {"CPUKB_PASSWORD_MIN_LENGTH", "EMAIL_HOST"}
}
GUNICORN = variables(ROOT / "gunicorn.conf.py", r'_int\("(GUNICORN_[A-Z_]+)"')


def test_the_lists_are_not_empty():
    assert {"CPUKB_THROTTLE_ANON_READS", "CPUKB_TRUSTED_PROXIES"} <= SETTINGS
    assert {"GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_CLIENT_TIMEOUT"} <= GUNICORN


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_each_setting_is_in_the_readme_and_env_example(name):
    assert f"`{name}`" in (ROOT / "README.md").read_text()
    assert re.search(rf"^#?{name}=", (ROOT / ".env.example").read_text(), re.M)


@pytest.mark.parametrize("name", sorted(GUNICORN))
def test_each_gunicorn_setting_is_in_docs_deploy(name):
    assert f"`{name}`" in (ROOT / "docs/deploy.md").read_text()
