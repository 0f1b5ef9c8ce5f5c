"""The built user guide, served on loopback and looked at in headless Chromium.

Used by the docs tests (``tests/test_docs_site.py``, one build a session) and by
``make screenshots``, which writes one PNG per page to ``docs/assets/``::

    .venv/bin/python tests/support/docs_site.py docs/assets

Chromium is Debian's ``chromium`` package (``make chromium`` installs it), driven through
Playwright's Python API with ``executable_path``: Playwright's own browser downloads are
never used. Every request the browser makes outside the loopback site is refused and
recorded, so a page that needs the network (a CDN, web fonts) fails the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
from playwright.sync_api import (
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
    Route,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
"""Chromium's flags: headless, no sandbox (root in CI), nothing that calls home, and no
reliance on a large /dev/shm (containers have a small one)."""

SCREENSHOTS = {"getting-started.png": "getting-started/", "api-transport.png": "api/transport/"}
"""What ``make screenshots`` writes: file name -> page of the site."""


def build(site_dir: Path) -> None:
    """Build the user guide into ``site_dir`` with ``mkdocs build --strict``.

    Raises ``RuntimeError`` with mkdocs' own output when the build fails.
    """
    mkdocs = shutil.which("mkdocs", path=str(Path(sys.executable).parent))
    if mkdocs is None:
        msg = "mkdocs is not installed next to this Python: pip install -e '.[docs]'"
        raise RuntimeError(msg)
    result = subprocess.run(
        [mkdocs, "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    if result.returncode != 0:
        msg = f"mkdocs build --strict failed ({result.returncode}):\n{result.stderr}"
        raise RuntimeError(msg)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging every request to stderr."""

    def log_message(self, format: str, *args: object) -> None:
        """Log nothing: the tests look at what the browser saw, not at the server's log."""


@contextlib.contextmanager
def serve(site_dir: Path) -> Iterator[str]:
    """Serve ``site_dir`` over HTTP on a free loopback port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="docs-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def chromium_path() -> Path:
    """Debian's Chromium; a clear error naming the way to install it when it is missing."""
    if not CHROMIUM.is_file():
        msg = f"{CHROMIUM} is missing: `make chromium` (apt-get install -y chromium) installs it"
        raise RuntimeError(msg)
    return CHROMIUM


@attrs.define
class PageVisit:
    """What the browser reported while one page was open."""

    page: Page
    console_errors: list[str] = attrs.field(factory=list)
    refused: list[str] = attrs.field(factory=list)


@contextlib.contextmanager
def browser(profile_dir: Path) -> Iterator[BrowserContext]:
    """Headless Chromium with a fresh profile in ``profile_dir``, 1280x900 pixels."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=str(chromium_path()),
            headless=True,
            args=list(CHROMIUM_FLAGS),
            viewport={"width": 1280, "height": 900},
            color_scheme="light",
        )
        try:
            yield context
        finally:
            context.close()


@contextlib.contextmanager
def visit(context: BrowserContext, url: str) -> Iterator[PageVisit]:
    """Open ``url`` in a new tab; console errors and refused requests are recorded."""
    page = context.new_page()
    page.set_default_timeout(10_000)
    seen = PageVisit(page)
    base = url.split("/", 3)[:3]

    def route(route: Route, request: Request) -> None:
        if request.url.split("/", 3)[:3] == base:
            route.continue_()
        else:
            seen.refused.append(request.url)
            route.abort()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.console_errors.append(f"{message.text} ({message.location.get('url')})")

    page.route("**/*", route)
    page.on("console", console)
    page.on("pageerror", lambda error: seen.console_errors.append(f"uncaught: {error}"))
    try:
        page.goto(url, wait_until="load")
        yield seen
    finally:
        page.close()


def search(page: Page, word: str) -> list[str]:
    """Type ``word`` into the page's search box; the titles of the results that appear."""
    box = page.locator("input.md-search__input")
    box.click()
    box.press_sequentially(word)
    results = page.locator(".md-search-result__item")
    try:
        results.first.wait_for(state="visible", timeout=10_000)
    except PlaywrightError as error:
        meta = page.locator(".md-search-result__meta").inner_text()
        msg = f"no search results for {word!r} appeared ({meta!r})"
        raise AssertionError(msg) from error
    return [title.strip() for title in results.locator("article > h1").all_inner_texts()]


def screenshots(out_dir: Path) -> list[Path]:
    """Build the site and write one screenshot per page of :data:`SCREENSHOTS` to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="docs-shots-") as tmp:
        site_dir, profile = Path(tmp) / "site", Path(tmp) / "profile"
        build(site_dir)
        with serve(site_dir) as base, browser(profile) as context:
            for name, path in SCREENSHOTS.items():
                with visit(context, base + path) as seen:
                    if seen.console_errors or seen.refused:
                        msg = f"{path}: {seen.console_errors} {seen.refused}"
                        raise RuntimeError(msg)
                    seen.page.screenshot(path=str(out_dir / name))
                written.append(out_dir / name)
    return written


def main(argv: list[str] | None = None) -> None:
    """``make screenshots``: regenerate the PNGs under the directory given."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out_dir", type=Path, help="where the PNGs go (docs/assets)")
    for path in screenshots(parser.parse_args(argv).out_dir):
        print(path)  # noqa: T201 - the make target's output: the files it wrote


if __name__ == "__main__":
    main()
