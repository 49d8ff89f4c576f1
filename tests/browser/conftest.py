"""A real Home Assistant 2026.11.0 with its real frontend, seen through a real headless Chromium.

tests/smoke's fixtures start ``hass`` (from ``.venv-ha-2026.11``, which scripts/setup fills with
``home-assistant-frontend`` too) beside the real Chatterbox server; these add Debian's Chromium
driven by Playwright (pointed at that executable: nothing is downloaded at run time), a user
logged in through the real login page, and a numbered screenshot of every step.

Screenshots go to ``$CHATTERBOX_SCREENSHOTS/<test name>/`` when that variable is set, otherwise
to ``<tmp_path>/screenshots/``; the console errors of the page are written beside them. The
steps the README and the add-on's DOCS.md show are also saved, by a stable name, to
``$CHATTERBOX_SCREENSHOTS/docs/``, which ``scripts/screenshots`` copies to ``docs/screenshots/``.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

# Reused, not copied: the real `hass` process and how tests/smoke onboards it.
from tests.smoke import conftest as smoke
from tests.smoke.conftest import HassProcess, frontend_installed
from tests.smoke.test_ha_2026_11 import USER, onboard, wait_until_running

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        ConsoleMessage,
        Error,
        FloatRect,
        Locator,
        Page,
        Response,
    )

# tests/smoke's fixtures, offered to this folder's tests too.
ha_venv = smoke.ha_venv
hass_process = smoke.hass_process

CHROMIUM_ENV = "CHATTERBOX_CHROMIUM"
SCREENSHOTS_ENV = "CHATTERBOX_SCREENSHOTS"
# Debian's package: /usr/bin/chromium is a shell wrapper around the real binary.
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
LAUNCH_TIMEOUT_MS = 60_000
# Two cores shared with other test runs: the frontend's first load can take a while.
STEP_TIMEOUT_MS = 60_000
THREAD_JOIN_TIMEOUT = 10.0
VIEWPORT_WIDTH, VIEWPORT_HEIGHT = 1280, 800
# Room left around a cropped screenshot's element.
CROP_MARGIN = 16
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def chromium_executable() -> str | None:
    """The Chromium to drive: $CHATTERBOX_CHROMIUM, else Debian's, else ``chromium`` on PATH."""
    if chosen := os.environ.get(CHROMIUM_ENV):
        return chosen
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium")


class Screen:
    """A Playwright page on Home Assistant that saves a numbered screenshot of each step."""

    def __init__(
        self, page: Page, hass: HassProcess, directory: Path, docs: Path | None = None
    ) -> None:
        self.page = page
        self.hass = hass
        self.directory = directory
        self.docs = docs
        self.shots: list[Path] = []
        self.console_errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", self._page_error)
        page.on("response", self._response)
        # Home Assistant asks, once per new HTTP configuration (ours: a loopback port), to
        # confirm it; it may pop up over any page, so confirm it whenever it shows.
        pending = page.locator("dialog-http-pending-config")
        page.add_locator_handler(
            pending.get_by_text("Confirm new HTTP server configuration"),
            lambda: pending.get_by_role("button", name="Confirm").click(),
        )

    def _console(self, message: ConsoleMessage) -> None:
        # (a failed resource shows as its HTTP status, with the URL, in _response)
        if message.type in {"error", "warning"} and "Failed to load resource" not in message.text:
            self.console_errors.append(f"console {message.type}: {message.text}")

    def _response(self, response: Response) -> None:
        # (brand images come from brands.home-assistant.io, which is out of reach here)
        if response.status >= 400 and "/api/brands/" not in response.url:
            self.console_errors.append(f"HTTP {response.status}: {response.url}")

    def _page_error(self, error: Error) -> None:
        self.console_errors.append(f"uncaught: {error.name}: {error.message}\n{error.stack}")

    def goto(self, path: str) -> None:
        """Open a path of Home Assistant's frontend, in the loaded app as its links do."""
        if self.page.url.startswith(self.hass.url) and "/auth/" not in self.page.url:
            self.page.evaluate(
                """path => {
                    history.pushState(null, "", path);
                    window.dispatchEvent(new CustomEvent("location-changed"));
                }""",
                path,
            )
        else:
            self.page.goto(self.hass.url + path, wait_until="domcontentloaded")
        self.page.wait_for_url(re.compile(re.escape(path)))
        self.settled()

    def settled(self) -> None:
        """Wait for the frontend's launch screen ("Loading...") to be gone."""
        self.page.locator("#ha-launch-screen").wait_for(state="detached")

    def shot(self, name: str, *, of: Locator | None = None, doc: str | None = None) -> Path:
        """Save a screenshot of the page now, numbered after the ones before.

        ``of`` crops it to that element (with a margin); ``doc`` also saves it as
        ``<doc>.png`` among the screenshots the documentation shows.
        """
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        path = self.directory / f"{len(self.shots) + 1:02d}-{slug}.png"
        clip: FloatRect | None = None
        if of is not None:
            box = of.bounding_box()
            assert box is not None, f"{name}: the element to crop to is not on screen"
            left, top = max(box["x"] - CROP_MARGIN, 0), max(box["y"] - CROP_MARGIN, 0)
            right = min(box["x"] + box["width"] + CROP_MARGIN, VIEWPORT_WIDTH)
            bottom = min(box["y"] + box["height"] + CROP_MARGIN, VIEWPORT_HEIGHT)
            clip = {"x": left, "y": top, "width": right - left, "height": bottom - top}
        self.page.screenshot(path=path, clip=clip)
        self.shots.append(path)
        if doc is not None and self.docs is not None:
            self.docs.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.docs / f"{doc}.png")
        return path

    def call_ws(self, message: dict[str, Any]) -> Any:
        """Send a websocket command as the frontend does (its connection); return the result."""
        return self.page.evaluate(
            "message => document.querySelector('home-assistant').hass.callWS(message)", message
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so a fixture knows whether the test failed."""
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def screenshots(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The folder this test's screenshots go to (made empty)."""
    if base := os.environ.get(SCREENSHOTS_ENV):
        directory = Path(base) / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
        shutil.rmtree(directory, ignore_errors=True)
    else:
        directory = tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
def chromium() -> Iterator[Browser]:
    """Debian's headless Chromium through Playwright; a skip only if it cannot start."""
    try:
        from playwright.sync_api import Error, sync_playwright  # noqa: PLC0415
    except ImportError:
        pytest.fail("Playwright is not installed in this venv: run scripts/setup", pytrace=False)
    executable = chromium_executable()
    if executable is None:
        pytest.skip(
            f"no Chromium: install Debian's chromium (scripts/setup does) or set {CHROMIUM_ENV}"
        )
    threads_before = frozenset(threading.enumerate())
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path=executable,
                headless=True,
                timeout=LAUNCH_TIMEOUT_MS,
                args=["--disable-dev-shm-usage"],
            )
        except Error as err:
            pytest.skip(f"Chromium ({executable}) cannot start: {err}")
        try:
            yield browser
        finally:
            browser.close()
    # Playwright's event loop may leave its executor's threads finishing after it closed;
    # the harness fails a test that leaves a thread behind, so let them end first.
    for thread in frozenset(threading.enumerate()) - threads_before:
        thread.join(timeout=THREAD_JOIN_TIMEOUT)


