"""The search page in a real browser (Debian's chromium), with and without JavaScript, against a real index."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import SCREENSHOTS, unavailable

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("Playwright is missing: `pip install -e '.[test]'`", allow_module_level=True)

UKRAINE = "President of Ukraine"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# `make test` installs axe-core into the virtualenv (tests/package.json).
AXE = Path(sys.prefix) / "npm" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = {"serious", "critical"}


class Watch:
    """What a page did that it must not: dialogs, script errors, CSP refusals, requests off this machine."""

    def __init__(self):
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.offsite: list[str] = []


@pytest.fixture
def open_page(browser):
    """Return open(js=True, viewport=DESKTOP, bypass_csp=False) -> (page, watch); closes its contexts after."""
    contexts = []

    def guard(route, watch):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            watch.offsite.append(route.request.url)
            route.abort()

    def open_(*, js: bool = True, viewport: dict = DESKTOP, bypass_csp: bool = False):
        context = browser.new_context(java_script_enabled=js, viewport=viewport, bypass_csp=bypass_csp)
        contexts.append(context)
        watch = Watch()
        context.route("**/*", lambda route: guard(route, watch))
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("dialog", lambda dialog: (watch.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("pageerror", lambda error: watch.errors.append(str(error)))
        page.on("console", lambda message: message.type == "error" and watch.errors.append(message.text))
        return page, watch

    yield open_
    for context in contexts:
        context.close()


def query(page) -> dict[str, list[str]]:
    """Return the current URL's query parameters."""
    return parse_qs(urlsplit(page.url).query)


def hit_sources(page) -> set[str]:
    """Return the sources of the hits shown."""
    return set(page.locator(".hit-source").all_text_contents())


def hit_dates(page) -> list[str]:
    """Return the machine dates of the hits shown, in order."""
    return [time.get_attribute("datetime") for time in page.locator(".hit time").all()]


def test_search_flow_with_javascript(open_page, live_server):
    page, watch = open_page()
    page.goto(live_server + "/")
    # A full page load would forget this: the flow below must swap results in place.
    page.evaluate("window.stillTheSamePage = true")

    page.fill("#q", "war")
    page.press("#q", "Enter")
    expect(page).to_have_url(live_server + "/?q=war")
    expect(page.locator("#results-heading")).to_contain_text("for “war”")
    assert page.title().startswith("war – ")

    page.locator(f'input[name=source][value="{UKRAINE}"]').check()
    expect(page).to_have_url(re.compile(r"source=President\+of\+Ukraine"))
    expect(page.locator(".chip")).to_have_text(re.compile(f"Source: {UKRAINE}"))
    assert hit_sources(page) == {UKRAINE}
    expect(page.locator(f'input[name=source][value="{UKRAINE}"]')).to_be_focused()

    page.locator('#year-chart a[aria-label^="2022:"]').click()
    expect(page).to_have_url(re.compile(r"year=2022"))
    expect(page.locator("#month-chart")).to_be_visible()
    assert {d[:4] for d in hit_dates(page)} == {"2022"}

    page.fill("#date-from", "2022-03-01")
    page.fill("#date-to", "2022-05-31")
    page.get_by_role("button", name="Apply dates").click()
    expect(page).to_have_url(re.compile(r"from=2022-03-01&to=2022-05-31"))
    assert all("2022-03-01" <= d <= "2022-05-31" for d in hit_dates(page))

    page.get_by_role("link", name="Newest first").click()
    expect(page).to_have_url(re.compile(r"sort=newest"))
    expect(page.locator(".sort a[aria-current]")).to_have_text("Newest first")
    first_page = hit_dates(page)
    assert first_page == sorted(first_page, reverse=True)

    page.locator("a[rel=next]").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(page.locator(".pagination a[aria-current=page]")).to_have_text("2")
    assert hit_dates(page)[0] <= first_page[-1]
    assert query(page) == {
        "q": ["war"],
        "year": ["2022"],
        "source": [UKRAINE],
        "from": ["2022-03-01"],
        "to": ["2022-05-31"],
        "sort": ["newest"],
        "page": ["2"],
    }
    assert page.evaluate("window.stillTheSamePage") is True
    results_url = page.url

    title = page.locator(".hit-title a").first.text_content()
    page.locator(".hit-title a").first.click()
    expect(page).to_have_url(re.compile(r"/documents/\w+\?q=war$"))
    expect(page.locator("h1")).to_have_text(title)
    assert page.locator(".doc-body mark").count() > 0

    page.go_back()
    expect(page).to_have_url(results_url)
    expect(page.locator(".pagination a[aria-current=page]")).to_have_text("2")
    page.go_back()
    expect(page).to_have_url(re.compile(r"sort=newest$"))
    expect(page.locator(".pagination a[aria-current=page]")).to_have_text("1")
    assert watch.errors == [] and watch.dialogs == [] and watch.offsite == []


