"""Shared fixtures: the built site, a local HTTP server for it, and headless Chromium.

Keep this file small; feature-specific fixtures belong in the test modules.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from localserver import serve_directory

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/lib/chromium/chromium"))
IN_CI = os.environ.get("CI", "").lower() == "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def skip_or_fail(reason: str) -> None:
    """Skip locally, but fail under CI (CI=true), where nothing may be missing."""
    if IN_CI:
        pytest.fail(reason + " (CI=true, so this is an error, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """The built HTML book; run `make book` first (`make test` does)."""
    if not (SITE / "index.html").is_file():
        skip_or_fail(f"built site not found at {SITE}; run `make book`")
    return SITE


@pytest.fixture(scope="session")
def site_url(site_dir: Path):
    """The built site on a local server."""
    with serve_directory(site_dir) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """A headless Debian Chromium driven by Playwright (never `playwright install`)."""
    if not CHROMIUM.exists():
        skip_or_fail(f"Chromium not found at {CHROMIUM}; apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright Python package is not installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
