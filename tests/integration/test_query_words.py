"""Queries as people type them: joined words, exclusions, through the product's search() and the API."""

from __future__ import annotations

import pytest

from indexer.engine.backends import open_view
from searchapp import create_app
from searchapp.search import SearchRequest, search

from search_fixtures import index_of, searching

# (file, source, date, language, title, body)
DOCUMENTS = [
    ("s400.txt", "MFA", "2023-01-10", "en", "Air defence deliveries", "Turkey bought the S-400 system in 2019."),
    ("s400b.txt", "MFA", "2023-01-11", "en", "Old systems", "The S 400 and the S-300 are older systems."),
    ("s-only.txt", "MFA", "2023-01-12", "en", "Plan S", "Plan S was announced; 400 people came."),
    ("covid.txt", "WHO", "2021-03-01", "en", "COVID-19 measures", "Measures against COVID-19 were extended."),
    ("other.txt", "WHO", "2021-03-02", "en", "Vaccines", "Covid vaccines arrived; 19 regions took part."),
    ("jazeera.txt", "Press", "2022-05-05", "en", "Interview", "He spoke to Al-Jazeera about the talks."),
    ("jazeera2.txt", "Press", "2022-05-06", "en", "Another interview", "He spoke to Al Jazeera once more."),
    ("obrien.txt", "Senate", "2005-04-04", "en", "Statement", "Senator O'Brien met the U.S. envoy."),
    ("rb.txt", "Press", "2022-02-02", "en", "Exercises", "The Russian-Belarusian exercises began."),
    ("russia.txt", "Press", "2022-02-03", "en", "Russia", "Russia announced new measures."),
]


@pytest.fixture(scope="module")
def index(tmp_path_factory, search_backend):
    """A real index of the joined-words corpus, built by the product's reindex."""
    return index_of(tmp_path_factory.mktemp("words"), DOCUMENTS, search_backend)


@pytest.fixture(scope="module")
def run(index):
    """Search the index with URL-style parameters through search()."""
    with searching(index) as run_search:
        yield run_search


def titles(result) -> list[str]:
    """Return the titles of a result's hits, best first."""
    return [hit["title"] for hit in result.hits]


def test_a_hyphen_inside_a_word_joins_it(run):
    """S-400 finds the S-400 first, then "S 400" written apart; never "S" without 400 nor "S-300"."""
    assert titles(run(q="S-400")) == ["Air defence deliveries", "Old systems"]
    assert titles(run(q="s-400")) == titles(run(q="S‑400"))


def test_joined_words_rank_above_their_parts(run):
    """COVID-19 ranks the release that says COVID-19 above one with "covid" and "19" apart (which is not matched)."""
    assert titles(run(q="COVID-19")) == ["COVID-19 measures"]
    assert titles(run(q="Al-Jazeera")) == ["Interview", "Another interview"]
    assert titles(run(q="al jazeera"))[0] in {"Interview", "Another interview"}


def test_apostrophes_and_dots_join(run):
    """O'Brien and U.S. match as typed, and their parts still match: "brien" finds O'Brien."""
    assert titles(run(q="O'Brien")) == ["Statement"]
    assert titles(run(q="O’Brien")) == ["Statement"]
    assert titles(run(q="U.S. envoy")) == ["Statement"]
    assert titles(run(q="brien")) == ["Statement"]


def test_names_joined_by_a_hyphen_find_their_parts(run):
    """Russian-Belarusian finds the joined form; "Belarusian" alone still finds it."""
    assert titles(run(q="Russian-Belarusian")) == ["Exercises"]
    assert titles(run(q="belarusian")) == ["Exercises"]


def test_a_minus_at_the_start_of_a_word_excludes(run):
    """-russia alone means every release without Russia (the joined Russian-Belarusian one stays), newest first."""
    result = run(q="-russia")
    assert result.total == len(DOCUMENTS) - 1
    assert "Russia" not in titles(run(q="-russia", per_page="50"))
    assert run(q="measures -russia").total == 1
    assert titles(run(q="-russia -covid", per_page="50")) == [
        t for t in titles(run(q="", per_page="50")) if t not in {"Russia", "COVID-19 measures", "Vaccines"}
    ]


def test_phrases_with_joined_words_match_their_parts_in_order(run):
    """A quoted phrase with a joined word matches its parts one after another."""
    assert titles(run(q='"the S-400 system"')) == ["Air defence deliveries"]
    assert titles(run(q='"S-400 and"')) == ["Old systems"]


def test_the_api_answers_the_same(index):
    """The JSON API gives the same hits for joined words and a bare exclusion."""
    client = create_app({"TESTING": True, "INDEX": str(index)}).test_client()
    body = client.get("/api/search", query_string={"q": "S-400"}).get_json()
    assert [hit["title"] for hit in body["results"]] == ["Air defence deliveries", "Old systems"]
    body = client.get("/api/search", query_string={"q": "-russia"}).get_json()
    assert body["total"] == len(DOCUMENTS) - 1


