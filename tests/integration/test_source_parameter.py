"""A source given as a parameter (API, page, feed, `--source`) means what `source:` in the query means."""

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

KREMLIN = "President of Russia (Kremlin)"
UKRAINE = "President of Ukraine"
ATOM = "{http://www.w3.org/2005/Atom}"


def api(client, *args: tuple[str, str]):
    """Return the response of /api/search for these parameters."""
    return client.get("/api/search", query_string=list(args))


def source_counts(client) -> dict[str, int]:
    """Return the releases per source of the whole index."""
    return {v["value"]: v["count"] for v in api(client).get_json()["facets"]["source"]}


@pytest.mark.parametrize(
    "given, meant",
    [
        ("President of Ukraine", UKRAINE),  # the exact name, though another name contains it
        ("president of ukraine", UKRAINE),  # any case
        ("NAM", "NAM-media"),  # the start of one name
        ("kremlin", KREMLIN),  # a part of one name
        ("justice", "U.S. Department of Justice"),
    ],
)
def test_a_source_parameter_selects_the_source_it_names(site_client, given, meant):
    data = api(site_client, ("source", given)).get_json()
    assert data["query"]["source"] == [meant]
    assert data["total"] == source_counts(site_client)[meant]
    assert [v["value"] for v in data["facets"]["source"] if v["selected"]] == [meant]
    in_query = api(site_client, ("q", f'source:"{given}"')).get_json()
    assert in_query["total"] == data["total"]


def test_several_source_parameters_are_resolved_each_and_once(site_client):
    data = api(site_client, ("source", "kremlin"), ("source", KREMLIN), ("source", "justice")).get_json()
    assert data["query"]["source"] == [KREMLIN, "U.S. Department of Justice"]
    counts = source_counts(site_client)
    assert data["total"] == counts[KREMLIN] + counts["U.S. Department of Justice"]


@pytest.mark.parametrize(
    "given, message",
    [
        ("president", f'source: "president" matches 2 sources: "{KREMLIN}" and "{UKRAINE}": give the full name'),
        ("krmlin", f'source: "krmlin" matches no source; did you mean "{KREMLIN}"?'),
        ("nam media", 'source: "nam media" matches no source; did you mean "NAM-media"?'),
        (
            "zzqx",
            'source: "zzqx" matches no source: the source facet of a search without it (or `searchapp stats`) '
            "lists the names",
        ),
    ],
)
def test_a_source_parameter_naming_several_sources_or_none_is_a_400_saying_how_to_pick(site_client, given, message):
    response = api(site_client, ("q", "sanctions"), ("source", given))
    assert response.status_code == 400
    assert response.get_json() == {"ok": False, "status": 400, "error": message, "parameter": "source"}


def test_the_unknown_source_is_selectable_by_name_in_any_case(site_client):
    data = api(site_client, ("source", "unknown SOURCE")).get_json()
    assert data["query"]["source"] == ["Unknown source"]
    assert data["total"] == 0
    assert [v for v in data["facets"]["source"] if v["selected"]] == [
        {"value": "Unknown source", "count": 0, "selected": True, "unknown": True}
    ]
    assert api(site_client, ("source", "unknown")).get_json()["error"] == (
        'source: "unknown" matches no source; did you mean "Unknown source"?'
    )


def test_releases_of_unknown_source_are_found_by_it(tmp_path, index_location):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "known.txt").write_text("Statement on detentions\n\nSource: Viasna\n\nWe condemn the detentions.\n")
    (corpus / "unknown.txt").write_text("Appeal on detentions\n\nWe condemn the detentions.\n")
    reindex(corpus, index_location, workers=1, check=check_index_state)
    client = create_app({"TESTING": True, "INDEX": str(index_location)}).test_client()
    found = api(client, ("q", "detentions"), ("source", "unknown")).get_json()
    assert found["query"]["source"] == ["Unknown source"]
    assert [(hit["title"], hit["source"]) for hit in found["results"]] == [("Appeal on detentions", None)]


def test_the_page_checks_the_source_it_resolved(site_client):
    response = site_client.get("/?q=sanctions&source=kremlin")
    assert response.status_code == 200
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert [box["value"] for box in page.select("input[name=source][checked]")] == [KREMLIN]
    total = api(site_client, ("q", "sanctions"), ("source", KREMLIN)).get_json()["total"]
    assert page.select_one("#results-heading").get_text(" ", strip=True).startswith(str(total))


def test_the_page_answers_an_unresolvable_source_with_a_400_page(site_client):
    response = site_client.get("/?q=sanctions&source=president&year=2022")
    assert response.status_code == 400 and response.mimetype == "text/html"
    page = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert page.select_one(".error-message").get_text() == (
        f'source: "president" matches 2 sources: "{KREMLIN}" and "{UKRAINE}": give the full name'
    )
    assert page.select_one(".error-page code").get_text() == "source"
    assert parse_qsl(urlsplit(page.select_one(".error-page a")["href"]).query) == [("q", "sanctions"), ("year", "2022")]


def test_the_feed_resolves_its_source(site_client):
    response = site_client.get("/feed.atom?source=kremlin")
    assert response.status_code == 200
    authors = {e.findtext(f"{ATOM}author/{ATOM}name") for e in ET.fromstring(response.data).iter(f"{ATOM}entry")}
    assert authors == {KREMLIN}
    assert site_client.get("/feed.atom?source=president").status_code == 400


def test_the_command_line_resolves_its_source_option(site_index, site_client):
    result = CliRunner().invoke(
        cli, ["search", "sanctions", "--source", "kremlin", *index_options(site_index), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == api(site_client, ("q", "sanctions"), ("source", "kremlin")).get_json()
    assert json.loads(result.stdout)["query"]["source"] == [KREMLIN]
    readable = CliRunner().invoke(cli, ["search", "--source", "KREMLIN", *index_options(site_index)])
    assert readable.stdout.startswith(f"{source_counts(site_client)[KREMLIN]} press releases (showing 1-10)\n")


def test_the_command_line_says_how_to_pick_one_source(site_index):
    result = CliRunner().invoke(cli, ["search", "sanctions", "--source", "president", *index_options(site_index)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f'Error: Invalid value for --source: "president" matches 2 sources: "{KREMLIN}" and "{UKRAINE}": '
        "give the full name"
    )


def test_the_page_links_by_the_full_name_of_a_source_given_in_part(site_client):
    html = BeautifulSoup(site_client.get("/?q=sanctions&source=kremlin").get_data(as_text=True), "html.parser")
    links = [a["href"] for a in html.select("a[href]") if "source=" in a["href"]]
    hidden = [i["value"] for i in html.select("input[type=hidden][name=source]")]
    sources = {value for href in links for key, value in parse_qsl(urlsplit(href).query) if key == "source"}
    assert links and sources == {KREMLIN} and set(hidden) <= {KREMLIN}
    feed = ET.fromstring(site_client.get("/feed.atom?source=kremlin").data)
    assert feed.find(f"{ATOM}title").text == f"Press releases ({KREMLIN})"
