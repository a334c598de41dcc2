"""The browser harness on tiny handwritten pages: it sees what a report would do wrong."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser import (
    browser,
    cjk_rendered,
    find_chromium,
    glyph_fonts,
    missing_glyphs,
    open_page,
    text_without_js,
)

# A 1x1 PNG, the way the reports embed their charts.
PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9Q"
         "DwADhgGAWjR9awAAAABJRU5ErkJggg==")
NO_FONT_HAS = "\ue000\U0010fffd"  # private use: no installed font draws these


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with browser() as launched:
        yield launched


def write_page(folder: Path, body: str, head: str = "", name: str = "page.html") -> Path:
    path = folder / name
    path.write_text(f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">{head}</head>'
                    f"<body>{body}</body></html>", encoding="utf-8")
    return path


def test_self_contained_page_is_clean(chromium: Browser, tmp_path: Path) -> None:
    # A Chinese file name with a space: the page's own URL is percent-encoded and still allowed.
    page = write_page(tmp_path, f'<h1>浙江省参保地报告</h1><img id="chart" src="{PIXEL}">',
                      head='<style>body { font-family: "Noto Sans CJK SC", sans-serif; }</style>',
                      name="报告 330000.html")
    with open_page(chromium, page, screenshot=tmp_path / "shot.png") as check:
        assert check.page.evaluate("document.getElementById('chart').naturalWidth") == 1
        assert cjk_rendered(check.page, "h1"), "no CJK font drew the title: `make setup` installs one"
        assert check.console_errors == []
        assert check.external_requests == []
    assert check.screenshot == tmp_path / "shot.png"
    assert check.screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert check.screenshot.stat().st_size > 100


@pytest.fixture
def local_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that counts the requests reaching it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}", hits
    server.shutdown()
    server.server_close()


def test_external_resources_are_refused_and_never_reach_the_network(
        chromium: Browser, tmp_path: Path, local_server: tuple[str, list[str]]) -> None:
    host, hits = local_server
    (tmp_path / "other.png").write_bytes(b"")  # a file beside the page is not the page either
    external = ["https://fonts.googleapis.com/css?family=Noto+Sans+SC", "https://cdn.example.com/x.js",
                "http://example.com/a.png", (tmp_path / "other.png").as_uri(), f"http://{host}/img.png",
                f"http://{host}/data.json", f"ws://{host}/live"]
    page = write_page(
        tmp_path,
        f'<img src="{external[2]}"><img src="{external[3]}"><img src="{external[4]}"><script>'
        f'fetch("{external[5]}").catch(() => document.body.dataset.fetch = "refused");'
        f'new WebSocket("{external[6]}").onclose = () => document.body.dataset.socket = "closed";</script>',
        head=f'<link rel="stylesheet" href="{external[0]}"><script src="{external[1]}"></script>')
    with open_page(chromium, page) as check:
        check.page.wait_for_selector("body[data-fetch=refused][data-socket=closed]", state="attached")
        assert sorted(check.external_requests) == sorted(external)
    assert hits == []


def test_console_errors_and_uncaught_exceptions_are_recorded(chromium: Browser, tmp_path: Path) -> None:
    logs = write_page(tmp_path, '<script>console.error("boom")</script>', name="logs.html")
    throws = write_page(tmp_path, '<script>throw new Error("kaput")</script>', name="throws.html")
    with open_page(chromium, logs) as check:
        assert check.console_errors == ["boom"]
    with open_page(chromium, throws) as check:
        assert check.console_errors == ["Error: kaput"]


def test_cjk_check_passes_for_chinese_behind_a_latin_font(chromium: Browser, tmp_path: Path) -> None:
    page = write_page(tmp_path, '<p id="zh" style="font-family: \'DejaVu Sans\', \'Noto Sans CJK SC\'">'
                                "Table 4: 跨省就医</p>")
    with open_page(chromium, page) as check:
        families = dict(glyph_fonts(check.page, "#zh"))
        assert families["DejaVu Sans"] == len("Table 4: ")  # spaces are glyphs too
        assert families.keys() - {"DejaVu Sans"}, "the Chinese characters came from a second font"
        assert cjk_rendered(check.page, "#zh")


def test_cjk_check_fails_for_characters_no_font_has(chromium: Browser, tmp_path: Path) -> None:
    page = write_page(tmp_path, f'<p id="latin" style="font-family: \'DejaVu Sans\'">{NO_FONT_HAS}</p>'
                                f'<p id="mixed">医保{NO_FONT_HAS[0]}</p><p id="empty"></p>')
    with open_page(chromium, page) as check:
        # What CDP says alone is no evidence: the missing-glyph boxes count as DejaVu glyphs.
        assert glyph_fonts(check.page, "#latin") == [("DejaVu Sans", 2)]
        assert missing_glyphs(check.page, "#latin") == set(NO_FONT_HAS)
        assert not cjk_rendered(check.page, "#latin")
        assert missing_glyphs(check.page, "#mixed") == {NO_FONT_HAS[0]}
        assert not cjk_rendered(check.page, "#mixed")
        assert not cjk_rendered(check.page, "#empty")
        with pytest.raises(ValueError, match="no element"):
            glyph_fonts(check.page, "#absent")


def test_javascript_off_shows_the_page_as_written(chromium: Browser, tmp_path: Path) -> None:
    page = write_page(tmp_path, '<p id="t">静态表格</p><noscript>无脚本也可阅读</noscript>'
                                '<script>document.getElementById("t").textContent = "脚本改写"</script>')
    with open_page(chromium, page) as check:
        assert check.page.inner_text("#t") == "脚本改写"
    text = text_without_js(chromium, page)
    assert "静态表格" in text
    assert "无脚本也可阅读" in text
    assert "脚本改写" not in text


def test_nested_uses_share_one_browser(chromium: Browser) -> None:
    with browser() as again:
        assert again is chromium
    assert chromium.is_connected()


def test_browser_tests_can_be_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CATALOGBRIDGE_NO_BROWSER", "1")
    with pytest.raises(pytest.skip.Exception), browser():
        pass


def test_missing_chromium_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match=r"run `make setup` as root, it installs Debian's chromium"):
        find_chromium()
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "chrome"))
    with pytest.raises(RuntimeError, match="CHROMIUM="):
        find_chromium()
    (tmp_path / "chrome").write_text("#!/bin/sh\n")
    (tmp_path / "chrome").chmod(0o755)
    assert find_chromium() == str(tmp_path / "chrome")
