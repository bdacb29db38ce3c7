"""Driving the service's pages in headless Chromium through Playwright.

Shared by the browser tests (tests/service/browser) and the docs' screenshot script
(scripts/service_screenshots.py), so both launch the same browser the same way and sign in
through the real login page. Chromium comes from the distribution (``apt-get install
chromium``); Playwright never downloads a browser here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox (root in a container), no GPU, and no background traffic to any other address.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 60_000  # the machine is shared and loaded: be patient, the assertions still have to hold


def launch_chromium(playwright: Any, *, timeout_ms: int = TIMEOUT_MS) -> Any:
    """The distribution's Chromium, headless, through a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=timeout_ms)


def sign_in(page: Any, url: str, user: str, password: str) -> None:
    """Sign in through the login page and wait for the job list it leads to."""
    page.goto(f"{url}/ui/login")
    page.fill("#name", user)
    page.fill("#password", password)
    page.click("#sign-in")
    page.wait_for_url("**/ui/jobs")
