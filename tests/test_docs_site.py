"""The built user guide: cross-references as links, values not code, and how it looks.

The HTML checks read the session's build (``docs_site``, tests/conftest.py). The browser
checks load pages of it, served on loopback, in headless Chromium (Debian's package,
``make chromium``) and look at what a reader sees: no console error, no request outside
the site, highlighted code, a search box that finds things.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext

from support.docs_site import browser, search, serve, visit

RAW_ROLE = re.compile(r":(class|meth|func|attr|exc|mod|data|obj|const):")
CODE = re.compile(r"<code>.*?</code>", re.DOTALL)


def html_of(site: Path, page: str) -> str:
    """The built HTML of ``page`` (a directory of the site, like ``api/transport``)."""
    return (site / page / "index.html").read_text(encoding="utf-8")


def prose(html_text: str) -> str:
    """``html_text`` without the contents of its code elements (where a role may be quoted)."""
    return CODE.sub("<code></code>", html_text)


def test_no_raw_sphinx_role_is_left_in_the_built_pages(docs_site: Path) -> None:
    """No page of the site shows a Sphinx role (:class:, :meth:, ...) as text."""
    raw = {
        str(page.relative_to(docs_site)): len(found)
        for page in sorted(docs_site.glob("**/*.html"))
        if (found := RAW_ROLE.findall(prose(page.read_text(encoding="utf-8"))))
    }
    assert raw == {}


def test_the_role_check_sees_roles_outside_code() -> None:
    """A role rendered as the API pages showed them before is found; one quoted as code not."""
    leaked = "the :class:<code>Transport</code> contract"
    quoted = "<code>:class:`Transport`</code> becomes a link"
    assert (len(RAW_ROLE.findall(prose(leaked))), RAW_ROLE.findall(prose(quoted))) == (1, [])


def test_a_class_role_is_a_link_to_the_class(docs_site: Path) -> None:
    """`:class:`Transport`` in the transport module's docstring links to Transport's entry."""
    built = html_of(docs_site, "api/transport")
    expected = (
        'Pluggable transports: the <a class="autorefs autorefs-internal" '
        'href="#flowintegrations.transport.Transport"><code>Transport</code></a> contract'
    )
    assert expected in built


def test_a_method_role_links_to_the_method_of_its_own_class(docs_site: Path) -> None:
    """`:meth:`start`` in App's docstring links to App.start, shown as start()."""
    built = html_of(docs_site, "api/flowintegrations")
    expected = (
        'Lifecycle: <a class="autorefs autorefs-internal" '
        'href="#flowintegrations.App.start"><code>start()</code></a> joins the consumer group'
    )
    assert expected in built


def test_a_role_across_pages_links_to_the_other_page(docs_site: Path) -> None:
    """A role naming an object of another API page links there (App -> errors page)."""
    built = html_of(docs_site, "api/flowintegrations")
    link = re.search(
        r'<a class="autorefs autorefs-internal" href="([^"]+)"><code>TransportClosedError</code>',
        built,
    )
    assert link is not None
    assert link[1] in {
        "../errors/#flowintegrations.errors.TransportClosedError",
        "#flowintegrations.TransportClosedError",
    }


INSTANCE_ATTRIBUTE = re.compile(
    r'<h\d id="(?P<id>[\w.]+)" class="doc doc-heading">(?:(?!</h\d>|class-attribute).)*'
    r"doc-label-instance-attribute(?:(?!</h\d>|class-attribute).)*</h\d>\s*"
    r'<div class="language-python doc-signature highlight"><pre><span></span><code>'
    r"(?P<signature>.*?)</code>",
    re.DOTALL,
)


def test_instance_attributes_show_their_type_not_the_code_that_sets_them(
    docs_site: Path,
) -> None:
    """App.transport reads `transport: Transport`; no attribute set in __init__ shows `= ...`."""
    built = html_of(docs_site, "api/flowintegrations")
    signatures = {
        match["id"]: re.sub(r"<[^>]+>", "", match["signature"]).strip()
        for match in INSTANCE_ATTRIBUTE.finditer(built)
    }
    assert signatures["flowintegrations.App.transport"] == "transport: Transport"
    assert [name for name, text in signatures.items() if "=" in text] == []
    assert len(signatures) > 10


def test_notes_and_warnings_are_admonitions(docs_site: Path) -> None:
    """Getting started's note and warning render as Material admonition boxes."""
    titles = re.findall(
        r'<div class="admonition (\w+)">\s*<p class="admonition-title">([^<]+)</p>',
        html_of(docs_site, "getting-started"),
    )
    assert titles == [("note", "A few things to notice"), ("warning", "The topics must exist")]


