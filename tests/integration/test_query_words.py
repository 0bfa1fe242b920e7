"""Queries as people type them: joined words, exclusions, through the product's search() and the API."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from indexer.engine.storage import open_view
from indexer.index.reindex import reindex
from searchapp import create_app
from searchapp.search import SearchRequest, search

from search_fixtures import write_corpus

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
def index(tmp_path_factory):
    """A real index of the joined-words corpus, built by the product's reindex."""
    root = tmp_path_factory.mktemp("words")
    summary = reindex(write_corpus(root / "corpus", DOCUMENTS, seed=False), root / "index", workers=1)
    assert summary.failed == 0
    return root / "index"


@pytest.fixture(scope="module")
def run(index):
    """Search the index with URL-style parameters through search()."""
    with open_view(index) as view:
        yield lambda **params: search(view, SearchRequest.from_args(MultiDict(params)))


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
