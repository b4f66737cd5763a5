"""The embedded default: with no DATABASE_URL/REDIS_URL, real servers start under var/ and stop.

Launchers run as real processes in their own sessions, signalled the way a terminal or a process
manager signals them; "no server left" is checked against the process table.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest
import redis

BACKEND_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

CHILD = """
import json, os
import psycopg, redis
import dj_database_url
db = dj_database_url.parse(os.environ["DATABASE_URL"])
params = {"host": db["HOST"], "port": db["PORT"] or None, "dbname": db["NAME"], "user": db["USER"]}
with psycopg.connect(**params) as conn:
    version = conn.execute("SHOW server_version_num").fetchone()[0]
client = redis.Redis.from_url(os.environ["REDIS_URL"])
client.set("embedded-probe", "yes")
print(json.dumps({"pg": int(version), "redis": client.get("embedded-probe").decode(),
                  "db_url": os.environ["DATABASE_URL"], "redis_url": os.environ["REDIS_URL"]}))
"""

# A long-running command: writes the URLs it was given to a file, then waits to be stopped.
WAITER = """
import json, os, sys, time
with open(sys.argv[1] + ".tmp", "w") as out:
    json.dump({"db_url": os.environ["DATABASE_URL"], "redis_url": os.environ["REDIS_URL"]}, out)
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(600)
"""


def _launcher_env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "XDG_RUNTIME_DIR")
    }
    # A developer's .env must not decide what these launchers do.
    env["GPUBROKER_ENV_FILE"] = str(var_dir.parent / "no.env")
    env["GPUBROKER_VAR_DIR"] = str(var_dir)
    env.update(extra)
    return env


def _launch(var_dir: Path, *command: str, flags: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gpubroker.embedded", *flags, "--", *command],
        cwd=BACKEND_DIR,
        env=_launcher_env(var_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal job has
    )


def _run(var_dir: Path, *command: str, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gpubroker.embedded", *flags, "--", *command],
        cwd=BACKEND_DIR,
        env=_launcher_env(var_dir),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _wait_for_file(path: Path, launcher: subprocess.Popen[str], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        if launcher.poll() is not None:
            raise AssertionError(f"launcher exited {launcher.returncode}: {launcher.stderr.read()}")
        time.sleep(0.1)
    raise AssertionError(f"{path} never appeared")


def _servers_under(path: Path) -> list[psutil.Process]:
    """PostgreSQL/Valkey processes whose data directory is under `path` (command line or cwd)."""
    found = []
    for proc in psutil.process_iter(attrs=["name", "cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            cwd = proc.cwd()
        except psutil.Error:
            continue
        is_server = "python" not in (proc.info["name"] or "")
        if is_server and (str(path) in cmdline or cwd.startswith(str(path))):
            found.append(proc)
    return found


def _gone(path: Path, timeout: float = 15) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while (left := _servers_under(path)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _answers(db_url: str, redis_url: str) -> bool:
    with psycopg.connect(db_url, connect_timeout=5) as conn:
        conn.execute("SELECT 1")
    return bool(redis.Redis.from_url(redis_url, socket_timeout=5).ping())


@pytest.fixture(scope="module")
def shared_var(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One var directory for the module: PostgreSQL's initdb runs once."""
    var_dir = tmp_path_factory.mktemp("embedded") / "var"
    yield var_dir
    left = _gone(var_dir, timeout=5)
    for proc in left:  # never leave a server behind, even after a failed test
        proc.kill()
    assert left == []


