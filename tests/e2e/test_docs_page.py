"""The interactive documentation, as a person opens it: in Chromium, on a network that
reaches nothing but the service. It renders (Swagger UI from the service's own files),
shows every operation and the Authorize button of the bearer scheme. The screenshots are
kept in var/artefacts/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from adapters.clock import SimulatedClock
from api import create_app
from app import Ledger
from settings import ApiToken, Permission, Settings
from tests.helpers import ARTEFACTS
from tests.serving import serving

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; .ci/run installs it
# As the machine's notes advise: no sandbox as root, and none of Chromium's own traffic.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RENDER_TIMEOUT_MS = 20_000
TOKENS = {"ops": ApiToken(secret="ops-secret", scopes=[Permission.ADMIN])}


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI and is not at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_documentation_renders_with_no_network_beyond_the_service(
    browser: Any, sqlite_store: str, clock: SimulatedClock, width: int
) -> None:
    ledger = Ledger(Settings(store=sqlite_store), clock=clock)
    outside: list[str] = []
    try:
        with serving(create_app(ledger, TOKENS)) as url:
            page = browser.new_page(viewport={"width": width, "height": 900})

            def only_the_service(route: Any) -> None:
                if urlparse(route.request.url).hostname == "127.0.0.1":
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", only_the_service)
            page.goto(f"{url}/docs")
            page.wait_for_selector(".opblock-summary", timeout=RENDER_TIMEOUT_MS)
            assert "seatledger internal API" in page.inner_text(".info .title")
            operations = page.locator(".opblock-summary").count()
            assert operations > 30
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTEFACTS / f"docs-{width}.png"))
            page.click("button.authorize")
            page.wait_for_selector(".auth-container", timeout=RENDER_TIMEOUT_MS)
            assert "HTTPBearer" in page.inner_text(".auth-container")
            page.screenshot(path=str(ARTEFACTS / f"docs-authorize-{width}.png"))
    finally:
        ledger.close()
    assert outside == []