RELEASES = [
    (
        "cab.txt",
        "State",
        "2023-05-01",
        "en",
        "Envoy meets cabinet",
        "The US envoy met the Belarusian transitional cabinet on sanctions.",
    ),
    ("san.txt", "State", "2023-05-02", "en", "Sanctions extended", "The sanctions on the regime were extended."),
    ("opp.txt", "State", "2023-05-03", "en", "Opposition leaders", "Opposition leaders met in Vilnius."),
    ("far.txt", "State", "2023-05-04", "en", "Weather", "Rain is expected on Monday."),
    ("cab2.txt", "State", "2023-05-05", "en", "Cabinet reshuffle", "The cabinet was reshuffled after the vote."),
]


@pytest.fixture(scope="module")
def releases(tmp_path_factory, search_backend):
    """Search a real index of a few releases through search(), and the index's path."""
    index = index_of(tmp_path_factory.mktemp("most-words"), RELEASES, search_backend)
    with searching(index) as run_search:
        yield run_search, index


def test_releases_with_most_words_follow_the_full_matches(releases):
    """One missing word no longer means nothing: the release with most words comes first, saying what it lacks."""
    run, _ = releases
    result = run(q="US official met Belarusian opposition cabinet about sanctions")
    assert result.total_all_words == 0
    assert titles(result)[0] == "Envoy meets cabinet"
    assert result.hits[0]["missing"] == ["official", "opposition", "about"]
    assert "No release has official and about." in result.notice
    # Below half of the words a release is not listed.
    assert "Weather" not in titles(result)


def test_full_matches_always_rank_first(releases):
    """Every release with all the words ranks above any with some; the counts tell them apart."""
    run, _ = releases
    result = run(q="cabinet sanctions")
    assert titles(result)[0] == "Envoy meets cabinet"
    assert result.hits[0]["missing"] == []
    assert result.total_all_words == 1
    assert result.total == 3
    assert {hit["title"]: hit["missing"] for hit in result.hits[1:]} == {
        "Sanctions extended": ["cabinet"],
        "Cabinet reshuffle": ["sanctions"],
    }


def test_no_fallback_when_a_page_is_full_or_for_date_order(releases):
    """A full page of full matches, or a sort by date, lists releases with every word only."""
    run, _ = releases
    assert run(q="cabinet sanctions", per_page="1").total == 1
    assert run(q="cabinet sanctions", sort="newest").total == 1


def test_pages_through_full_and_partial_matches(releases):
    """Paging goes through the full matches and on through the partial ones, each once."""
    run, _ = releases
    pages = [titles(run(q="cabinet sanctions", per_page="1", page=str(n))) for n in (1, 2, 3)]
    # per_page=1: the one full match fills the page, so no partial matches.
    assert pages[0] == ["Envoy meets cabinet"] and pages[1] == []
    whole = titles(run(q="cabinet sanctions opposition", per_page="50"))
    paged = [t for n in (1, 2, 3, 4) for t in titles(run(q="cabinet sanctions opposition", per_page="1", page=str(n)))]
    assert paged[: len(whole)] == whole


def test_the_api_gives_both_counts_and_the_missing_words(releases):
    """The API's total counts what is listed; total_all_words the full matches; each hit its missing words."""
    _, index = releases
    client = create_app({"TESTING": True, "INDEX": str(index)}).test_client()
    body = client.get("/api/search", query_string={"q": "cabinet sanctions"}).get_json()
    assert (body["total"], body["total_all_words"]) == (3, 1)
    assert [hit["missing"] for hit in body["results"]][0] == []


APART_AND_TOGETHER = [
    ("apart.txt", "S", "2023-06-01", "en", "Report", "The forced labour of prisoners and a landing site."),
    ("together.txt", "S", "2023-06-02", "en", "Statement", "A forced landing of prisoners was reported."),
]


def test_words_side_by_side_rank_above_words_apart(tmp_path, search_backend):
    """Of two releases with the same words, the one that has them together ranks first."""
    with open_view(index_of(tmp_path, APART_AND_TOGETHER, search_backend)) as view:
        assert titles(search(view, SearchRequest(q="forced landing"))) == ["Statement", "Report"]


@pytest.mark.whoosh_only
def test_whoosh_ranks_words_by_a_query_of_its_own(tmp_path, search_backend):
    """Whoosh's view ranks several words by a query of its own (their proximity), not by the matching query."""
    with open_view(index_of(tmp_path, APART_AND_TOGETHER, search_backend)) as view:
        assert view.ranking(view.parse("forced landing")) != view.parse("forced landing").query


def test_equally_good_matches_come_newest_first(tmp_path, search_backend):
    """Releases that match equally well are listed newest first, whatever order they were indexed in."""
    docs = [
        ("a-old.txt", "S", "2019-01-01", "en", "Sanctions statement", "Sanctions were renewed."),
        ("b-new.txt", "S", "2023-01-01", "en", "Sanctions statement", "Sanctions were renewed."),
        ("c-mid.txt", "S", "2021-01-01", "en", "Sanctions statement", "Sanctions were renewed."),
    ]
    with open_view(index_of(tmp_path, docs, search_backend)) as view:
        hits = search(view, SearchRequest(q="sanctions renewed")).hits
        assert [hit["date"] for hit in hits] == ["2023-01-01", "2021-01-01", "2019-01-01"]