def test_embedded_services_start_serve_and_stop(shared_var: Path) -> None:
    result = _run(shared_var, sys.executable, "-c", CHILD)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["pg"] >= 150000
    assert data["redis"] == "yes"
    assert data["db_url"].startswith("postgres://postgres@%2F")
    assert data["db_url"].endswith("/gpubroker")
    assert data["redis_url"].startswith("redis://127.0.0.1:")
    assert (shared_var / "postgres" / "PG_VERSION").exists()
    # No platformdirs RuntimeDirWarning (or any other warning) on start.
    assert "Warning" not in result.stderr
    assert "PostgreSQL" in result.stderr
    assert "started; stopped when this command ends" in result.stderr
    # Both servers were stopped when the command ended, and nothing claims them any more.
    assert _gone(shared_var) == []
    assert not (shared_var / "embedded.json").exists()


def test_ctrl_c_stops_the_command_and_both_servers(shared_var: Path, tmp_path: Path) -> None:
    urls_file = tmp_path / "urls.json"
    launcher = _launch(shared_var, sys.executable, "-c", WAITER, str(urls_file))
    urls = _wait_for_file(urls_file, launcher)
    assert _answers(urls["db_url"], urls["redis_url"])
    state = json.loads((shared_var / "embedded.json").read_text())
    assert state["postgres"]["owner"]["pid"] == launcher.pid
    assert state["valkey"]["url"] == urls["redis_url"]
    # Ctrl-C: the terminal sends SIGINT to the whole foreground process group.
    os.killpg(launcher.pid, signal.SIGINT)
    assert launcher.wait(timeout=60) == 128 + signal.SIGINT
    assert _gone(shared_var) == []
    assert not (shared_var / "embedded.json").exists()


def test_a_second_launcher_attaches_and_never_stops_the_owners_servers(
    shared_var: Path, tmp_path: Path
) -> None:
    urls_file = tmp_path / "urls.json"
    owner = _launch(shared_var, sys.executable, "-c", WAITER, str(urls_file))
    urls = _wait_for_file(urls_file, owner)
    servers = {proc.pid for proc in _servers_under(shared_var)}

    attached = _run(shared_var, sys.executable, "-c", CHILD)
    assert attached.returncode == 0, attached.stderr
    data = json.loads(attached.stdout.strip().splitlines()[-1])
    assert (data["db_url"], data["redis_url"]) == (urls["db_url"], urls["redis_url"])
    assert f"shared with pid {owner.pid}" in attached.stderr
    # The attached command ended; the owner's servers still run and still answer.
    assert _answers(urls["db_url"], urls["redis_url"])
    assert servers <= {proc.pid for proc in _servers_under(shared_var)}

    # `--exclusive` (make test) refuses to share them.
    refused = _run(shared_var, sys.executable, "-c", "print('ran')", flags=("--exclusive",))
    assert refused.returncode == 1
    assert refused.stdout == ""
    assert f"is in use by pid {owner.pid}" in refused.stderr

    # make test's instance keeps servers of its own next to them, and leaves theirs alone.
    private = _run(
        shared_var, sys.executable, "-c", CHILD, flags=("--instance", "test", "--exclusive")
    )
    assert private.returncode == 0, private.stderr
    data = json.loads(private.stdout.strip().splitlines()[-1])
    assert "%2Ftest%2Fpostgres" in data["db_url"]
    assert data["redis_url"] != urls["redis_url"]
    assert _gone(shared_var / "test") == []
    assert _answers(urls["db_url"], urls["redis_url"])

    # The owner stops what it started, and nothing is left (this used to leave a valkey-server).
    os.killpg(owner.pid, signal.SIGINT)
    assert owner.wait(timeout=60) == 128 + signal.SIGINT
    assert _gone(shared_var) == []


def test_sigterm_to_the_launcher_stops_the_command_and_the_servers(
    shared_var: Path, tmp_path: Path
) -> None:
    urls_file = tmp_path / "urls.json"
    launcher = _launch(shared_var, sys.executable, "-c", WAITER, str(urls_file))
    _wait_for_file(urls_file, launcher)
    launcher.send_signal(signal.SIGTERM)  # to the launcher alone: it passes it on
    assert launcher.wait(timeout=60) == 128 + signal.SIGTERM
    assert _gone(shared_var) == []


