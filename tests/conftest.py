"""Shared set-up: small teacher networks, a temporary memory budget, the hypothesis profile, and the
built site with a local HTTP server and headless Chromium for the browser tests.

Keep this file small; feature-specific fixtures belong in the test modules.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import nearopt
from localserver import serve_directory

# property-based suites: reproducible examples (CI stability), no example database, a generous deadline
# (the machine may be shared); each suite sets its own max_examples
settings.register_profile("nearopt", derandomize=True, database=None, deadline=10_000,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("nearopt")


def make_net(n_in, n_hidden, n=None, seed=0, **teacher_kw):
    """(W1, W2, X): a teacher from ``seed`` and, when ``n`` is given, n Gaussian inputs from ``seed + 1``."""
    W1, W2 = nearopt.sample_teacher(n_in, n_hidden, seed=seed, **teacher_kw)
    X = None if n is None else nearopt.sample_inputs(n, n_in, seed=seed + 1)
    return W1, W2, X


@pytest.fixture
def net():
    """The :func:`make_net` factory as a fixture."""
    return make_net


@pytest.fixture
def budget():
    """``budget(nbytes)`` sets a temporary memory budget (``None``: the default); restored after the test."""
    yield nearopt.set_memory_budget
    nearopt.set_memory_budget(None)

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
