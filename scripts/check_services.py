"""Stop `make test` at once, with the fix, when PostgreSQL or Redis is not reachable.

The suite talks to the real services and never skips those tests, so a missing service would
otherwise show up as dozens of confusing failures. Exit status: 0 when both answer, 1 otherwise.

    python scripts/check_services.py --database-url postgres://... --redis-url redis://...
"""

import argparse
import socket
import ssl
import sys
from urllib.parse import unquote, urlsplit

import psycopg

TIMEOUT_SECONDS = 3.0

POSTGRES_FIX = (
    "start it with `docker compose up -d db redis`, or on this machine with "
    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`; "
    "or point TEST_DATABASE_URL at a running server"
)
REDIS_FIX = (
    "start it with `docker compose up -d db redis`, or on this machine with "
    '`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`; '
    "or point REDIS_URL at a running server"
)


def check_postgres(url: str) -> str | None:
    """None when the server accepts our credentials, else the reason."""
    try:
        # The maintenance database: Django creates the test database from there, so the
        # database named in the URL need not exist yet.
        with psycopg.connect(url, dbname="postgres", connect_timeout=int(TIMEOUT_SECONDS)):
            return None
    except (psycopg.Error, ValueError) as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _resp_command(*words: str) -> bytes:
    encoded = [word.encode() for word in words]
    return b"*%d\r\n" % len(encoded) + b"".join(
        b"$%d\r\n%s\r\n" % (len(word), word) for word in encoded
    )


def check_redis(url: str) -> str | None:
    """None when Redis answers PING (after AUTH when the URL has a password), else the reason."""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"} or not parts.hostname:
        return f"not a Redis URL: {url!r}"
    try:
        sock: socket.socket = socket.create_connection(
            (parts.hostname, parts.port or 6379), timeout=TIMEOUT_SECONDS
        )
        if parts.scheme == "rediss":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
        with sock:
            if parts.password:
                user = [unquote(parts.username)] if parts.username else []
                sock.sendall(_resp_command("AUTH", *user, unquote(parts.password)))
                reply = sock.recv(256)
                if not reply.startswith(b"+OK"):
                    return f"AUTH refused: {reply.decode(errors='replace').strip()}"
            sock.sendall(_resp_command("PING"))
            reply = sock.recv(256)
    except OSError as exc:
        return str(exc) or type(exc).__name__
    if not reply.startswith(b"+PONG"):
        return f"unexpected reply to PING: {reply.decode(errors='replace').strip()!r}"
    return None


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    args = parser.parse_args(argv)

    problems = []
    if (reason := check_postgres(args.database_url)) is not None:
        problems.append(
            f"PostgreSQL at {redact(args.database_url)} is not reachable ({reason}):\n"
            f"  {POSTGRES_FIX}"
        )
    if (reason := check_redis(args.redis_url)) is not None:
        problems.append(
            f"Redis at {redact(args.redis_url)} is not reachable ({reason}):\n  {REDIS_FIX}"
        )
    for problem in problems:
        print(f"check_services: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
