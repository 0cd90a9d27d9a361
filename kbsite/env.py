"""Small helpers that read settings from environment variables.

Every helper raises ImproperlyConfigured with the variable's name in the message, so a bad value
stops the process at start instead of surfacing later as a confusing runtime error.
"""

import os
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})

# The ORM features this project relies on are tested on these two engines only.
DATABASE_SCHEMES = frozenset({"sqlite", "postgres", "postgresql", "pgsql"})
REDIS_SCHEMES = frozenset({"redis", "rediss"})


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of {sorted(TRUE_WORDS | FALSE_WORDS)}"
    )


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blanks are dropped, so `A=` means an empty list."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_origins(name: str) -> list[str]:
    origins = env_list(name, [])
    for origin in origins:
        if not origin.startswith(("http://", "https://")):
            raise ImproperlyConfigured(
                f"{name} entries need a scheme, e.g. https://kb.example.com (got {origin!r})"
            )
    return origins


def _split_url(name: str, url: str) -> SplitResult:
    try:
        return urlsplit(url)
    except ValueError as exc:  # e.g. an unbalanced "[" in the host
        raise ImproperlyConfigured(f"{name} could not be parsed: {exc}") from exc


def env_database(name: str, default_sqlite_path: Path) -> dict[str, Any]:
    """DATABASES["default"] from a URL; without one, a SQLite file (its folder is created)."""
    url = env_str(name)
    if not url:
        default_sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_sqlite_path)}
    scheme = _split_url(name, url).scheme
    if scheme not in DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} has unsupported scheme {scheme!r}; "
            "use postgres://user:password@host:5432/name or sqlite:////absolute/path.sqlite3"
        )
    try:
        config = dict(dj_database_url.parse(url))
    except Exception as exc:  # dj-database-url raises several types for malformed URLs
        raise ImproperlyConfigured(f"{name} could not be parsed: {exc}") from exc
    if config.get("ENGINE") != "django.db.backends.sqlite3" and not config.get("NAME"):
        raise ImproperlyConfigured(f"{name} names no database (the path after the host)")
    return config


def env_redis_url(name: str) -> str:
    """A Redis URL, or "" when unset (the caller decides what "no Redis" means)."""
    url = env_str(name)
    if not url:
        return ""
    parts = _split_url(name, url)
    if parts.scheme not in REDIS_SCHEMES or not parts.hostname:
        raise ImproperlyConfigured(
            f"{name}={url!r} is not a Redis URL; use redis://host:6379/0 or rediss://..."
        )
    return url
