"""Debian's Chromium driven by Playwright, for the board's browser tests, bench and screenshots.

Playwright's own browser download is never used: `chromium()` launches the system program
(`/usr/bin/chromium`, Debian package `chromium`) headless with a fresh profile, and with the
flags that keep it from reaching out to the network (this machine has none but loopback).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

from gpubroker.testing.system_tools import find_binary, install_hint

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ViewportSize

CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@contextlib.contextmanager
def chromium(*, viewport: dict[str, int] | None = None) -> Iterator[BrowserContext]:
    """A headless Chromium context with a fresh profile, closed afterwards.

    Raises:
        RuntimeError: Chromium is not installed (the message says how to install it).
    """
    from playwright.sync_api import sync_playwright

    executable = find_binary("chromium")
    if executable is None:
        raise RuntimeError(install_hint("chromium"))
    with (
        tempfile.TemporaryDirectory(prefix="gpubroker-chromium-") as profile,
        sync_playwright() as p,
    ):
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=executable,
            headless=True,
            args=list(CHROMIUM_FLAGS),
            viewport=cast("ViewportSize", viewport or DESKTOP),
        )
        try:
            yield context
        finally:
            context.close()