def test_back_button_restores_each_state(open_page, live_server):
    page, watch = open_page()
    page.goto(live_server + "/?q=sanctions")
    box = page.locator(f'input[name=source][value="{UKRAINE}"]')
    box.check()
    expect(page).to_have_url(re.compile(r"source="))
    page.locator('#year-chart a[aria-label^="2022:"]').click()
    expect(page).to_have_url(re.compile(r"year=2022"))

    page.go_back()
    expect(page).to_have_url(re.compile(r"source=President\+of\+Ukraine$"))
    expect(page.locator("#month-chart")).to_have_count(0)
    page.go_back()
    expect(page).to_have_url(live_server + "/?q=sanctions")
    expect(page.locator(f'input[name=source][value="{UKRAINE}"]')).not_to_be_checked()
    expect(page.locator("#q")).to_have_value("sanctions")
    page.go_forward()
    expect(page.locator(f'input[name=source][value="{UKRAINE}"]')).to_be_checked()
    assert watch.errors == []


def test_search_flow_without_javascript(open_page, live_server):
    page, watch = open_page(js=False)
    page.goto(live_server + "/")
    expect(page.locator("details.filters-panel")).to_have_attribute("open", "")
    expect(page.locator("[data-facet-filter]")).to_be_hidden()

    page.fill("#q", "war")
    page.press("#q", "Enter")
    expect(page.locator("#results-heading")).to_contain_text("for “war”")
    assert query(page)["q"] == ["war"]

    page.locator(f'input[name=source][value="{UKRAINE}"]').check()
    page.locator("button.apply-sources").click()
    expect(page.locator(".chip")).to_have_text(re.compile(f"Source: {UKRAINE}"))
    assert query(page)["source"] == [UKRAINE] and hit_sources(page) == {UKRAINE}

    page.locator('#year-chart a[aria-label^="2022:"]').click()
    expect(page.locator("#month-chart")).to_be_visible()
    assert query(page)["year"] == ["2022"]

    page.fill("#date-from", "2022-03-01")
    page.fill("#date-to", "2022-05-31")
    page.get_by_role("button", name="Apply dates").click()
    expect(page.locator(".chip")).to_have_count(4)
    assert query(page)["from"] == ["2022-03-01"] and query(page)["year"] == ["2022"]

    page.get_by_role("link", name="Oldest first").click()
    expect(page.locator(".sort a[aria-current]")).to_have_text("Oldest first")
    dates = hit_dates(page)
    assert dates == sorted(dates)

    page.locator("a[rel=next]").click()
    expect(page.locator(".pagination a[aria-current=page]")).to_have_text("2")
    results_url = page.url

    page.locator(".hit-title a").first.click()
    expect(page.locator(".doc-body")).to_be_visible()
    page.go_back()
    expect(page).to_have_url(results_url)
    expect(page.locator(".pagination a[aria-current=page]")).to_have_text("2")

    page.locator(".chip", has_text="Year: 2022").click()
    assert "year" not in query(page) and query(page)["source"] == [UKRAINE]
    page.locator(".clear-all").click()
    assert query(page) == {"q": ["war"], "sort": ["oldest"]}
    assert watch.dialogs == [] and watch.offsite == []


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
def test_language_facet_links_select_and_let_go(open_page, live_server, js):
    page, watch = open_page(js=js)
    page.goto(live_server + "/?q=MARA&year=2023")
    if js:
        # A full page load would forget this: following a facet link must swap results in place.
        page.evaluate("window.stillTheSamePage = true")
    languages = page.locator(".facet-languages")
    expect(languages.locator(".facet-name")).to_have_text(["беларуская", "Nederlands", "русский"])

    languages.get_by_role("link", name="беларуская").click()
    expect(page).to_have_url(re.compile(r"language=be"))
    expect(page.locator(".chip", has_text="Language: беларуская")).to_be_visible()
    expect(page.locator(".hit-language")).to_have_text(["Belarusian"] * page.locator("li.hit").count())
    languages.get_by_role("link", name="русский").click()
    expect(page).to_have_url(re.compile(r"language=be&language=ru"))
    expect(languages.locator("a[aria-current=true] .facet-name")).to_have_text(["беларуская", "русский"])
    assert query(page) == {"q": ["MARA"], "language": ["be", "ru"], "year": ["2023"]}
    assert set(page.locator(".hit-language").all_text_contents()) == {"Belarusian", "Russian"}

    # A new search from the box keeps the languages.
    page.fill("#q", "Kupalle OR Купалле")
    page.press("#q", "Enter")
    expect(page.locator("#results-heading")).to_contain_text("for “Kupalle OR Купалле”")
    assert query(page)["language"] == ["be", "ru"]

    languages.get_by_role("link", name=re.compile("^беларуская.*follow to remove")).click()
    expect(page).to_have_url(re.compile(r"\?q=[^&]+&language=ru&year=2023$"))
    expect(languages.locator("a[aria-current=true] .facet-name")).to_have_text(["русский"])
    if js:
        assert page.evaluate("window.stillTheSamePage") is True
        assert watch.errors == []
    assert watch.dialogs == [] and watch.offsite == []