@pytest.fixture
def onboarded_hass(hass_process: HassProcess) -> HassProcess:
    """The real Home Assistant, started with its frontend, onboarded with tests/smoke's owner."""
    if not frontend_installed(hass_process.venv):
        pytest.fail(
            f"home-assistant-frontend is not installed in {hass_process.venv}: run scripts/setup",
            pytrace=False,
        )
    hass_process.start()
    onboard(hass_process)
    wait_until_running(hass_process)
    # Onboarding adds entries (Google Translate TTS, ...) whose packages the venv lacks: they
    # only fail to set up, and would clutter every screenshot with an error card.
    step = "remove failed onboarding entries"
    for entry in hass_process.request_json(step, "GET", "/api/config/config_entries/entry"):
        if entry["state"] == "setup_error":
            hass_process.request_json(
                step, "DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}"
            )
    return hass_process


@pytest.fixture
def screen(
    request: pytest.FixtureRequest,
    chromium: Browser,
    onboarded_hass: HassProcess,
    screenshots: Path,
) -> Iterator[Screen]:
    """A page logged in as the owner through the real login page (each step a screenshot)."""
    from playwright.sync_api import expect  # noqa: PLC0415

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    context = chromium.new_context(
        viewport={"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT},
        locale="en-US",
        timezone_id="UTC",
    )
    context.set_default_timeout(STEP_TIMEOUT_MS)
    base = os.environ.get(SCREENSHOTS_ENV)
    docs = Path(base) / "docs" if base else None
    screen = Screen(context.new_page(), onboarded_hass, screenshots, docs)
    try:
        log_in(screen)
        yield screen
    finally:
        reports = request.node.stash.get(REPORTS, {})
        if any(report.failed for report in reports.values()) or "call" not in reports:
            try:
                screen.shot("at-failure")
            except Exception as err:  # the failure itself is what matters
                print(f"[browser] no screenshot at failure: {err!r}")
        (screenshots / "console-errors.txt").write_text("\n".join(screen.console_errors) + "\n")
        print(f"[browser] {len(screen.shots)} screenshots in {screenshots}")
        context.close()


def log_in(screen: Screen) -> None:
    """Open Home Assistant, get sent to its login page, and log in as the owner."""
    from playwright.sync_api import expect  # noqa: PLC0415

    page = screen.page
    screen.goto("/")
    page.wait_for_url(re.compile(r"/auth/authorize\?"))
    username = page.get_by_role("textbox", name="Username")
    expect(username).to_be_visible()
    screen.shot("login page")
    username.fill(USER["username"])
    page.get_by_role("textbox", name="Password").fill(USER["password"])
    screen.shot("login filled in")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/(lovelace|home|config|energy|map)"))
    screen.settled()
    expect(page.get_by_text(USER["name"]).first).to_be_visible()
    screen.shot("logged in")
