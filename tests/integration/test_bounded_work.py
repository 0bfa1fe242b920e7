"""Every search does bounded work, says what it left out, and still answers 200, through search() and the API."""

from __future__ import annotations

import pytest
from whoosh import query as Q

from indexer.engine.query import MAX_PATTERN_WORDS, MAX_QUERY_WORDS
from indexer.engine.storage import current_generation, open_view, view_of
from indexer.index.reindex import reindex
from searchapp import create_app
from searchapp.search import MAX_RESULT_WINDOW, SearchRequest, search

# One release per word: "zeta*" stands for more words than a pattern may expand to.
PATTERN_WORDS = 40
# Releases that all hold the phrase "common ground" (and "ground common" in some), for the phrase budget.
PHRASE_DOCS = 30


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """An index of generated releases built for the limits: many pattern words, many pages, a common phrase."""
    root = tmp_path_factory.mktemp("bounded")
    corpus = root / "corpus"
    corpus.mkdir()
    for i in range(PATTERN_WORDS):
        (corpus / f"zeta{i:02d}.txt").write_text(
            f"Statement {i} on zeta{i:02d}\n\nThe council discussed zeta{i:02d} and other matters today.\n",
            encoding="utf-8",
        )
    for i in range(PHRASE_DOCS):
        order = "common ground" if i % 3 else "ground common"
        (corpus / f"phrase{i:02d}.txt").write_text(
            f"Talks {i}\n\nThe delegations looked for {order} in the talks, number {i}.\n", encoding="utf-8"
        )
    for i in range(60):
        (corpus / f"word{i:02d}.txt").write_text(f"Word {i}\n\nA release about w{i} alone.\n", encoding="utf-8")
    summary = reindex(corpus, root / "index", workers=1)
    assert summary.failed == 0
    return root / "index"


@pytest.fixture(scope="module")
def view(index):
    with open_view(index) as opened:
        yield opened


def ids(result) -> set[str]:
    return {hit["id"] for hit in result.hits}


def test_a_pattern_that_stands_for_too_many_words_searches_the_commonest_and_says_so(view):
    result = search(view, SearchRequest(q="zeta*", per_page=100))
    assert result.total == MAX_PATTERN_WORDS
    assert f"zeta* stands for {PATTERN_WORDS} words; searched for the {MAX_PATTERN_WORDS} commonest" in result.notice
    assert result.complete


@pytest.mark.whoosh_only
def test_a_pattern_within_the_limits_finds_what_whoosh_finds(view, search_index):
    # The expansion is a shortcut around Whoosh's own Prefix and Wildcard queries: compare with them.
    with open_view(search_index) as small:
        searcher = small._searcher
        for pattern in ("sanc*", "lukash*", "pol*", "u*", "b?larus", "*tion", "pri?on*"):
            kind = Q.Wildcard if "?" in pattern or pattern.startswith("*") else Q.Prefix
            text = pattern.rstrip("*") if kind is Q.Prefix else pattern
            whoosh = set(searcher.docs_for_query(Q.Or([kind("title", text), kind("body", text)])))
            expected = {searcher.stored_fields(d)["id"] for d in whoosh}
            result = search(small, SearchRequest(q=pattern, per_page=100))
            assert ids(result) == expected and result.total == len(expected), pattern
            assert result.notice is None


def test_words_past_the_limit_are_left_out_and_named(view):
    words = [f"w{i}" for i in range(MAX_QUERY_WORDS + 8)]
    result = search(view, SearchRequest(q=" OR ".join(words), per_page=100))
    assert result.total == MAX_QUERY_WORDS
    assert {hit["title"] for hit in result.hits} == {f"Word {i}" for i in range(MAX_QUERY_WORDS)}
    assert f"Only the first {MAX_QUERY_WORDS} words of a query are searched; left out: " in result.notice
    assert " ".join(words[MAX_QUERY_WORDS:]) in result.notice


def test_an_excluded_pattern_is_expanded_too(view):
    everything = search(view, SearchRequest(q="council")).total
    assert search(view, SearchRequest(q="council -zeta0*")).total == everything - 10


