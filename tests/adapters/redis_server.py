"""A redis-server of a test's own, on a free loopback port.

Most Redis tests use the machine's server (``redis_url``). Some states cannot be produced there
without disturbing everyone else who uses it: pausing every writer (``CLIENT PAUSE``), a Lua
script that keeps the server busy, a replica cut off from its primary, a restart into a slow
load, a password, TLS, a flushed script cache. Those tests start the same ``redis-server``
binary as a subprocess instead, configured for the case, and stop it at the end.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.conftest import free_port, unavailable


class RedisServer:
    """One ``redis-server`` process. ``args`` are extra configuration (``--requirepass x``)."""

    def __init__(self, directory: Path, *args: str, port: int | None = None, tls: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server is not installed")
        self.binary = str(binary)
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.tls = tls
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}/0"

    def start(self, *extra: str) -> RedisServer:
        """Start the server (with ``extra`` configuration this time) and wait until it answers."""
        ports = ["--port", "0", "--tls-port", str(self.port)] if self.tls else ["--port", str(self.port)]
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                *ports,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--enable-debug-command",
                "yes",
                *self.args,
                *extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30.0) -> None:
        """Until the port accepts connections (a server still loading its data accepts them)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (self.directory / "redis.log").read_text(errors="replace").strip().splitlines()[-3:]
                raise RuntimeError(f"redis-server exited with {self.process.returncode}: {' / '.join(tail)}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not listen on {self.port} within {timeout:g}s")

    def stop(self) -> None:
        """Stop the server (it saves nothing: ``--save ""``) and wait for it to exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
