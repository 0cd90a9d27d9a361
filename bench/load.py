"""HTTP load on the whole stack: the compatibility check and the catalog list against the floor.

    python bench/load.py [--json] [--clients 50] [--duration 15] [--workers N]
                         [--verdict-cache N] [--database-url URL | --url http://127.0.0.1:8000]

Without ``--url`` it starts the stack itself on a free port of 127.0.0.1: ``manage.py migrate``
and ``seed_catalog`` on a fresh SQLite file (or on ``--database-url``; a missing PostgreSQL
database is created, and kept for the next run), then gunicorn (``--workers`` sync workers,
default 2 x cores + 1) with DEBUG off, and write throttles high enough never to answer 429.
With ``--url`` it drives a stack that is already running (its write throttle must allow the
load: set ``CPUKB_THROTTLE_ANON_WRITES``, ``CPUKB_THROTTLE_ANON_READS`` and
``CPUKB_THROTTLE_ANON_PAGES`` to ``1000000/s`` there).

This process is the client: ``--clients`` concurrent asyncio clients (default 50), each sending
one request after another over a new connection (gunicorn's sync workers close each one). After
``--warmup`` seconds of load on every endpoint (each worker imports lazily on first use), the
endpoints are measured in turn, ``--rounds`` times (default 3) for ``--duration / --rounds``
seconds each, so a noisy neighbour weighs on all of them alike:

- ``GET /healthz``: one ``SELECT 1`` through Django's middleware: the framework's floor;
- ``GET /api/``: DRF's API root, no database: what DRF itself adds to the floor;
- ``POST /api/compat/check`` with two seed hosts and ``"guest_cpu": "baseline"``;
- ``GET /api/cpu-models/``: the first page of the catalog (50 CPU models).

Prints requests per second, p50 and p99 latency and the ratio of each endpoint's throughput to
the floor's (target for the check: >= 0.80) and to DRF's; ``--json`` prints one object instead.
``--verdict-cache 0`` starts the stack with ``CPUKB_VERDICT_CACHE=0``: every check is worked
out by the engine instead of being remembered (the cost of a question never asked before).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
CHECK_BODY = {
    "source": {"host": "xeon-e5462-harpertown"},
    "destination": {"host": "opteron-2378-shanghai"},
    "guest_cpu": "baseline",
}
ENDPOINTS = (
    ("floor", "GET", "/healthz", None),
    ("drf_floor", "GET", "/api/", None),
    ("compat_check", "POST", "/api/compat/check", CHECK_BODY),
    ("cpu_models", "GET", "/api/cpu-models/", None),
)
TARGET_RATIO = 0.80


@dataclass
class Result:
    name: str
    method: str
    path: str
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    error_sample: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def to_dict(self, floor_rps: float, drf_rps: float) -> dict:
        return {
            "method": self.method,
            "path": self.path,
            "requests": self.requests,
            "errors": self.errors,
            "requests_per_second": round(self.rps, 1),
            "p50_ms": round(self.percentile(0.50), 2),
            "p99_ms": round(self.percentile(0.99), 2),
            "mean_ms": round(statistics.fmean(self.latencies_ms), 2) if self.latencies_ms else None,
            "ratio_to_floor": round(self.rps / floor_rps, 3) if floor_rps else None,
            "ratio_to_drf_floor": round(self.rps / drf_rps, 3) if drf_rps else None,
            **({"error_sample": self.error_sample} if self.error_sample else {}),
        }


# --- The client -------------------------------------------------------------------------------


def _request_bytes(method: str, path: str, body: bytes | None) -> bytes:
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")


def _one_request(host: str, port: int, method: str, path: str, body: bytes | None) -> int:
    """One blocking request (start-up probes only); returns the status code."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        headers = {"Host": "127.0.0.1", "Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


async def _client(host, port, request: bytes, start_measuring, stop, result: Result) -> None:
    """One client: a request on a new connection (gunicorn's sync workers close each), again."""
    loop = asyncio.get_running_loop()
    while True:
        began = loop.time()
        if began >= stop:
            return
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(request)
            response = await reader.read()  # the server closes: read to the end
            writer.close()
            status_line = response.split(b"\r\n", 1)[0].split()
            status = int(status_line[1]) if len(status_line) > 1 else 0
            problem = f"HTTP {status}" if status != 200 else ""
        except OSError as error:
            problem = f"{type(error).__name__}: {error}"
        ended = loop.time()
        if began >= start_measuring and ended <= stop:
            result.requests += 1
            result.latencies_ms.append((ended - began) * 1000)
            if problem:
                result.errors += 1
                result.error_sample = result.error_sample or problem


