"""Open the offline HTML reports in Debian's headless chromium, the way a reader's browser would.

Playwright drives the system chromium (`make setup` installs it): there is no network to
download Playwright's own browsers. Every request a page makes is intercepted, so a report
that is not self-contained shows up in `external_requests` instead of loading anything, and
the fonts Chromium really drew a text with come from the DevTools protocol.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route, WebSocketRoute, sync_playwright

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# No sandbox: it cannot start as root or in most containers, and the pages are our own local
# files with the network cut off. A small /dev/shm (Docker's 64 MB) crashes tabs without the
# last flag.
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def find_chromium() -> str:
    """Path of the system chromium: $CHROMIUM if set, else the first of CHROMIUM_NAMES on PATH."""
    override = os.environ.get("CHROMIUM")
    candidates = [override] if override else CHROMIUM_NAMES
    found = next((path for name in candidates if (path := shutil.which(name))), None)
    if found is None:
        wanted = f"CHROMIUM={override}" if override else " or ".join(CHROMIUM_NAMES)
        raise RuntimeError(f"no chromium for the browser tests ({wanted} not found): run `make setup` "
                           "as root, it installs Debian's chromium (or set CHROMIUM=/path/to/chrome)")
    return found


_shared: tuple[Playwright, Browser] | None = None
_users = 0


@contextmanager
def browser() -> Iterator[Browser]:
    """A headless chromium. Overlapping uses (say, a module fixture and a session fixture)
    share one: a second sync Playwright cannot start while one runs in the thread.

    Skips the calling test when CATALOGBRIDGE_NO_BROWSER=1; a missing chromium is an error.
    """
    global _shared, _users
    if os.environ.get("CATALOGBRIDGE_NO_BROWSER") == "1":
        pytest.skip("CATALOGBRIDGE_NO_BROWSER=1: the browser tests are switched off")
    if _shared is None:
        executable = find_chromium()
        playwright = sync_playwright().start()
        try:
            _shared = (playwright, playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS))
        except BaseException:
            playwright.stop()
            raise
    _users += 1
    try:
        yield _shared[1]
    finally:
        _users -= 1
        if _users == 0:
            playwright, launched = _shared
            _shared = None
            launched.close()
            playwright.stop()


@dataclass
class PageCheck:
    """An opened page and what it did: error messages and the requests it was refused."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    screenshot: Path | None = None

    def close(self) -> None:
        self.page.context.close()

    def __enter__(self) -> PageCheck:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_page(browser: Browser, html_path: Path, screenshot: Path | None = None, *,
              javascript: bool = True) -> PageCheck:
    """Load `html_path` in a fresh context; only the file itself and data: URLs may load.

    Anything else (http, https, ws, other file: paths) is aborted and recorded. Console errors
    and uncaught exceptions are recorded, also those arriving after the load event.
    """
    own_url = html_path.resolve().as_uri()
    page = browser.new_context(java_script_enabled=javascript).new_page()
    check = PageCheck(page)

    def allow_own_file(route: Route) -> None:
        url = route.request.url
        if url.split("#")[0] == own_url or url.startswith("data:"):
            route.continue_()
        else:
            check.external_requests.append(url)
            route.abort()

    def refuse_socket(socket: WebSocketRoute) -> None:  # never connected to the server
        check.external_requests.append(socket.url)
        socket.close()

    page.route("**/*", allow_own_file)
    page.route_web_socket("**/*", refuse_socket)
    page.on("console", lambda msg: check.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: check.console_errors.append(f"{error.name}: {error.message}"))
    page.goto(own_url, wait_until="load")
    if screenshot is not None:
        page.screenshot(path=screenshot, full_page=True)
        check.screenshot = screenshot
    return check


def text_without_js(browser: Browser, html_path: Path) -> str:
    """The visible text of the page as a reader with JavaScript switched off sees it."""
    with open_page(browser, html_path, javascript=False) as check:
        return check.page.inner_text("body")


def _platform_fonts(page: Page, selector: str) -> list[dict[str, Any]]:
    """CSS.getPlatformFontsForNode of the first element matching the CSS `selector`."""
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            raise ValueError(f"no element matches {selector!r}")
        cdp.send("CSS.enable")
        return list(cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"])
    finally:
        cdp.detach()


def glyph_fonts(page: Page, selector: str) -> list[tuple[str, int]]:
    """(font family, glyph count) Chromium drew the element's text (descendants included) with."""
    return [(font["familyName"], font["glyphCount"]) for font in _platform_fonts(page, selector)]


@functools.cache
def _fontconfig_charsets() -> dict[str, str]:
    """fontconfig's character set (hex ranges) of every installed font, by PostScript name."""
    if shutil.which("fc-list") is None:
        raise RuntimeError("fc-list not found: run `make setup` as root, it installs fontconfig")
    listing = subprocess.run(["fc-list", "-f", r"%{postscriptname}\t%{charset}\n"],
                             capture_output=True, text=True, check=True).stdout
    charsets: dict[str, str] = {}
    for line in listing.splitlines():
        name, _, ranges = line.partition("\t")
        charsets[name] = f"{charsets.get(name, '')} {ranges}"
    return charsets


@functools.cache
def _charset(postscript_name: str) -> frozenset[int]:
    """Code points the installed font has glyphs for; empty for a web font fontconfig lacks."""
    points: set[int] = set()
    for part in _fontconfig_charsets().get(postscript_name, "").split():
        low, _, high = part.partition("-")
        points.update(range(int(low, 16), int(high or low, 16) + 1))
    return frozenset(points)


def missing_glyphs(page: Page, selector: str) -> set[str]:
    """Characters of the element's visible text that no font Chromium used for it has a glyph for.

    CDP alone cannot tell: a character no font has is drawn as the first font's .notdef box
    and counted as a glyph of that font. So each used font's character map is checked.
    """
    fonts = [font["postScriptName"] for font in _platform_fonts(page, selector)]
    return {ch for ch in page.inner_text(selector)
            if not ch.isspace() and not any(ord(ch) in _charset(name) for name in fonts)}


def cjk_rendered(page: Page, selector: str) -> bool:
    """True when the element has text and every character of it is drawn from a real glyph.

    For Chinese text that means a CJK font drew it, no missing-glyph boxes.
    """
    return bool(page.inner_text(selector).strip()) and not missing_glyphs(page, selector)
