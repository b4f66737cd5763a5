"""Debian's nginx and Prometheus run by the tests as ordinary processes on loopback.

Each server gets a configuration generated in the test's temporary directory (pid file, logs,
temporary files, storage all there), listens on 127.0.0.1 only, runs in the foreground as a
child of the test, and is stopped when its context ends.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from gpubroker.testing.processes import free_port
from gpubroker.testing.system_tools import find_binary, install_hint

REPO_DIR = Path(__file__).resolve().parents[4]
NGINX_SITE = REPO_DIR / "nginx" / "gpubroker.conf"
PROMETHEUS_DIR = REPO_DIR / "deploy" / "prometheus"


def _binary(name: str) -> str:
    """The path of a Debian-packaged server binary, or a RuntimeError saying how to install it."""
    path = find_binary(name)
    if path is None:
        raise RuntimeError(install_hint(name))
    return path


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}: {log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"not listening on 127.0.0.1:{port} after {timeout} s")


def _stop(process: subprocess.Popen[bytes], sig: signal.Signals = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@dataclass(frozen=True)
class LoopbackServer:
    """A server a test started on 127.0.0.1:`port`, with its files under `directory`."""

    port: int
    directory: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class NginxServer(LoopbackServer):
    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.directory / "access.log"


def nginx_main_conf(directory: Path, *, mime_types: Path, worker_connections: int = 1024) -> str:
    """A main nginx.conf whose every path is under `directory`, including the project's site.

    `worker_connections` is the official nginx image's (1024): each proxied request holds two
    (client and upstream), so 256 refused work at ~128 concurrent clients with nginx's own 500.
    """
    # As root the master would hand the workers to `nobody`, who cannot read a private tmp dir.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}daemon off;
worker_processes 1;
worker_rlimit_nofile {2 * worker_connections + 64};
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} info;
events {{ worker_connections {worker_connections}; }}
http {{
    include {mime_types};
    default_type application/octet-stream;
    access_log {directory / "access.log"};
{temp}
    include {NGINX_SITE};
}}
"""


@contextlib.contextmanager
def nginx_server(
    directory: Path,
    *,
    upstream_ports: Sequence[int],
    static_parent: Path,
    worker_connections: int = 1024,
) -> Iterator[NginxServer]:
    """Run `nginx/gpubroker.conf` unchanged with an upstream of `upstream_ports` on loopback.

    `static_parent` is nginx's `root`: `/static/x` is served from `static_parent/static/x`.
    The site's two per-place includes (`gpubroker/upstream.conf`, `gpubroker/server.conf`) are
    written next to the main configuration, which is where nginx resolves relative includes.
    """
    binary = _binary("nginx")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    servers = "\n".join(f"    server 127.0.0.1:{upstream};" for upstream in upstream_ports)
    (directory / "gpubroker").mkdir(exist_ok=True)
    (directory / "gpubroker" / "upstream.conf").write_text(
        f"upstream gpubroker_web {{\n{servers}\n    keepalive 32;\n}}\n"
    )
    (directory / "gpubroker" / "server.conf").write_text(
        f"listen 127.0.0.1:{port};\nroot {static_parent};\n"
    )
    conf = directory / "nginx.conf"
    conf.write_text(
        nginx_main_conf(
            directory,
            mime_types=Path("/etc/nginx/mime.types"),
            worker_connections=worker_connections,
        )
    )
    command = [binary, "-p", str(directory), "-c", str(conf), "-e", str(directory / "error.log")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t failed: {checked.stderr}")
    log = directory / "nginx.out"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, process, log, timeout=10)
        yield NginxServer(port=port, directory=directory)
    finally:
        # SIGTERM: fast shutdown (open WebSockets are cut, as a test's end wants).
        _stop(process)


@dataclass(frozen=True)
class PrometheusServer(LoopbackServer):
    def query(self, expression: str) -> list[dict]:
        """The result vector of an instant query (Prometheus' HTTP API, `/api/v1/query`)."""
        response = httpx.get(f"{self.base_url}/api/v1/query", params={"query": expression})
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]["result"]  # type: ignore[no-any-return]


def prometheus_config(*, targets: Sequence[str], rule_files: Sequence[Path]) -> str:
    """A scrape configuration for `targets` every second, evaluating `rule_files` every second.

    The job name is the one `deploy/prometheus/prometheus.yml` uses, so the alert rules'
    `job=~"gpubroker.*"` selectors match what this Prometheus scrapes.
    """
    rules = "\n".join(f"  - {path}" for path in rule_files)
    target_list = ", ".join(f'"{target}"' for target in targets)
    return f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
{rules}
scrape_configs:
  - job_name: gpubroker-web
    metrics_path: /metrics
    static_configs:
      - targets: [{target_list}]
"""


@contextlib.contextmanager
def prometheus_server(
    directory: Path, *, targets: Sequence[str], rule_files: Sequence[Path] = ()
) -> Iterator[PrometheusServer]:
    """Debian's `prometheus` on 127.0.0.1 with its storage under `directory`, stopped afterwards."""
    binary = _binary("prometheus")
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "prometheus.yml"
    config.write_text(prometheus_config(targets=targets, rule_files=rule_files))
    port = free_port()
    log = directory / "prometheus.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, process, log, timeout=30)
        server = PrometheusServer(port=port, directory=directory)
        deadline = time.monotonic() + 30
        while httpx.get(f"{server.base_url}/-/ready").status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"prometheus not ready: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield server
    finally:
        _stop(process, signal.SIGTERM)