def drive(
    base_url: str,
    path: str,
    method: str,
    body: dict | None,
    args,
    result: Result,
    warmup: float,
    seconds: float,
) -> Result:
    """`args.clients` concurrent clients on one endpoint for `warmup` + `seconds`; only the
    last `seconds` are added to `result`."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    payload = json.dumps(body).encode() if body is not None else None
    request = _request_bytes(method, parts.path.rstrip("/") + path, payload)
    result.seconds += seconds

    async def run() -> None:
        now = asyncio.get_running_loop().time()
        start_measuring = now + warmup
        stop = start_measuring + seconds
        await asyncio.gather(
            *(
                _client(host, port, request, start_measuring, stop, result)
                for _ in range(args.clients)
            )
        )

    asyncio.run(run())
    return result


# --- The stack, when this script starts it ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ensure_postgres_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def start_stack(args, workdir: Path) -> tuple[str, subprocess.Popen]:
    database_url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    if database_url.startswith(("postgres://", "postgresql://")):
        _ensure_postgres_database(database_url)
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DEBUG"}},
        "DEBUG": "0",
        "SECRET_KEY": "bench-load-not-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "STATIC_ROOT": str(workdir / "static"),
        "LOG_LEVEL": "WARNING",
        "CPUKB_THROTTLE_ANON_WRITES": "100000000/s",
        "CPUKB_THROTTLE_USER_WRITES": "100000000/s",
        "CPUKB_THROTTLE_ANON_READS": "100000000/s",
        "CPUKB_THROTTLE_ANON_PAGES": "100000000/s",
        **(
            {"CPUKB_VERDICT_CACHE": str(args.verdict_cache)}
            if args.verdict_cache is not None
            else {}
        ),
    }
    (workdir / "static").mkdir(exist_ok=True)
    python = sys.executable
    for command in (["migrate", "--noinput"], ["seed_catalog"]):
        subprocess.run(
            [python, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    port = _free_port()
    server = subprocess.Popen(
        [
            python, "-m", "gunicorn", "kbsite.wsgi:application",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(args.workers),
            "--worker-class", "sync",
            "--backlog", "2048",
            "--preload",
            "--log-level", "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if _one_request("127.0.0.1", port, "GET", "/healthz", None) == 200:
                return url, server
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"gunicorn did not start: {server.stderr.read()[-2000:]}")
        time.sleep(0.2)


# --- Main -------------------------------------------------------------------------------------


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="drive this running stack instead of starting one")
    parser.add_argument("--database-url", help="database for the stack this script starts")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--verdict-cache",
        type=int,
        help="CPUKB_VERDICT_CACHE of the stack this script starts (0: every check is worked "
        "out afresh; default: the app's)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    server = None
    with tempfile.TemporaryDirectory(prefix="cpukb-load-") as tmp:
        try:
            if args.url:
                url = args.url.rstrip("/")
                stack = {"url": url, "started_by_bench": False}
            else:
                url, server = start_stack(args, Path(tmp))
                database = args.database_url or "sqlite (fresh file)"
                stack = {
                    "url": url,
                    "started_by_bench": True,
                    "server": f"gunicorn, {args.workers} sync workers",
                    "database": urlsplit(database).scheme or database,
                    "verdict_cache": "app default"
                    if args.verdict_cache is None
                    else args.verdict_cache,
                }
            body = CHECK_BODY
            probe = _one_request(
                urlsplit(url).hostname or "127.0.0.1",
                urlsplit(url).port or 80,
                "POST",
                urlsplit(url).path.rstrip("/") + "/api/compat/check",
                json.dumps(body).encode(),
            )
            if probe != 200:
                raise SystemExit(f"POST /api/compat/check answers {probe}: is the catalog seeded?")
            results = [Result(name, method, path) for name, method, path, _ in ENDPOINTS]
            scratch = Result("warm-up", "", "")
            for _, method, path, body in ENDPOINTS:
                drive(url, path, method, body, args, scratch, 0.0, args.warmup)
            for _ in range(args.rounds):
                for result, (_, method, path, body) in zip(results, ENDPOINTS, strict=True):
                    drive(url, path, method, body, args, result, 0.5, args.duration / args.rounds)
        finally:
            if server is not None:
                server.terminate()
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    server.kill()

    floor, drf_floor = results[0].rps, results[1].rps
    report = {
        "machine": machine(),
        "stack": stack,
        "clients": args.clients,
        "duration_s": args.duration,
        "endpoints": {r.name: r.to_dict(floor, drf_floor) for r in results},
        "target_check_ratio": TARGET_RATIO,
    }
    check_ratio = report["endpoints"]["compat_check"]["ratio_to_floor"] or 0.0
    report["target_met"] = check_ratio >= TARGET_RATIO
    if args.json:
        print(json.dumps(report))
        return 0

    m = report["machine"]
    print(f"{m['cpus']} CPUs ({m['cpu_model']}), Python {m['python']}; {args.clients} clients, ")
    print(f"{args.duration:g} s per endpoint; stack: {json.dumps(stack)}")
    print(
        f"{'endpoint':<24} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs floor':>9}"
        f" {'vs DRF':>7}"
    )
    for r in results:
        row = r.to_dict(floor, drf_floor)
        print(
            f"{r.method + ' ' + r.path:<24} {row['requests_per_second']:>9,.1f} "
            f"{row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['errors']:>7} "
            f"{row['ratio_to_floor']:>9.2f} {row['ratio_to_drf_floor']:>7.2f}"
        )
        if r.error_sample:
            print(f"    first error: {r.error_sample}")
    verdict = "met" if report["target_met"] else "NOT met"
    print(f"compat check at {check_ratio:.0%} of the floor: target {TARGET_RATIO:.0%} {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
