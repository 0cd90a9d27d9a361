"""Ask a local ``qemu-system-x86_64`` for its CPU models over QMP.

Returns the same shape as the bundled ``data/qemu-7.2-cpu-models.json``: ``definitions`` from
``query-cpu-definitions`` and ``static_expansion`` from ``query-cpu-model-expansion`` (type
static) of every model, so the rest of the code does not care where the data came from.
"""

from __future__ import annotations

import json
import subprocess
import threading

TIMEOUT_SECONDS = 60


class QemuProbeError(RuntimeError):
    pass


def probe(binary: str, accel: str = "tcg") -> dict:
    command = [
        binary,
        "-machine",
        f"none,accel={accel}",
        "-nodefaults",
        "-nographic",
        "-qmp",
        "stdio",
    ]
    try:
        process = subprocess.Popen(  # noqa: S603 - the binary is the operator's own choice
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    except OSError as error:
        raise QemuProbeError(f"cannot start {binary}: {error}") from error
    # A QEMU that stops answering must not hang the seed: kill it after the timeout.
    watchdog = threading.Timer(TIMEOUT_SECONDS, process.kill)
    watchdog.start()
    try:
        session = _Session(process)
        greeting = session.read()
        version = greeting.get("QMP", {}).get("version", {})
        session.execute("qmp_capabilities")
        definitions = {
            item["name"]: {k: v for k, v in item.items() if k != "name"}
            for item in session.execute("query-cpu-definitions")
        }
        expansion = {}
        for name in definitions:
            reply = session.execute(
                "query-cpu-model-expansion", {"type": "static", "model": {"name": name}}
            )
            props = reply["model"]["props"]
            expansion[name] = {
                "features": sorted(k for k, v in props.items() if v is True),
                "props": {k: v for k, v in props.items() if not isinstance(v, bool)},
            }
        session.execute("quit")
    finally:
        watchdog.cancel()
        process.kill()
        process.wait(timeout=5)
    return {
        "definitions": definitions,
        "static_expansion": expansion,
        "qemu_version": version,
        "source": f"{binary} over QMP (accel={accel})",
    }


class _Session:
    def __init__(self, process: subprocess.Popen):
        self.process = process

    def read(self) -> dict:
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise QemuProbeError(
                    f"QEMU closed the QMP connection: {self.process.stderr.read()[:500]}"
                )
            message = json.loads(line)
            if "event" not in message:  # events arrive between replies
                return message

    def execute(self, command: str, arguments: dict | None = None):
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = self.read()
        if "error" in reply:
            raise QemuProbeError(f"{command}: {reply['error'].get('desc', reply['error'])}")
        return reply.get("return")
