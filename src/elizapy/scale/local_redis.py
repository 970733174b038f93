"""A throwaway ``redis-server`` on a loopback port, for tests and one-machine trials.

It uses the system's ``redis-server`` (Debian: ``apt-get install redis-server``), listens on 127.0.0.1
only, on a free port picked at start, keeps its files in a fresh temporary folder and persists nothing (no
RDB, no AOF): a production bus wants ``appendonly yes`` (see docs/deploy.md).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from ..errors import ConfigError, RunError

INSTALL_HINT = "install Redis 7+ (Debian: apt-get install -y redis-server)"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LocalRedis:
    """Start with :meth:`start` (or ``with LocalRedis() as redis``); connect with :attr:`url`."""

    def __init__(self, *, binary: str = "redis-server", start_timeout_s: float = 20.0) -> None:
        self.binary = binary
        self.start_timeout_s = start_timeout_s
        self.port = 0
        self.root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        if self._proc is not None:
            return self.url
        exe = shutil.which(self.binary)
        if exe is None:
            raise ConfigError(f"no {self.binary} on PATH: {INSTALL_HINT}")
        self.root = Path(tempfile.mkdtemp(prefix="elizapy-redis-"))
        try:
            for _attempt in range(5):  # the free port can be taken between picking and binding
                self.port = free_port()
                log = self.root / "redis.log"
                self._proc = subprocess.Popen(
                    [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.root),
                     "--save", "", "--appendonly", "no", "--logfile", str(log), "--daemonize", "no"],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                )
                if self._wait_ready():
                    return self.url
                self._terminate()
            raise RunError(f"redis-server did not start: {self._log_tail()}")
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> bool:
        """Until it answers PING (an external process: polling is all there is), or it exits."""
        assert self._proc is not None
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def _log_tail(self) -> str:
        try:
            return (self.root / "redis.log").read_text(errors="replace")[-2000:] if self.root else ""
        except OSError:
            return ""

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def stop(self) -> None:
        self._terminate()
        root, self.root = self.root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> LocalRedis:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
