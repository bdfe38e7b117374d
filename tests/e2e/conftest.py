"""End-to-end fixtures: Debian's headless Chromium driven by Playwright against live_server.

The browser is the system's /usr/bin/chromium (never a downloaded one). Without it the
tests skip, except under CI (``CI`` set), where a missing browser is a failure: .ci/run
installs it. Pages are served by pytest-django's ``live_server`` (a thread of this
process, so the transactional test database and this process's Celery app are shared).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

try:  # a missing Playwright is reported by the browser fixture (skip, or fail under CI)
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    expect = None

# The agent tests' real workers and broker fixtures, shared here (imported fixtures count).
from tests.probes.conftest import redis_broker, workers  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
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
TIMEOUT_MS = 15_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


@pytest.fixture
def browser(monkeypatch) -> Iterator[object]:  # noqa: ANN001
    """Chromium for one test. Playwright's sync API keeps an event loop running in this
    thread while it is open, which Django's async-safety check takes for async code: the
    check is lifted for this test only, and the browser closed before the database flush.
    """
    if not Path(CHROMIUM).exists():
        if _in_ci():
            pytest.fail(f"{CHROMIUM} is missing: CI must install it (apt-get install chromium)")
        pytest.skip(f"no {CHROMIUM}: the browser tests need Debian's chromium package")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if _in_ci():
            pytest.fail("playwright is not installed: CI must install the dev dependencies")
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db import connections

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
            # Django connections opened while Playwright ran live in another context than
            # the fixtures' (asgiref's Local follows contextvars): close them here, or they
            # outlive the test and keep PostgreSQL from dropping the test database.
            connections.close_all()


@pytest.fixture
def page(browser, live_server):  # noqa: ANN001 - a playwright Browser, pytest-django's server
    """A fresh browser context (no cookies) whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def site(live_server, transactional_db) -> Iterator[object]:  # noqa: ANN001
    """The 2007 seed and the probe catalogue, committed where the live server sees them."""
    from probes.services.catalogue import catalogue_sync
    from roadmap.services.seed import seed_load

    seed_load()
    catalogue_sync()
    yield live_server
    _wait_for_server_connections()


def _wait_for_server_connections(timeout: float = 5.0) -> None:
    """Let the live server's request threads close their database sessions.

    A request thread keeps its connection until the browser's keep-alive socket closes,
    which happens just after the browser does; on PostgreSQL, dropping the test database
    while such a session lingers fails. Waits until this is the only session left.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.1)


def sign_in(page, username: str) -> None:  # noqa: ANN001 - a playwright Page
    """Sign in through the login form (the personas' password is ``pw-<username>``)."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-" + username)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, f"sign-in failed for {username}"


def screenshot(page, name: str) -> Path:  # noqa: ANN001 - a playwright Page
    """Save a full-page screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