SIGNATURE = re.compile(
    r'<h\d id="(?P<id>[\w.]+)" class="doc doc-heading">(?:(?!</h\d>).)*</h\d>\s*'
    r'<div class="language-python doc-signature highlight"><pre><span></span><code>'
    r"(?P<signature>.*?)</code>",
    re.DOTALL,
)


def signatures(site: Path) -> dict[str, str]:
    """The signature line of every object of every API page, as text, by the object's id."""
    found = {}
    for page in sorted((site / "api").glob("*/index.html")):
        for match in SIGNATURE.finditer(page.read_text(encoding="utf-8")):
            found[match["id"]] = html.unescape(re.sub(r"<[^>]+>", "", match["signature"])).strip()
    return found


def test_fields_show_their_defaults_not_the_field_call(docs_site: Path) -> None:
    """Fields of attrs classes read `attempts: int = 3`, `... = FrozenDict()`, or no default."""
    shown = signatures(docs_site)
    assert shown["flowintegrations.Retry.attempts"] == "attempts: int = 3"
    assert shown["flowintegrations.Example.headers"] == "headers: Mapping[str, str] = FrozenDict()"
    assert shown["flowintegrations.Property.name"] == "name: str"
    assert [name for name, text in shown.items() if "field(" in text] == []


def test_code_is_highlighted_when_the_site_is_built(docs_site: Path) -> None:
    """Getting started's code carries Pygments' classes in the built HTML."""
    built = html_of(docs_site, "getting-started")
    expected = (
        '<span class="kn">from</span><span class="w"> </span>'
        '<span class="nn">flowintegrations</span>'
    )
    assert expected in built


EXTERNAL = re.compile(r'<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)="(?:https?:)?//')


def test_no_page_loads_anything_from_elsewhere(docs_site: Path) -> None:
    """No page of the site loads a script, stylesheet, font or image from another host."""
    external = {
        str(page.relative_to(docs_site)): len(found)
        for page in sorted(docs_site.glob("**/*.html"))
        if (found := EXTERNAL.findall(page.read_text(encoding="utf-8")))
    }
    assert external == {}


@pytest.fixture(scope="module")
def chromium(
    docs_site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, BrowserContext]]:
    """The built site's base URL on loopback, and headless Chromium with a fresh profile."""
    with serve(docs_site) as base, browser(tmp_path_factory.mktemp("profile")) as context:
        yield base, context


def test_getting_started_in_a_browser(chromium: tuple[str, BrowserContext]) -> None:
    """Getting started loads with no console error, nothing fetched from outside the site."""
    base, context = chromium
    with visit(context, base + "getting-started/") as seen:
        page = seen.page
        assert page.title() == "Getting started - flowintegrations"
        assert (seen.console_errors, seen.refused) == ([], [])
        keyword = page.locator("div.language-python.highlight span.kn").first
        name = page.locator("div.language-python.highlight span.n").first
        colour = "el => getComputedStyle(el).color"
        assert keyword.inner_text() == "from"
        assert keyword.evaluate(colour) != name.evaluate(colour)
        blocks = page.locator("div.highlight").count()
        page.locator("[data-clipboard-target]").first.wait_for()
        assert page.locator("[data-clipboard-target]").count() == blocks


def test_the_search_box_finds_pages(chromium: tuple[str, BrowserContext]) -> None:
    """Typing a word into the search box lists the pages that hold it."""
    base, context = chromium
    with visit(context, base + "getting-started/") as seen:
        titles = search(seen.page, "EngineClient")
        assert "The engine's side: EngineClient" in titles
        assert (seen.console_errors, seen.refused) == ([], [])


def test_an_api_page_in_a_browser(chromium: tuple[str, BrowserContext]) -> None:
    """The transport API page: no console error, highlighted signatures, working links."""
    base, context = chromium
    with visit(context, base + "api/transport/") as seen:
        page = seen.page
        assert (seen.console_errors, seen.refused) == ([], [])
        assert page.locator(".doc-signature span.n").count() > 0
        page.locator("a.autorefs-internal", has_text="Transport").first.click()
        assert page.url == base + "api/transport/#flowintegrations.transport.Transport"


def test_the_palette_switches_to_dark(chromium: tuple[str, BrowserContext]) -> None:
    """The header's toggle switches the light palette to the dark one (slate)."""
    base, context = chromium
    with visit(context, base) as seen:
        body = seen.page.locator("body")
        assert body.get_attribute("data-md-color-scheme") == "default"
        seen.page.locator("label[title='Dark mode']").first.click()
        assert body.get_attribute("data-md-color-scheme") == "slate"
