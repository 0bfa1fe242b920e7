"""The HTML pages through Flask's test client: status, escaping, headers, and links that work without JavaScript."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from bs4 import BeautifulSoup

from searchapp import create_app
from searchapp.chart import month_chart, year_chart
from searchapp.display import date_text, language_name, releases
from searchapp.search import SearchRequest

NAM_SOURCE = "NAM-media"
UKRAINE = "President of Ukraine"


def soup(response) -> BeautifulSoup:
    """Parse an HTML response."""
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def params(href: str) -> list[tuple[str, str]]:
    """Return the query parameters of a link, in order."""
    return parse_qsl(urlsplit(href).query)


def api(client, **args) -> dict:
    """Return the JSON of /api/search for the same parameters."""
    return client.get("/api/search", query_string=args).get_json()


def doc_id(client, q: str) -> str:
    """Return the id of the first hit of a search."""
    return api(client, q=q)["results"][0]["id"]


# -- the search page --


def test_home_page_counts_every_release_and_keeps_an_empty_box(site_client):
    response = site_client.get("/")
    assert response.status_code == 200
    page = soup(response)
    total = api(site_client)["total"]
    assert page.select_one("#results-heading").get_text(" ", strip=True) == releases(total)
    form = page.select_one("form#search-form")
    assert form["method"] == "get" and form["action"] == "/"
    assert page.select_one("label[for=q]") and page.select_one("input#q")["value"] == ""
    assert page.select_one("main#main") and page.select_one("header") and page.select_one("footer")


def test_query_is_kept_and_results_show_source_date_and_snippet(site_client):
    page = soup(site_client.get("/?q=sanctions"))
    assert page.select_one("input#q")["value"] == "sanctions"
    expected = api(site_client, q="sanctions")
    heading = page.select_one("#results-heading").get_text(" ", strip=True)
    assert heading == f"{releases(expected['total'])} for “sanctions”"
    hits = page.select("li.hit")
    assert len(hits) == len(expected["results"]) == 10
    first = expected["results"][0]
    assert hits[0].select_one(".hit-title a")["href"] == f"/documents/{first['id']}?q=sanctions"
    assert hits[0].select_one(".hit-source").get_text() == first["source"]
    assert hits[0].select_one("mark").get_text().lower() == "sanctions"


def test_dates_read_with_their_precision(site_client):
    seed = soup(site_client.get("/?q=Dannigan"))
    assert seed.select_one(".hit .date").get_text() == "1 February, year unknown"
    undated = soup(site_client.get("/", query_string={"q": "undated appeal prisoners"}))
    assert undated.select_one(".hit .date-unknown").get_text() == "date unknown"
    dated = soup(site_client.get("/?q=Irish+Parliament+Chairpersons"))
    assert dated.select_one(".hit time")["datetime"] == "2022-05-20"
    assert dated.select_one(".hit time").get_text() == "20 May 2022"


@pytest.mark.parametrize(
    "iso, text",
    [
        (None, "date unknown"),
        ("", "date unknown"),
        ("2023-02-01", "1 February 2023"),
        ("2023-02", "February 2023"),
        ("2023", "2023"),
        ("--02-01", "1 February, year unknown"),
        ("--11", "November, year unknown"),
    ],
)
def test_date_text(iso, text):
    assert date_text(iso) == text


def test_other_languages_are_named_and_marked_with_lang(site_client):
    page = soup(site_client.get("/", query_string={"q": "MARA", "per_page": 50}))
    languages = {
        hit.select_one(".hit-title")["lang"]: hit.select_one(".hit-language").get_text()
        for hit in page.select("li.hit")
        if hit.select_one(".hit-title").has_attr("lang")
    }
    assert {"be": "Belarusian", "nl": "Dutch", "ru": "Russian"}.items() <= languages.items()
    english = [hit for hit in page.select("li.hit") if not hit.select_one(".hit-title").has_attr("lang")]
    assert all(hit.select_one(".hit-language") is None for hit in english)
    assert language_name("xx") == "xx"


def test_source_facet_is_a_get_form_of_checkboxes(site_client):
    page = soup(site_client.get("/", query_string=[("q", "sanctions"), ("source", UKRAINE)]))
    boxes = page.select("input[type=checkbox][name=source]")
    assert boxes and all(box["form"] == "search-form" for box in boxes)
    checked = [box["value"] for box in boxes if box.has_attr("checked")]
    assert checked == [UKRAINE]
    for box in boxes:
        label = page.select_one(f'label[for="{box["id"]}"]')
        assert label.select_one(".facet-name").get_text() == box["value"]
    # The sources counted without their own filter: the others stay offered.
    assert len(boxes) == len(api(site_client, q="sanctions", source=UKRAINE)["facets"]["source"]) > 1
    assert page.select_one("button[type=submit][form=search-form]")


def test_source_filter_box_only_when_many_sources(site_client):
    many = soup(site_client.get("/"))
    assert len(many.select("#source-list li")) >= 8
    box = many.select_one("[data-facet-filter]")
    assert box.has_attr("hidden"), "the filter box only works with JavaScript: it starts hidden"
    assert many.select_one('label[for="source-filter"]')
    few = soup(site_client.get("/?q=sanctions"))
    assert few.select_one("[data-facet-filter]") is None


def test_year_bars_are_plain_links_spanning_empty_years(site_client):
    page = soup(site_client.get("/?source=Baltic+Rights+Monitor&source=Refugee+Aid+Council"))
    bars = page.select("#year-chart a.bar")
    assert [bar["aria-label"] for bar in bars] == ["2019: 1 press release", "2021: 1 press release"]
    assert params(bars[1]["href"]) == [
        ("source", "Baltic Rights Monitor"),
        ("source", "Refugee Aid Council"),
        ("year", "2021"),
    ]
    assert len(page.select("#year-chart rect.bar-empty")) == 1, "2020 keeps its place, with no link"
    everything = soup(site_client.get("/"))
    years = [int(a["aria-label"][:4]) for a in everything.select("#year-chart a.bar")]
    assert years == list(range(2009, 2024))


def test_selected_year_links_off_and_shows_months(site_client):
    page = soup(site_client.get("/?q=sanctions&year=2022"))
    selected = page.select_one("#year-chart a.bar.selected")
    assert selected["aria-current"] == "true"
    assert params(selected["href"]) == [("q", "sanctions")]
    months = page.select("#month-chart a.bar")
    expected = {m["value"]: m["count"] for m in api(site_client, q="sanctions", year=2022)["facets"]["month"]}
    assert [int(parse_qs(urlsplit(a["href"]).query)["month"][0]) for a in months] == sorted(expected)
    assert params(months[0]["href"])[:2] == [("q", "sanctions"), ("year", "2022")]
    hidden = {(i["name"], i["value"]) for i in page.select("#form-state input[type=hidden]")}
    assert hidden == {("year", "2022")}, "a new search from the box keeps the year"


def test_undated_bucket_links_to_year_unknown(site_client):
    page = soup(site_client.get("/?q=prisoners"))
    link = page.select_one(".undated a")
    assert params(link["href"]) == [("q", "prisoners"), ("year", "unknown")]
    undated = soup(site_client.get(link["href"]))
    assert {hit.select_one(".date").get_text() for hit in undated.select("li.hit")} <= {
        "date unknown",
        "1 February, year unknown",
    }
    assert undated.select_one(".chip").get_text(strip=True).startswith("Date unknown")


def test_chips_remove_one_filter_and_clear_all(site_client):
    page = soup(
        site_client.get(
            "/",
            query_string=[
                ("q", "sanctions"),
                ("source", UKRAINE),
                ("source", NAM_SOURCE),
                ("year", "2022"),
                ("month", "3"),
                ("sort", "newest"),
            ],
        )
    )
    chips = {chip.get_text(strip=True).rstrip("×"): params(chip["href"]) for chip in page.select(".chip")}
    assert chips == {
        f"Source: {UKRAINE}": [
            ("q", "sanctions"),
            ("source", NAM_SOURCE),
            ("year", "2022"),
            ("month", "3"),
            ("sort", "newest"),
        ],
        f"Source: {NAM_SOURCE}": [
            ("q", "sanctions"),
            ("source", UKRAINE),
            ("year", "2022"),
            ("month", "3"),
            ("sort", "newest"),
        ],
        "Year: 2022": [("q", "sanctions"), ("source", UKRAINE), ("source", NAM_SOURCE), ("sort", "newest")],
        "Month: March 2022": [
            ("q", "sanctions"),
            ("source", UKRAINE),
            ("source", NAM_SOURCE),
            ("year", "2022"),
            ("sort", "newest"),
        ],
    }
    assert params(page.select_one(".clear-all")["href"]) == [("q", "sanctions"), ("sort", "newest")]


def test_date_range_inputs_keep_their_values(site_client):
    page = soup(site_client.get("/?q=sanctions&from=2022-03-01&to=2022-04-30"))
    assert page.select_one("#date-from")["value"] == "2022-03-01"
    assert page.select_one("#date-to")["value"] == "2022-04-30"
    assert page.select_one("#date-from")["form"] == "search-form"
    chips = [c.get_text(strip=True).rstrip("×") for c in page.select(".chip")]
    assert chips == ["From 1 March 2022", "To 30 April 2022"]
    total = api(site_client, q="sanctions", **{"from": "2022-03-01", "to": "2022-04-30"})["total"]
    assert page.select_one("#results-heading").get_text("", strip=True).startswith(releases(total))


def test_sort_and_pagination_are_plain_links(site_client):
    page = soup(site_client.get("/", query_string=[("q", "sanctions"), ("source", UKRAINE)]))
    sorts = {a.get_text(): params(a["href"]) for a in page.select(".sort a")}
    assert sorts == {
        "Relevance": [("q", "sanctions"), ("source", UKRAINE)],
        "Newest first": [("q", "sanctions"), ("source", UKRAINE), ("sort", "newest")],
        "Oldest first": [("q", "sanctions"), ("source", UKRAINE), ("sort", "oldest")],
    }
    assert page.select_one(".sort a[aria-current]").get_text() == "Relevance"
    following = page.select_one("a[rel=next]")
    assert params(following["href"]) == [("q", "sanctions"), ("source", UKRAINE), ("page", "2")]
    second = soup(site_client.get(following["href"]))
    assert second.select_one(".pagination a[aria-current=page]").get_text() == "2"
    assert params(second.select_one("a[rel=prev]")["href"]) == [("q", "sanctions"), ("source", UKRAINE)]
    assert second.select_one("ol.hits")["start"] == "11"


@pytest.mark.parametrize(
    "query, current",
    [
        ("", "Newest first"),
        ("sort=newest", "Newest first"),
        ("sort=relevance", "Newest first"),
        ("sort=oldest", "Oldest first"),
    ],
)
def test_browsing_without_words_offers_newest_or_oldest_first(site_client, query, current):
    page = soup(site_client.get(f"/?{query}"))
    # Nothing to rank by relevance: the default order is newest first, and has one address.
    sorts = {a.get_text(): params(a["href"]) for a in page.select(".sort a")}
    assert sorts == {"Newest first": [], "Oldest first": [("sort", "oldest")]}
    assert page.select_one(".sort a[aria-current]").get_text() == current
    assert page.select_one(".range-shown").get_text(" ", strip=True).endswith(f", {current.lower()}")


def test_page_past_the_end_links_to_the_last(site_client):
    page = soup(site_client.get("/?q=sanctions&page=40"))
    last = api(site_client, q="sanctions")["pages"]
    assert "past the end" in page.select_one(".no-results").get_text()
    assert params(page.select_one(".no-results a")["href"]) == [("q", "sanctions"), ("page", str(last))]


def test_did_you_mean_is_a_link(site_client):
    page = soup(site_client.get("/?q=sanctoins"))
    link = page.select_one(".suggestion a")
    assert link.get_text() == "sanctions" and params(link["href"]) == [("q", "sanctions")]


def test_no_results_names_the_search_and_the_filters_to_drop(site_client):
    page = soup(site_client.get("/", query_string=[("q", "sanctions"), ("source", NAM_SOURCE), ("year", "2022")]))
    box = page.select_one(".no-results")
    assert "No press releases match “sanctions” with these filters." in box.get_text(" ", strip=True)
    offered = {
        a.get_text(): (params(a["href"]), a.find_next_sibling(class_="count").get_text())
        for a in box.select(".alternatives a")
    }
    assert offered == {
        f"Remove “Source: {NAM_SOURCE}”": (
            [("q", "sanctions"), ("year", "2022")],
            releases(api(site_client, q="sanctions", year=2022)["total"]),
        ),
        "Remove “Year: 2022”": ([("q", "sanctions"), ("source", NAM_SOURCE)], "1 press release"),
        "Remove all filters": ([("q", "sanctions")], releases(api(site_client, q="sanctions")["total"])),
    }
    assert page.select_one(".tips")


def test_query_syntax_help_is_on_the_page(site_client):
    help_text = soup(site_client.get("/")).select_one("details.syntax-help").get_text(" ")
    for example in ('"war crimes"', "OR", "-russia", "deport*", "title:", "source:"):
        assert example in help_text


def test_json_and_feed_twins_carry_the_same_parameters(site_client):
    page = soup(site_client.get("/", query_string=[("q", "sanctions"), ("source", UKRAINE), ("page", "2")]))
    twin = page.select_one("#json-twin")["href"]
    assert twin.startswith("/api/search?") and params(twin) == [("q", "sanctions"), ("source", UKRAINE), ("page", "2")]
    assert page.select_one('link[rel=alternate][type="application/json"]')["href"] == twin
    assert site_client.get(twin).get_json()["query"]["page"] == 2
    assert params(page.select_one("#feed-link")["href"]) == [("q", "sanctions"), ("source", UKRAINE)]


# -- escaping --


def test_hostile_text_is_escaped_everywhere(site_client):
    raw = site_client.get("/?q=hostile+markup").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert "<script>alert" not in raw and "<img src=x" not in raw
    page = BeautifulSoup(raw, "html.parser")
    assert not page.select("img") and all(script.has_attr("src") for script in page.select("script"))
    document = site_client.get(f"/documents/{doc_id(site_client, 'hostile markup')}?q=hostile").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in document and "&lt;img src=x onerror=" in document
    assert "<script>alert" not in document and "<img src=x" not in document


def test_query_text_is_escaped(site_client):
    raw = site_client.get("/", query_string={"q": '"><script>alert(5)</script>'}).get_data(as_text=True)
    assert "<script>alert(5)" not in raw
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in raw


def test_a_javascript_url_never_becomes_a_link(site_client):
    response = site_client.get(f"/documents/{doc_id(site_client, 'javascript URL never link')}")
    page = soup(response)
    assert not [a for a in page.select("a[href]") if a["href"].lower().startswith("javascript:")]
    assert "javascript:alert(3)" in page.select_one(".doc-meta").get_text()


def test_pages_have_no_inline_script_or_style(site_client):
    for url in (
        "/",
        "/?q=sanctions&year=2022",
        "/?q=zzzzqqq",
        f"/documents/{doc_id(site_client, 'sanctions')}",
        "/documents/nope",
        "/?year=abc",
    ):
        page = soup(site_client.get(url))
        assert all(script.has_attr("src") for script in page.select("script")), url
        assert not page.select("style") and not page.select("[style]"), url
        assert not [el for el in page.find_all(True) if any(a.startswith("on") for a in el.attrs)], url


# -- headers --


@pytest.mark.parametrize(
    "url, status",
    [
        ("/", 200),
        ("/?q=sanctions", 200),
        ("/documents/nope", 404),
        ("/?year=abc", 400),
    ],
)
def test_security_headers_on_html(site_client, url, status):
    response = site_client.get(url)
    assert response.status_code == status
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "frame-ancestors 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_embed_script_is_served_to_any_site(site_client):
    response = site_client.get("/embed.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response.headers
    assert "document.currentScript" in response.get_data(as_text=True)
    again = site_client.get("/embed.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


# -- the document page --


def test_document_page_shows_text_with_marks_and_links(site_client):
    doc = api(site_client, q="Mortgage Fraud Summit")["results"][0]
    response = site_client.get(f"/documents/{doc['id']}?q=fraud")
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("h1").get_text() == doc["title"]
    meta = {
        dt.get_text(): dd.get_text(" ", strip=True)
        for dt, dd in zip(page.select(".doc-meta dt"), page.select(".doc-meta dd"))
    }
    assert meta["Source"] == "U.S. Department of Justice" and meta["Date"] == "24 February 2010"
    assert meta["Language"] == "English" and meta["Original"].startswith("https://www.justice.gov/opa/pr/")
    assert page.select_one("a.original")["href"] == doc["url"]
    paragraphs = page.select(".doc-body p")
    assert len(paragraphs) > 1
    assert {m.get_text().lower() for m in page.select(".doc-body mark")} == {"fraud"}
    assert page.select_one("#json-twin")["href"] == f"/api/documents/{doc['id']}"
    assert site_client.get(f"/api/documents/{doc['id']}").get_json()["document"]["title"] == doc["title"]
    similar = page.select(".more-like-this a")
    assert similar and all(a["href"].startswith("/documents/") for a in similar)
    assert params(page.select_one(".back a")["href"]) == [("q", "fraud")]


def test_document_in_another_language_has_lang(site_client):
    doc = api(site_client, q="MARA", source="Belarusians in the Netherlands / MARA (belarusians.nl)")["results"]
    ukrainian = next(d for d in api(site_client, per_page=100)["results"] if d["language"] == "uk")
    for item in doc[:1] + [ukrainian]:
        page = soup(site_client.get(f"/documents/{item['id']}"))
        assert page.select_one("h1")["lang"] == item["language"]
        assert page.select_one(".doc-body")["lang"] == item["language"]


def test_document_without_query_has_no_marks(site_client):
    page = soup(site_client.get(f"/documents/{doc_id(site_client, 'sanctions')}"))
    assert not page.select(".doc-body mark") and page.select_one(".back") is None


# -- errors --


def test_unknown_document_is_a_404_page(site_client):
    response = site_client.get("/documents/does-not-exist")
    assert response.status_code == 404
    page = soup(response)
    assert "No press release with id 'does-not-exist'" in page.select_one(".error-message").get_text()
    assert page.select_one("header .brand") and page.select_one(".error-page a")["href"] == "/"


def test_unknown_path_is_a_404_page(site_client):
    response = site_client.get("/no/such/page")
    assert response.status_code == 404 and response.mimetype == "text/html"


@pytest.mark.parametrize(
    "query, parameter, without",
    [
        ("q=sanctions&year=abc&month=2", "year", [("q", "sanctions")]),
        ("q=sanctions&sort=sideways&page=2", "sort", [("q", "sanctions")]),
        ("from=2023-13-45&q=war", "from", [("q", "war")]),
    ],
)
def test_bad_parameter_is_a_400_page_naming_it(site_client, query, parameter, without):
    response = site_client.get(f"/?{query}")
    assert response.status_code == 400 and response.mimetype == "text/html"
    page = soup(response)
    assert page.select_one(".error-message").get_text().startswith(f"{parameter}:")
    assert page.select_one(".error-page code").get_text() == parameter
    assert params(page.select_one(".error-page a")["href"]) == without


def test_no_index_is_a_503_page_naming_the_command(tmp_path):
    client = create_app({"TESTING": True, "INDEX": str(tmp_path / "missing")}).test_client()
    for url in ("/", "/documents/abc"):
        response = client.get(url)
        assert response.status_code == 503 and response.mimetype == "text/html"
        assert "searchapp reindex" in soup(response).select_one(".error-page").get_text()
        assert "Content-Security-Policy" in response.headers
    api_response = client.get("/api/search")
    assert api_response.status_code == 503 and api_response.get_json()["ok"] is False


@pytest.mark.parametrize(
    "url, status",
    [
        ("/api/no-such-endpoint", 404),
        ("/api/search?year=abc", 400),
        ("/api/documents/nope", 404),
    ],
)
def test_api_errors_are_json(site_client, url, status):
    response = site_client.get(url)
    assert response.status_code == status and response.mimetype == "application/json"
    body = response.get_json()
    assert body["ok"] is False and body["status"] == status and body["error"]


def test_api_method_not_allowed_is_json(site_client):
    response = site_client.post("/api/search")
    assert response.status_code == 405 and response.get_json()["status"] == 405


# -- pieces --


def test_charts_are_left_out_when_nothing_is_dated():
    def link(**changes):
        return ""

    assert year_chart([], SearchRequest(), link) is None
    selected_but_empty = [{"value": 2022, "count": 0, "selected": True}]
    assert year_chart(selected_but_empty, SearchRequest(year=2022), link) is None
    assert month_chart([{"value": 3, "count": 0, "selected": True}], SearchRequest(year=2022, month=3), link) is None
    assert month_chart([{"value": 3, "count": 2, "selected": False}], SearchRequest(), link) is None


def test_month_and_from_parameters_round_trip_through_links(site_client):
    # Every link on a busy page parses back into a valid search.
    busy = [
        ("q", "war"),
        ("year", "2022"),
        ("month", "3"),
        ("from", "2022-03-05"),
        ("source", UKRAINE),
        ("sort", "oldest"),
        ("page", "2"),
    ]
    page = soup(site_client.get("/", query_string=busy))
    links = [a["href"] for a in page.select("#region a[href]") if a["href"].startswith("/?")]
    assert len(links) > 10
    for href in links:
        assert site_client.get(href).status_code == 200, href
        SearchRequest.from_args(parse_qs(urlsplit(href).query))


def test_no_js_region_markup(site_client):
    # The filters start open for browsers without JavaScript; the script folds them on a phone.
    page = soup(site_client.get("/"))
    assert page.select_one("details.filters-panel").has_attr("open")
    assert re.search(r"<script src=\"/static/search.js\" defer>", site_client.get("/").get_data(as_text=True))
