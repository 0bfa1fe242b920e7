"""The embed widget on another site's page: a second 127.0.0.1 port serves a page with the two-line snippet."""

from __future__ import annotations

import os
import re

import pytest

from conftest import SCREENSHOTS

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("Playwright is missing: `pip install -e '.[test]'`", allow_module_level=True)

UKRAINE = "President of Ukraine"
# The partner page styles itself with an inline <style>: it is their page, not ours.
HOST_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>A partner's news page</title>
<style>
body {{ font-family: "DejaVu Serif", serif; color: rgb(40, 30, 90); max-width: 40rem; margin: 2rem auto; }}
</style>
</head>
<body>
<h1>News from our partners</h1>
<p>Search the press releases of human-rights groups below.</p>
<script src="{origin}/embed.js" defer></script>
<div data-searchapp{attributes}></div>
</body>
</html>
"""


@pytest.fixture(scope="session")
def partner_site(tmp_path_factory, live_server):
    """Another site (another port, so another origin) with the snippet: index.html plain, preset.html with a source,
    language.html with a language."""
    from site_fixtures import serve_folder

    folder = tmp_path_factory.mktemp("partner")
    (folder / "index.html").write_text(
        HOST_PAGE.format(origin=live_server, attributes=' data-per-page="4"'), encoding="utf-8"
    )
    (folder / "preset.html").write_text(
        HOST_PAGE.format(origin=live_server, attributes=' data-source="nam"'), encoding="utf-8"
    )
    (folder / "language.html").write_text(
        HOST_PAGE.format(origin=live_server, attributes=' data-language="Belarusian"'), encoding="utf-8"
    )
    with serve_folder(folder) as url:
        yield url


@pytest.fixture
def partner_page(browser):
    """A page in a fresh context, recording dialogs, errors and every request; only 127.0.0.1 is reachable."""
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    record = {"dialogs": [], "errors": [], "requests": []}

    def guard(route):
        record["requests"].append(route.request.url)
        if route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("dialog", lambda dialog: (record["dialogs"].append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: record["errors"].append(str(error)))
    page.on("console", lambda message: message.type == "error" and record["errors"].append(message.text))
    yield page, record
    context.close()


def test_widget_renders_searches_and_filters_by_source(partner_page, partner_site, live_server, site_client):
    page, record = partner_page
    expected = site_client.get("/api/search", query_string={"q": "sanctions", "source": UKRAINE}).get_json()["total"]
    page.goto(partner_site + "/index.html")
    hits = page.locator(".searchapp-hit")
    expect(hits).to_have_count(4)
    expect(page.locator(".searchapp-status")).to_contain_text("newest first")
    # The widget takes the host's font and colour.
    style = page.evaluate("getComputedStyle(document.querySelector('.searchapp-embed'))")
    assert "DejaVu Serif" in style["fontFamily"] and style["color"] == "rgb(40, 30, 90)"

    page.get_by_label("Search press releases").fill("sanctions")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator(".searchapp-status")).to_contain_text("for “sanctions”")
    expect(hits.first.locator("mark").first).to_have_text(re.compile("sanctions", re.I))
    assert any(url.startswith(live_server + "/api/search?q=sanctions") for url in record["requests"])

    facet = page.locator(".searchapp-facet", has_text=re.compile(rf"^{UKRAINE} \("))
    facet.click()
    expect(facet).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".searchapp-status")).to_contain_text(f"{expected} press releases for “sanctions”")
    metas = page.locator(".searchapp-meta").all_text_contents()
    assert metas and all(meta.startswith(f"{UKRAINE} · ") for meta in metas)
    assert hits.first.locator("a").get_attribute("href").startswith("https://www.president.gov.ua/")

    page.locator(".searchapp-more").click()
    expect(hits).to_have_count(8)
    assert record["dialogs"] == [] and record["errors"] == []

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "embed-partner-page.png", full_page=True)


def test_widget_styles_only_its_own_classes(partner_page, partner_site):
    page, _ = partner_page
    page.goto(partner_site + "/index.html")
    expect(page.locator(".searchapp-hit").first).to_be_visible()
    selectors = page.evaluate("""() => [...document.adoptedStyleSheets, ...document.styleSheets]
        .filter(sheet => !sheet.ownerNode || sheet.ownerNode.id === 'searchapp-embed-styles')
        .flatMap(sheet => [...sheet.cssRules].map(rule => rule.selectorText))""")
    assert selectors and all(s.startswith(".searchapp-embed") for s in selectors)
    assert page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily").startswith('"DejaVu Serif"')


def test_preset_source(partner_page, partner_site):
    # A preset by part of the name, as a partner may write it, selects the source it names.
    page, _ = partner_page
    page.goto(partner_site + "/preset.html")
    expect(page.locator(".searchapp-hit")).to_have_count(1)
    pressed = page.locator(".searchapp-facet[aria-pressed=true]")
    expect(pressed).to_have_text("NAM-media (1)")
    expect(page.locator(".searchapp-meta")).to_have_text("NAM-media · 1 February, year unknown")
    # Its facet lets go of it like any other.
    pressed.click()
    expect(pressed).to_have_count(0)
    expect(page.locator(".searchapp-hit")).to_have_count(5)  # the default page of the widget


def test_widget_filters_by_language_by_its_own_name(partner_page, partner_site, site_client):
    page, record = partner_page
    counts = {
        v["value"]: v["count"]
        for v in site_client.get("/api/search", query_string={"q": "MARA"}).get_json()["facets"]["language"]
    }
    page.goto(partner_site + "/index.html")
    page.get_by_label("Search press releases").fill("MARA")
    page.get_by_label("Search press releases").press("Enter")
    languages = page.locator(".searchapp-languages .searchapp-facet")
    expect(languages).to_have_text(
        [f"Nederlands ({counts['nl']})", f"беларуская ({counts['be']})", f"русский ({counts['ru']})"]
    )
    expect(languages.nth(1).locator("span")).to_have_attribute("lang", "be")

    languages.nth(1).click()
    expect(languages.nth(1)).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".searchapp-status")).to_contain_text(f"{counts['be']} press releases for “MARA”")
    expect(page.locator(".searchapp-title").first).to_have_attribute("lang", "be")
    assert page.locator(".searchapp-all").get_attribute("href").endswith("/?q=MARA&language=be")
    assert record["dialogs"] == [] and record["errors"] == []


def test_preset_language(partner_page, partner_site, site_client):
    # A preset by the language's English name selects the language it names, shown by its own name.
    page, _ = partner_page
    page.goto(partner_site + "/language.html")
    belarusian = site_client.get("/api/search", query_string={"language": "be"}).get_json()["total"]
    expect(page.locator(".searchapp-status")).to_have_text(f"{belarusian} press releases, newest first")
    pressed = page.locator(".searchapp-languages .searchapp-facet[aria-pressed=true]")
    expect(pressed).to_have_text(f"беларуская ({belarusian})")
    pressed.click()
    expect(pressed).to_have_count(0)
    expect(page.locator(".searchapp-status")).not_to_have_text(f"{belarusian} press releases, newest first")


def test_hostile_text_stays_text_in_the_widget(partner_page, partner_site, live_server):
    page, record = partner_page
    page.goto(partner_site + "/index.html")
    page.get_by_label("Search press releases").fill("hostile markup")
    page.get_by_label("Search press releases").press("Enter")
    title = page.locator(".searchapp-title").first
    expect(title).to_contain_text("<script>alert(1)</script> on <img src=x onerror=alert(2)>")
    expect(page.locator(".searchapp-snippet").first).to_contain_text('<img src=x onerror="window.pwned = 2')
    assert page.locator(".searchapp-embed img, .searchapp-embed script").count() == 0

    page.get_by_label("Search press releases").fill("javascript URL never link")
    page.get_by_label("Search press releases").press("Enter")
    expect(page.locator(".searchapp-title").first).to_contain_text('"><svg onload=alert(4)>')
    href = page.locator(".searchapp-title").first.get_attribute("href")
    assert href.startswith(live_server + "/documents/")
    page.wait_for_timeout(200)
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert record["dialogs"] == [] and record["errors"] == []
