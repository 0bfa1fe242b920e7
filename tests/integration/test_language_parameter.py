"""The language facet and filter: the API, the page (plain links with each language's own name), the feed, the CLI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlsplit

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from indexer.index.reindex import reindex
from searchapp import create_app
from searchapp.cli import cli
from searchapp.index_check import check_index_state

from search_backends import index_options

UKRAINE = "President of Ukraine"
MARA = "Belarusians in the Netherlands / MARA (belarusians.nl)"
ATOM = "{http://www.w3.org/2005/Atom}"
# The bundled corpus's languages, each by its own name.
OWN_NAMES = {"en": "English", "uk": "українська", "be": "беларуская", "ru": "русский", "nl": "Nederlands"}
ENGLISH_NAMES = {"uk": "Ukrainian", "be": "Belarusian", "ru": "Russian", "nl": "Dutch"}


def api(client, *args: tuple[str, str]):
    """Return the response of /api/search for these parameters."""
    return client.get("/api/search", query_string=list(args))


def language_counts(client, *args: tuple[str, str]) -> dict[str, int]:
    """Return the releases per language of a search."""
    return {v["value"]: v["count"] for v in api(client, *args).get_json()["facets"]["language"]}


def soup(response) -> BeautifulSoup:
    """Parse an HTML response."""
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def params(href: str) -> list[tuple[str, str]]:
    """Return the query parameters of a link, in order."""
    return parse_qsl(urlsplit(href).query)


# -- the API --


def test_the_facet_counts_every_release_once_with_each_languages_own_name(site_client):
    data = api(site_client).get_json()
    facet = data["facets"]["language"]
    assert {v["value"]: v["name"] for v in facet} == OWN_NAMES
    assert sum(v["count"] for v in facet) == data["total"]
    assert [v["count"] for v in facet] == sorted((v["count"] for v in facet), reverse=True)
    assert not any(v["selected"] or v["unknown"] for v in facet)


@pytest.mark.parametrize("language", sorted(OWN_NAMES))
def test_one_language_selects_its_releases(site_client, language):
    data = api(site_client, ("language", language)).get_json()
    assert data["query"]["language"] == [language]
    assert data["total"] == language_counts(site_client)[language] > 0
    assert {hit["language"] for hit in data["results"]} == {language}


def test_two_languages_are_either_and_the_facet_ignores_its_own_filter(site_client):
    counts = language_counts(site_client)
    data = api(site_client, ("language", "uk"), ("language", "be")).get_json()
    assert data["query"]["language"] == ["uk", "be"]
    assert data["total"] == counts["uk"] + counts["be"]
    assert {v["value"]: v["count"] for v in data["facets"]["language"]} == counts
    assert [v["value"] for v in data["facets"]["language"] if v["selected"]] == sorted(
        ["uk", "be"], key=lambda code: -counts[code]
    )


def test_the_other_facets_count_with_the_language_applied_and_narrow_it(site_client):
    data = api(site_client, ("q", "MARA"), ("language", "be")).get_json()
    assert data["total"] == language_counts(site_client, ("q", "MARA"))["be"] > 0
    assert sum(v["count"] for v in data["facets"]["source"]) == data["total"]
    assert sum(v["count"] for v in data["facets"]["year"]) + data["facets"]["undated"]["count"] == data["total"]
    by_source = api(site_client, ("source", UKRAINE)).get_json()
    assert sum(language_counts(site_client, ("source", UKRAINE)).values()) == by_source["total"]
    both = api(site_client, ("source", UKRAINE), ("language", "en")).get_json()
    assert both["total"] == language_counts(site_client, ("source", UKRAINE))["en"]


@pytest.mark.parametrize("language", ["uk", "be", "nl"])
def test_language_typed_in_the_query_is_the_same_filter(site_client, language):
    typed = api(site_client, ("q", f"language:{language}"), ("per_page", "100")).get_json()
    chosen = api(site_client, ("language", language), ("per_page", "100")).get_json()
    assert typed["total"] == chosen["total"] > 0
    assert {hit["id"] for hit in typed["results"]} == {hit["id"] for hit in chosen["results"]}
    assert {v["value"] for v in typed["facets"]["language"]} == {language}


@pytest.mark.parametrize("typed", ["language:UK", "language:ukrainian", "language:Українська", 'language:"Ukrainian"'])
def test_a_language_typed_in_the_query_may_be_named_as_the_parameter_names_it(site_client, typed):
    named = api(site_client, ("q", f"{typed} zelensky"), ("per_page", "100")).get_json()
    coded = api(site_client, ("q", "language:uk zelensky"), ("per_page", "100")).get_json()
    assert named["total"] == coded["total"] > 0
    assert [hit["id"] for hit in named["results"]] == [hit["id"] for hit in coded["results"]]
    assert named["query"]["q"] == f"{typed} zelensky"
    without = api(site_client, ("q", f"zelensky -{typed}"), ("per_page", "100")).get_json()
    assert without["total"] == api(site_client, ("q", "zelensky -language:uk")).get_json()["total"] > 0
    assert "uk" not in {v["value"] for v in without["facets"]["language"]}


def test_a_language_typed_in_the_query_that_the_index_has_not_is_a_400_naming_the_languages_it_has(site_client):
    response = api(site_client, ("q", "sanctions language:klingon"))
    assert response.status_code == 400
    assert response.get_json()["parameter"] == "q"
    assert response.get_json()["error"] == (
        'q: language:"klingon" is not a language of the index; it has be (беларуская), en (English), '
        "nl (Nederlands), ru (русский), uk (українська)"
    )


@pytest.mark.parametrize("given", ["xx", "Klingon", "de"])
def test_a_language_the_index_has_not_is_a_400_naming_the_languages_it_has(site_client, given):
    response = api(site_client, ("q", "sanctions"), ("language", given))
    assert response.status_code == 400
    assert response.get_json() == {
        "ok": False,
        "status": 400,
        "error": f'language: "{given}" is not a language of the index; it has be (беларуская), en (English), '
        "nl (Nederlands), ru (русский), uk (українська)",
        "parameter": "language",
    }


def test_releases_of_unknown_language_are_their_own_bucket(tmp_path, index_location):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "words.txt").write_text("Statement on detentions\n\nWe condemn the detentions of journalists.\n")
    (corpus / "figures.txt").write_text("2023 - 12 345\n\n67 890 / 2024\n")
    reindex(corpus, index_location, workers=1, check=check_index_state)
    client = create_app({"TESTING": True, "INDEX": str(index_location)}).test_client()
    facet = api(client).get_json()["facets"]["language"]
    assert facet == [
        {"value": "en", "name": "English", "count": 1, "selected": False, "unknown": False},
        {"value": "und", "name": "Unknown language", "count": 1, "selected": False, "unknown": True},
    ]
    found = api(client, ("language", "und")).get_json()
    assert [hit["language"] for hit in found["results"]] == ["und"]
    assert api(client, ("q", "language:und")).get_json()["total"] == 1
    page = soup(client.get("/"))
    unknown = page.select(".facet-languages .facet-name")[-1]
    assert unknown.get_text() == "Unknown language" and "facet-unknown" in unknown["class"]
    assert not unknown.has_attr("lang")


# -- the page --


def test_the_page_lists_each_language_by_its_own_name_as_a_link(site_client):
    page = soup(site_client.get("/", query_string=[("q", "MARA"), ("source", MARA), ("year", "2023")]))
    counts = language_counts(site_client, ("q", "MARA"), ("source", MARA), ("year", "2023"))
    assert len(counts) == 3
    links = page.select(".facet-languages a.facet-link")
    assert [a.select_one(".facet-name").get_text() for a in links] == [OWN_NAMES[code] for code in counts]
    assert [a.select_one(".facet-name")["lang"] for a in links] == list(counts)
    assert [a.find_next_sibling(class_="count").get_text() for a in links] == [f"{n:,}" for n in counts.values()]
    for a, code in zip(links, counts):
        # Following one keeps every other parameter, adds the language and goes back to the first page.
        assert params(a["href"]) == [("q", "MARA"), ("source", MARA), ("language", code), ("year", "2023")]
        assert a.get("title") == ENGLISH_NAMES.get(code)
        assert not a.has_attr("aria-current")


def test_every_language_of_the_index_is_on_the_home_page(site_client):
    names = {a["lang"]: a.get_text() for a in soup(site_client.get("/")).select(".facet-languages .facet-name")}
    assert names == OWN_NAMES


def test_a_selected_language_links_off_and_shows_a_chip(site_client):
    response = site_client.get(
        "/", query_string=[("q", "MARA"), ("language", "be"), ("language", "ru"), ("sort", "newest"), ("page", "2")]
    )
    page = soup(response)
    selected = {a.select_one(".facet-name")["lang"]: a for a in page.select(".facet-languages a[aria-current=true]")}
    assert set(selected) == {"be", "ru"}
    assert params(selected["be"]["href"]) == [("q", "MARA"), ("language", "ru"), ("sort", "newest")]
    assert params(selected["ru"]["href"]) == [("q", "MARA"), ("language", "be"), ("sort", "newest")]
    assert "(selected: follow to remove)" in selected["be"].get_text()
    (unselected,) = page.select(".facet-languages a.facet-link:not([aria-current])")
    assert params(unselected["href"]) == [
        ("q", "MARA"),
        ("language", "be"),
        ("language", "ru"),
        ("language", "nl"),
        ("sort", "newest"),
    ]
    chips = {chip.get_text(strip=True).rstrip("×"): params(chip["href"]) for chip in page.select(".chip")}
    assert chips == {
        "Language: беларуская": [("q", "MARA"), ("language", "ru"), ("sort", "newest")],
        "Language: русский": [("q", "MARA"), ("language", "be"), ("sort", "newest")],
    }
    # A new search from the box keeps the languages.
    hidden = [(i["name"], i["value"]) for i in page.select("#form-state input[type=hidden]")]
    assert hidden == [("language", "be"), ("language", "ru"), ("sort", "newest")]
    counts = language_counts(site_client, ("q", "MARA"))
    heading = page.select_one("#results-heading").get_text(" ", strip=True)
    assert heading.startswith(f"{counts['be'] + counts['ru']} press releases")


def test_the_page_reads_a_language_by_its_name_and_links_by_its_code(site_client):
    page = soup(site_client.get("/?language=Ukrainian"))
    assert page.select_one(".facet-languages a[aria-current=true] .facet-name").get_text() == "українська"
    assert params(page.select_one("#json-twin")["href"]) == [("language", "uk")]


def test_the_page_answers_an_unknown_language_with_a_400_page(site_client):
    response = site_client.get("/?q=sanctions&language=xx&year=2022")
    assert response.status_code == 400 and response.mimetype == "text/html"
    page = soup(response)
    assert page.select_one(".error-message").get_text().startswith('language: "xx" is not a language of the index')
    assert page.select_one(".error-page code").get_text() == "language"


def test_no_results_offers_to_drop_the_language(site_client):
    page = soup(site_client.get("/", query_string=[("q", "sanctions"), ("language", "nl"), ("source", UKRAINE)]))
    offered = {a.get_text(): params(a["href"]) for a in page.select(".no-results .alternatives a")}
    assert offered["Remove “Language: Nederlands”"] == [("q", "sanctions"), ("source", UKRAINE)]


# -- the feed and the command line --


def test_the_feed_follows_a_search_in_some_languages(site_client):
    response = site_client.get("/feed.atom?language=uk&language=be")
    feed = ET.fromstring(response.get_data())
    assert feed.find(f"{ATOM}title").text == "Press releases in українська, беларуская"
    counts = language_counts(site_client)
    assert len(feed.findall(f"{ATOM}entry")) == min(50, counts["uk"] + counts["be"])
    assert site_client.get("/feed.atom?language=xx").status_code == 400


def test_the_cli_filters_by_language_and_prints_the_apis_json(site_index, site_client):
    args = ["search", "--language", "uk", "--language", "Belarusian", *index_options(site_index)]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == api(site_client, ("language", "uk"), ("language", "be")).get_json()
    readable = CliRunner().invoke(cli, args)
    languages = next(line for line in readable.stdout.splitlines() if line.startswith("Languages: "))
    counts = language_counts(site_client)
    assert f"українська (uk) {counts['uk']}" in languages and f"беларуская (be) {counts['be']}" in languages


def test_the_cli_names_the_language_option_it_cannot_use(site_index):
    result = CliRunner().invoke(cli, ["search", "--language", "xx", *index_options(site_index)])
    assert result.exit_code == 2
    assert 'Invalid value for --language: "xx" is not a language of the index' in result.output