def test_source_filter_box_and_show_all(open_page, live_server):
    page, _ = open_page()
    page.goto(live_server + "/")
    items = page.locator("#source-list li")
    total = items.count()
    assert total > 8
    expect(page.locator("#source-list li:visible")).to_have_count(8)
    more = page.get_by_role("button", name=f"Show all {total} sources")
    more.click()
    expect(page.locator("#source-list li:visible")).to_have_count(total)
    expect(page.get_by_role("button", name="Show fewer sources")).to_have_attribute("aria-expanded", "true")

    page.fill("#source-filter", "ukr")
    visible = page.locator("#source-list li:visible .facet-name").all_text_contents()
    assert visible and all("ukr" in name.lower() for name in visible)
    page.fill("#source-filter", "")
    expect(page.locator("#source-list li:visible")).to_have_count(total)


def test_keyboard_reaches_the_chart_and_shows_focus(open_page, live_server):
    page, _ = open_page()
    page.goto(live_server + "/?q=sanctions")
    page.focus("#q")
    page.keyboard.press("Tab")
    focused = page.evaluate("""() => {
        const el = document.activeElement; const style = getComputedStyle(el);
        return {text: el.textContent.trim(), outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
    }""")
    assert focused["text"] == "Search" and focused["outline"] == "solid" and focused["width"] >= 2
    page.locator("#year-chart a").last.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"year=\d{4}"))


def test_phone_layout_folds_the_filters(open_page, live_server):
    page, _ = open_page(viewport=PHONE)
    page.goto(live_server + "/?q=sanctions")
    panel = page.locator("details.filters-panel")
    expect(panel).not_to_have_attribute("open", "")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "nothing scrolls sideways"
    page.locator(".filters-summary").click()
    expect(page.locator("#year-chart")).to_be_visible()


