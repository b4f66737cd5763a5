"""System programs some tests drive for real (nginx, Prometheus, Chromium), found on this machine.

These come from the operating system (Debian packages), not from PyPI, so `make install` cannot
provide them. `.ci/run` installs them and sets GPUBROKER_REQUIRE_SYSTEM_TOOLS=1, under which a
missing one fails its tests; elsewhere those tests are reported as not run, loudly, at the end of
the session (see backend/conftest.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

# program name -> the Debian package that provides it
DEBIAN_PACKAGES = {
    "nginx": "nginx",
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "chromium": "chromium",
}


def find_binary(name: str) -> str | None:
    """The path of system program `name` (PATH, then /usr/sbin and /usr/bin), or None."""
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def install_hint(name: str) -> str:
    """One line telling how to install system program `name`."""
    package = DEBIAN_PACKAGES.get(name, name)
    return f"{name} is not installed: apt-get install -y {package} (.ci/run installs it)"
