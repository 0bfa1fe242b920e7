"""The one search function on a real index of a hand-counted fixture corpus."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from indexer.engine.backends import open_view
from searchapp.search import BadParameter, SearchRequest, document, search


@pytest.fixture(scope="module")
def run(search_index):
    """Return a function that searches the fixture index with URL-style parameters."""
    with open_view(search_index) as s:

        def run_search(*pairs, **params):
            args = MultiDict(list(pairs) + list(params.items()))
            return search(s, SearchRequest.from_args(args))

        yield run_search


def titles(result) -> list[str]:
    return [h["title"] for h in result.hits]


SEED_TITLE = "U.S. to extend sanctions against Lukashenko regime"


@pytest.mark.parametrize(
    "q",
    [
        "Dunnigan",
        '"forced landing"',
        "sanctions -Belgium",
        "source:NAM-media",
        "source:nam-media",
        "Lukashenka",
        "title:lukashenko",
    ],
)
def test_the_briefs_sample_is_found(run, q):
    assert SEED_TITLE in titles(run(q=q))


def test_exact_words_rank_above_spelling_variants(run):
    result = run(q="Lukashenko")
    assert titles(result)[0] == SEED_TITLE  # says "Lukashenko" three times; variants rank lower
    assert "Sanctions on Belarus extended" in titles(result)


def test_accent_folding_both_ways(run):
    assert "Lukašenka signs a new decree" in titles(run(q="Lukasenka"))
    assert "Lukašenka signs a new decree" in titles(run(q="Lukašenka"))


def test_all_words_must_match_and_or_widens(run):
    """Releases with every word come first; with fewer than a page, those with some follow, saying what they lack."""
    result = run(q="sanctions prisoners")
    full = [hit["title"] for hit in result.hits if not hit["missing"]]
    assert set(full) == {"Sanctions on Belarus extended", SEED_TITLE} and result.total_all_words == 2
    assert titles(result)[:2] == full
    assert all(hit["missing"] in (["sanctions"], ["prisoners"]) for hit in result.hits[2:])
    assert set(titles(run(q="sanctions prisoners", per_page="2"))) == {"Sanctions on Belarus extended", SEED_TITLE}
    assert {
        "Sanctions on Belarus extended",
        "Human rights report on Belarus",
        "Note on prisoners' families",
        SEED_TITLE,
    } == set(titles(run(q="sanctions OR prisoners", per_page="50"))) - {"EU adopts sanctions package over Ukraine"} - {
        "Release with <script>alert(1)</script> in its title"
    }


def test_exclusion_is_exact(run):
    # The sample says "the war against Ukraine": excluding Ukraine excludes it, as users expect.
    assert SEED_TITLE not in titles(run(q="sanctions -Ukraine"))
    assert titles(run(q="sanctions -Ukraine")) == ["Sanctions on Belarus extended"]


def test_phrase_and_exclusion(run):
    assert set(titles(run(q='"forced landing"'))) == {"Statement on the forced landing of a Ryanair flight", SEED_TITLE}
    assert "EU adopts sanctions package over Ukraine" not in titles(run(q="sanctions -Ukraine"))
    assert "EU adopts sanctions package over Ukraine" not in titles(run(q="sanctions NOT ukraine"))


def test_prefix_and_cyrillic(run):
    assert "EU adopts sanctions package over Ukraine" in titles(run(q="sanct*"))
    assert titles(run(q="санкції")) == ["Заява про нові санкції"]


def test_unreadable_query_falls_back_to_words(run):
    result = run(q='"forced landing')
    assert result.notice and "forced landing" in result.notice
    assert result.total >= 1


def test_suggestion_from_the_index_vocabulary(run):
    assert run(q="sanctoins").suggestion == "sanctions"
    assert run(q="sanctions").suggestion is None


def test_empty_query_browses_everything_newest_first(run):
    result = run(per_page="100")
    assert result.total == 9
    dates = [h["date"] for h in result.hits]
    assert dates[:3] == ["2023-03-05", "2023-02-10", "2022-06-01"]
    assert dates[-2:] == ["--02-01", None] or dates[-2:] == [None, "--02-01"]


def test_source_facet_counts_by_hand(run):
    facet = {v["value"]: v["count"] for v in run().facets["source"]}
    assert facet == {
        "Viasna": 3,
        "Council of the EU": 2,
        "Office of the President of Ukraine": 1,
        "RFE/RL": 1,
        "NAM-media": 1,
        "Hostile Example": 1,
    }


def test_selecting_a_source_keeps_the_other_sources_counts(run):
    result = run(("source", "Viasna"))
    assert result.total == 3
    facet = {v["value"]: (v["count"], v["selected"]) for v in result.facets["source"]}
    assert facet["Viasna"] == (3, True) and facet["Council of the EU"] == (2, False)
    both = run(("source", "Viasna"), ("source", "RFE/RL"))
    assert both.total == 4  # OR within the facet


def test_year_facet_and_undated_bucket(run):
    result = run()
    assert [(v["value"], v["count"]) for v in result.facets["year"]] == [(2020, 1), (2021, 1), (2022, 3), (2023, 2)]
    assert result.undated == 2  # a6 has no date; the seed has no year
    assert run(year="unknown").total == 2


def test_year_selection_counts_months_and_narrows_sources(run):
    result = run(year="2022")
    assert result.total == 3
    assert [(m["value"], m["count"]) for m in result.facets["month"]] == [(2, 1), (3, 1), (6, 1)]
    years = {v["value"]: v["count"] for v in result.facets["year"]}
    assert years[2023] == 2  # the year facet ignores its own selection
    sources = {v["value"]: v["count"] for v in result.facets["source"]}
    assert sources == {"Viasna": 1, "Council of the EU": 1, "Office of the President of Ukraine": 1}
    assert run(year="2022", month="6").total == 1


def test_date_range(run):
    assert run(**{"from": "2022-02-01", "to": "2022-12-31"}).total == 3
    assert run(**{"from": "2023-01-01"}).total == 2
    assert run(**{"to": "2021-12-31"}).total == 2


def test_a_selected_source_with_no_hits_is_still_listed(run):
    result = run(("source", "RFE/RL"), q="sanctions")
    assert result.total == 0
    assert {"value": "RFE/RL", "count": 0, "selected": True, "unknown": False} in result.facets["source"]


def test_sorting_and_paging(run):
    newest = run(q="sanctions", sort="newest")
    oldest = run(q="sanctions", sort="oldest")
    assert [h["date"] for h in newest.hits if h["date"] and not h["date"].startswith("--")] == sorted(
        [h["date"] for h in oldest.hits if h["date"] and not h["date"].startswith("--")], reverse=True
    )
    page1, page2 = run(per_page="4", sort="newest"), run(per_page="4", sort="newest", page="2")
    assert page1.pages == 3 and not {h["id"] for h in page1.hits} & {h["id"] for h in page2.hits}
    assert run(page="9").hits == []


def test_every_hit_has_its_fields(run):
    for hit in run(q="sanctions").hits:
        assert set(hit) == {
            "id",
            "title",
            "title_html",
            "url",
            "source",
            "date",
            "date_precision",
            "year",
            "language",
            "snippet_html",
            "snippet",
            "missing",
        }
    seed = next(h for h in run(q="Dunnigan").hits)
    assert seed["date"] == "--02-01" and seed["year"] is None and seed["date_precision"] == "no-year"
    assert "<mark>Dannigan</mark>" in seed["snippet_html"] or "<mark>Dunigan</mark>" in seed["snippet_html"]


def test_snippets_are_escaped(run):
    (hit,) = run(q="script").hits
    assert "<script" not in hit["snippet_html"] and "&lt;<mark>script</mark>&gt;" in hit["snippet_html"]
    assert "<img" not in hit["snippet_html"] and "<script>" not in hit["title_html"]
    assert "<script>alert(1)</script>" in hit["snippet"]


def test_document_and_more_like_this(search_index, run):
    doc_id = run(q="Dunnigan").hits[0]["id"]
    with open_view(search_index) as s:
        doc = document(s, doc_id)
        assert doc["title"] == SEED_TITLE and "Ryanair" in doc["body"]
        assert any(m["title"] for m in doc["more_like_this"])
        assert document(s, "no-such-id") is None


@pytest.mark.parametrize(
    "args, name",
    [
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"per_page": "101"}, "per_page"),
        ({"sort": "best"}, "sort"),
        ({"year": "12"}, "year"),
        ({"month": "3"}, "month"),
        ({"year": "2022", "month": "13"}, "month"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2023-02-30"}, "from"),
        ({"from": "2023-01-01", "to": "2022-01-01"}, "from"),
        ({"q": "x" * 501}, "q"),
    ],
)
def test_bad_parameters_name_themselves(args, name):
    with pytest.raises(BadParameter) as info:
        SearchRequest.from_args(MultiDict(args))
    assert info.value.name == name


# -- the language facet and filter (the fixture: eight releases in English, one in Ukrainian) --

ENGLISH = {"value": "en", "name": "English", "count": 8, "selected": False, "unknown": False}
UKRAINIAN = {"value": "uk", "name": "українська", "count": 1, "selected": False, "unknown": False}


def test_language_facet_counts_by_hand_with_each_languages_own_name(run):
    assert run().facets["language"] == [ENGLISH, UKRAINIAN]


def test_one_language_filters_and_its_facet_ignores_its_own_filter(run):
    result = run(("language", "uk"))
    assert titles(result) == ["Заява про нові санкції"]
    assert result.request.languages == ("uk",)
    assert result.facets["language"] == [ENGLISH, {**UKRAINIAN, "selected": True}]
    # The other facets count with it applied.
    assert {v["value"]: v["count"] for v in result.facets["source"]} == {"Office of the President of Ukraine": 1}
    assert [(v["value"], v["count"]) for v in result.facets["year"]] == [(2022, 1)]
    assert result.undated == 0


def test_two_languages_are_either_and_their_counts_add_up(run):
    both = run(("language", "en"), ("language", "uk"))
    assert both.request.languages == ("en", "uk")
    assert both.total == run(("language", "en")).total + run(("language", "uk")).total == run().total == 9
    assert [v["selected"] for v in both.facets["language"]] == [True, True]


def test_other_filters_narrow_the_language_facet(run):
    assert run(("source", "Viasna")).facets["language"] == [{**ENGLISH, "count": 3}]
    assert run(q="санкції").facets["language"] == [UKRAINIAN]
    assert run(year="2022").facets["language"] == [{**ENGLISH, "count": 2}, UKRAINIAN]
    assert run(year="unknown").facets["language"] == [{**ENGLISH, "count": 2}]


@pytest.mark.parametrize("given", ["uk", "UK", " uk ", "Ukrainian", "ukrainian", "українська", "Українська"])
def test_a_language_is_named_by_its_code_or_its_name_in_any_case(run, given):
    result = run(("language", given))
    assert result.request.languages == ("uk",) and result.total == 1


def test_the_same_language_twice_is_one_filter(run):
    assert run(("language", "uk"), ("language", "Ukrainian"), ("language", "UK")).request.languages == ("uk",)


@pytest.mark.parametrize("given", ["xx", "Ukrainisch", "ru", "und-x"])
def test_a_language_the_index_has_not_is_a_bad_parameter_naming_its_languages(run, given):
    with pytest.raises(BadParameter) as info:
        run(("language", given))
    assert info.value.name == "language"
    assert info.value.message == f'"{given}" is not a language of the index; it has en (English), uk (українська)'


def test_the_unknown_language_is_selectable_and_listed_last(run):
    result = run(("language", "und"))
    assert result.total == 0 and result.request.languages == ("und",)
    assert result.facets["language"][-1] == {
        "value": "und",
        "name": "Unknown language",
        "count": 0,
        "selected": True,
        "unknown": True,
    }
    assert run(("language", "unknown language")).request.languages == ("und",)


@pytest.mark.parametrize(
    "q, pairs",
    [
        ("language:uk", [("language", "uk")]),
        ("language:en", [("language", "en")]),
        ("sanctions language:en", [("q", "sanctions"), ("language", "en")]),
        ("санкції language:uk", [("q", "санкції"), ("language", "uk")]),
        ("language:en OR language:uk", []),
        ("sanctions OR санкції -language:uk", [("q", "sanctions OR санкції"), ("language", "en")]),
    ],
)
def test_language_in_the_query_filters_as_the_parameter_does(run, q, pairs):
    typed, chosen = run(q=q, per_page="100"), run(*pairs, per_page="100")
    assert typed.total == chosen.total > 0
    assert {h["id"] for h in typed.hits} == {h["id"] for h in chosen.hits}


def test_language_in_the_query_narrows_the_language_facet(run):
    assert run(q="language:uk").facets["language"] == [UKRAINIAN]


def test_languages_travel_in_the_url():
    request = SearchRequest.from_args(MultiDict([("q", "war"), ("language", "uk"), ("language", "be"), ("page", "2")]))
    assert request.languages == ("uk", "be")
    assert request.to_args() == [("q", "war"), ("language", "uk"), ("language", "be"), ("page", "2")]
    assert request.to_args(languages=("be",), page=1) == [("q", "war"), ("language", "be")]
    with pytest.raises(BadParameter) as info:
        SearchRequest.from_args(MultiDict([("language", f"l{n}") for n in range(51)]))
    assert info.value.name == "language"


def test_more_like_this_gives_whooshs_more_like_in_its_order(site_index):
    # "More like this" ranks Whoosh's key words through the postings cache: the releases it names must be
    # those Whoosh's own more_like finds, with the same scores in the same order (ties may be ordered apart).
    with open_view(site_index) as view:
        searcher = view.postings.searcher
        checked = 0
        for docnum in range(0, view.size, max(1, view.size // 80)):
            if not view.live >> docnum & 1:
                continue
            doc = document(view, view.stored(docnum)["id"])
            ours = [hit["id"] for hit in doc["more_like_this"]]
            whooshs = searcher.more_like(docnum, "body", top=5)
            every = {hit["id"]: hit.score for hit in searcher.more_like(docnum, "body", top=None)}
            assert [every[doc_id] for doc_id in ours] == [hit.score for hit in whooshs], doc["title"]
            assert doc["id"] not in ours
            checked += bool(ours)
        assert checked > 40
