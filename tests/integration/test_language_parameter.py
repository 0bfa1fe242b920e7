"""The language facet and filter, through the API."""

from __future__ import annotations

import pytest

from indexer.index.reindex import reindex
from searchapp import create_app
from searchapp.index_check import check_index_state

UKRAINE = "President of Ukraine"
MARA = "Belarusians in the Netherlands / MARA (belarusians.nl)"
# The bundled corpus's languages, each by its own name.
OWN_NAMES = {"en": "English", "uk": "українська", "be": "беларуская", "ru": "русский", "nl": "Nederlands"}


def api(client, *args: tuple[str, str]):
    """Return the response of /api/search for these parameters."""
    return client.get("/api/search", query_string=list(args))


def language_counts(client, *args: tuple[str, str]) -> dict[str, int]:
    """Return the releases per language of a search."""
    return {v["value"]: v["count"] for v in api(client, *args).get_json()["facets"]["language"]}


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


def test_releases_of_unknown_language_are_their_own_bucket(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "words.txt").write_text("Statement on detentions\n\nWe condemn the detentions of journalists.\n")
    (corpus / "figures.txt").write_text("2023 - 12 345\n\n67 890 / 2024\n")
    reindex(corpus, tmp_path / "index", workers=1, check=check_index_state)
    client = create_app({"TESTING": True, "INDEX": str(tmp_path / "index")}).test_client()
    facet = api(client).get_json()["facets"]["language"]
    assert facet == [
        {"value": "en", "name": "English", "count": 1, "selected": False, "unknown": False},
        {"value": "und", "name": "Unknown language", "count": 1, "selected": False, "unknown": True},
    ]
    found = api(client, ("language", "und")).get_json()
    assert [hit["language"] for hit in found["results"]] == ["und"]
    assert api(client, ("q", "language:und")).get_json()["total"] == 1