def test_servers_of_a_killed_launcher_are_taken_over_and_stopped(
    shared_var: Path, tmp_path: Path
) -> None:
    urls_file = tmp_path / "urls.json"
    dead = _launch(shared_var, sys.executable, "-c", WAITER, str(urls_file))
    _wait_for_file(urls_file, dead)
    state = json.loads((shared_var / "embedded.json").read_text())
    os.killpg(dead.pid, signal.SIGKILL)  # no clean-up at all: the servers outlive it
    dead.wait(timeout=10)
    assert psutil.pid_exists(state["valkey"]["pid"])

    result = _run(shared_var, sys.executable, "-c", CHILD)
    assert result.returncode == 0, result.stderr
    assert "started; stopped when this command ends" in result.stderr
    assert not psutil.pid_exists(state["valkey"]["pid"])
    assert _gone(shared_var) == []
    assert not (shared_var / "embedded.json").exists()


def test_print_env_prints_the_running_servers_urls(shared_var: Path, tmp_path: Path) -> None:
    print_env = [sys.executable, "-m", "gpubroker.embedded", "--print-env"]
    none = subprocess.run(
        print_env, cwd=BACKEND_DIR, env=_launcher_env(shared_var), capture_output=True, text=True
    )
    assert none.returncode == 1
    assert none.stdout == ""
    assert none.stderr.strip() == (
        f"embedded: no embedded PostgreSQL is running under {shared_var}; "
        "start `make run` first, or set DATABASE_URL"
    )

    urls_file = tmp_path / "urls.json"
    owner = _launch(shared_var, sys.executable, "-c", WAITER, str(urls_file))
    urls = _wait_for_file(urls_file, owner)
    try:
        shown = subprocess.run(
            print_env,
            cwd=BACKEND_DIR,
            env=_launcher_env(shared_var),
            capture_output=True,
            text=True,
            check=True,
        )
        evaluated = subprocess.run(
            [
                "sh",
                "-c",
                'eval "$1"; printf "%s\\n" "$DATABASE_URL" "$REDIS_URL"',
                "sh",
                shown.stdout,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.killpg(owner.pid, signal.SIGINT)
        owner.wait(timeout=60)
    assert shown.stdout.startswith("export DATABASE_URL=")
    assert evaluated.stdout.split() == [urls["db_url"], urls["redis_url"]]
    assert _gone(shared_var) == []


def test_embedded_reads_dotenv_and_leaves_configured_urls_alone(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "# a copied .env.example that sets the URLs turns the embedded default off\n"
        "DATABASE_URL=postgres://someone@db.invalid/x\n"
        "REDIS_URL='redis://cache.invalid:6379/0'\n"
        "GPUBROKER_DOTENV_PROBE=from-file\n"
    )
    env = _launcher_env(tmp_path / "unused", GPUBROKER_ENV_FILE=str(dotenv))
    env["GPUBROKER_DOTENV_PROBE"] = "from-environment"  # the environment wins over the file
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gpubroker.embedded",
            "--",
            sys.executable,
            "-c",
            "import os; print(os.environ['DATABASE_URL'], os.environ['REDIS_URL'],"
            " os.environ['GPUBROKER_DOTENV_PROBE'])",
        ],
        cwd=BACKEND_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "postgres://someone@db.invalid/x",
        "redis://cache.invalid:6379/0",
        "from-environment",
    ]
    assert not (tmp_path / "unused").exists()


def test_embedded_passes_the_exit_code_through(tmp_path: Path) -> None:
    env = _launcher_env(
        tmp_path / "unused",
        DATABASE_URL="postgres://x@db.invalid/x",
        REDIS_URL="redis://cache.invalid:6379/0",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gpubroker.embedded",
            "--",
            sys.executable,
            "-c",
            "raise SystemExit(7)",
        ],
        cwd=BACKEND_DIR,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 7