def test_hostile_document_runs_nothing(open_page, live_server):
    page, watch = open_page()
    page.goto(live_server + "/?q=hostile+markup")
    title = page.locator(".hit-title a").first
    expect(title).to_contain_text("<script>alert(1)</script>")
    expect(title).to_contain_text("<img src=x onerror=alert(2)>")
    title.click()
    expect(page.locator("h1")).to_contain_text("<script>alert(1)</script>")
    expect(page.locator(".doc-body")).to_contain_text('<img src=x onerror="window.pwned = 2; alert(2)">')
    page.goto(live_server + "/?q=javascript+URL+never+link")
    page.locator(".hit-title a").first.click()
    expect(page.locator(".doc-meta")).to_contain_text("javascript:alert(3)")
    assert page.locator('a[href^="javascript:"]').count() == 0
    page.wait_for_timeout(200)
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.locator("img").count() == 0 and page.locator("svg[onload]").count() == 0
    assert watch.dialogs == [] and watch.errors == [] and watch.offsite == []


@pytest.fixture(scope="session")
def axe_source() -> str:
    """The axe-core script."""
    if not AXE.exists():
        unavailable(f"{AXE} is missing: `make test` installs axe-core with npm (tests/package.json)")
    return AXE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "path",
    [
        "/?q=sanctions&year=2022&source=President+of+Ukraine",
        "/?q=zzqx+sanctions&source=NAM-media",
        "/?q=sanctions&source=NAM-media&year=2022",
        "/?q=MARA&language=be&language=ru",
        "/documents/{doc}?q=sanctions",
        "/documents/{uk_doc}",
        "/documents/does-not-exist",
    ],
)
def test_no_serious_accessibility_violations(open_page, live_server, site_client, axe_source, path):
    results = site_client.get("/api/search?q=sanctions").get_json()["results"]
    everything = site_client.get("/api/search?per_page=100").get_json()["results"]
    path = path.format(doc=results[0]["id"], uk_doc=next(d["id"] for d in everything if d["language"] == "uk"))
    # The page's policy forbids injected scripts, axe included: this context alone lets it in.
    page, _ = open_page(bypass_csp=True)
    page.goto(live_server + path)
    page.add_script_tag(content=axe_source)
    violations = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    blocking = [
        (v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
        for v in violations
        if v["impact"] in BLOCKING_IMPACTS
    ]
    assert blocking == []


def test_screenshots(open_page, live_server, site_client):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page, watch = open_page()
    page.goto(live_server + "/?q=sanctions")
    page.screenshot(path=SCREENSHOTS / "search-desktop.png", full_page=True)
    page.goto(live_server + "/?q=sanctions&year=2022&source=President+of+Ukraine")
    page.screenshot(path=SCREENSHOTS / "search-filtered-desktop.png", full_page=True)
    page.goto(live_server + "/?q=sanctions&source=NAM-media&year=2022")
    page.screenshot(path=SCREENSHOTS / "no-results-desktop.png", full_page=True)
    doc = site_client.get("/api/search?q=sanctions").get_json()["results"][0]["id"]
    page.goto(f"{live_server}/documents/{doc}?q=sanctions")
    page.screenshot(path=SCREENSHOTS / "document-desktop.png", full_page=True)

    phone, phone_watch = open_page(viewport=PHONE)
    phone.goto(live_server + "/?q=sanctions")
    phone.screenshot(path=SCREENSHOTS / "search-phone.png", full_page=True)
    phone.locator(".filters-summary").click()
    phone.screenshot(path=SCREENSHOTS / "search-phone-filters.png")
    phone.goto(f"{live_server}/documents/{doc}?q=sanctions")
    phone.screenshot(path=SCREENSHOTS / "document-phone.png", full_page=True)
    for name in ("search-desktop", "search-phone", "document-desktop"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 10_000
    assert watch.errors == [] and phone_watch.errors == []