def test_pages_past_the_relevance_window_answer_empty_with_a_notice(view):
    per_page = 50
    page = MAX_RESULT_WINDOW // per_page + 1
    deep = search(view, SearchRequest(q="release OR talks OR council", page=page, per_page=per_page))
    assert deep.hits == [] and "Only the first 1,000 results by relevance" in deep.notice
    # Sorted by date, paging goes on (it costs little).
    by_date = search(view, SearchRequest(q="release OR talks OR council", page=2, per_page=per_page, sort="newest"))
    assert by_date.hits and by_date.notice is None


def test_a_phrase_checked_in_part_for_time_carries_on_until_exact(index):
    with open_view(index) as exact:
        expected = search(exact, SearchRequest(q='"common ground"', per_page=100))
    assert expected.total == 20 and expected.complete
    with view_of(current_generation(index), time_budget=0.0) as hurried:
        # Small slices, so that a corpus this size takes several searches.
        hurried.postings.phrase_step = 4
        totals = []
        for _ in range(20):
            result = search(hurried, SearchRequest(q='"common ground"', per_page=100))
            totals.append(result.total)
            if result.complete:
                break
            assert "occurs in too many releases to check every one in the time allowed" in result.notice
        assert totals == sorted(totals) and len(totals) > 2
        assert result.complete and ids(result) == ids(expected) and result.notice is None


def test_a_search_out_of_time_reads_one_word_and_names_those_it_left_out(index):
    with view_of(current_generation(index), time_budget=0.0) as hurried:
        result = search(hurried, SearchRequest(q="council discussed matters"))
        assert not result.complete
        assert "Some words were left out for lack of time" in result.notice
        # The first word was read: the releases are those about the council, never every release.
        assert 0 < result.total <= PATTERN_WORDS
        # Words left out are not words no release has, and the releases found have every word read.
        assert "No release has" not in result.notice and "every word" not in result.notice
        assert all(not hit.get("missing") for hit in result.hits)
    with view_of(current_generation(index), time_budget=0.0) as hurried:
        # A rare first word finds fewer than a page, where releases with most of the words would follow: not
        # while words are left out for time, which are never reported as words no release has.
        result = search(hurried, SearchRequest(q="zeta07 discussed matters"))
        assert "Some words were left out for lack of time" in result.notice
        assert "No release has" not in result.notice and "every word" not in result.notice
        assert result.total == 1 and [hit["missing"] for hit in result.hits] == [[]]
        # Once read, words cost nothing: the same search is whole.
        again = search(hurried, SearchRequest(q="council"))
        assert again.complete and again.total == PATTERN_WORDS


def test_releases_with_most_of_the_words_read_follow_when_others_are_left_out(index):
    with view_of(current_generation(index), time_budget=0.0) as hurried:
        # Words in memory cost nothing: these two are read, "delegations" is left out for time.
        for word in ("zeta07", "council"):
            search(hurried, SearchRequest(q=word))
        result = search(hurried, SearchRequest(q="zeta07 council delegations", per_page=50))
        assert result.notice == (
            "Only 1 release has every word read: 39 more with most of the words read follow, each with the words it"
            " lacks. Some words were left out for lack of time (searching again includes them): deleg."
        )
        # The release with both words read, then those with one of them, each lacking only a word that was read.
        assert result.total == PATTERN_WORDS
        assert result.hits[0]["title"] == "Statement 7 on zeta07" and result.hits[0]["missing"] == []
        assert all(hit["missing"] == ["zeta07"] for hit in result.hits[1:])


def test_the_api_says_what_a_budget_cut_and_is_not_cached(index):
    app = create_app({"TESTING": True, "INDEX": str(index), "SEARCH_SECONDS": 0.0})
    client = app.test_client()
    response = client.get("/api/search?q=council+discussed+matters")
    assert response.status_code == 200
    body = response.get_json()
    assert "Some words were left out for lack of time" in body["notice"]
    assert response.headers["Cache-Control"] == "no-store" and "ETag" not in response.headers
    # Which state answered still shows, as on every answer.
    assert response.headers["X-Index-Version"] == body["index_version"]
    whole = create_app({"TESTING": True, "INDEX": str(index)}).test_client().get("/api/search?q=zeta*")
    assert whole.status_code == 200 and "stands for 40 words" in whole.get_json()["notice"]
    assert whole.headers["ETag"]
