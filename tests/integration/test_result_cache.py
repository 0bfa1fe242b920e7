"""Whole result pages kept per view: worked out once however many ask, never stale, never a cut answer."""

from __future__ import annotations

import threading
import time

from indexer.engine.backends import open_view
from indexer.index.reindex import reindex
from searchapp import create_app
from searchapp.result_cache import MEMO_KEY, ResultCache
from searchapp.search import SearchRequest, search

from search_fixtures import write_corpus


def test_pages_many_threads_ask_for_at_once_are_worked_out_once_and_equal_a_fresh_search(search_index):
    with open_view(search_index) as view:
        cache = ResultCache(10_000_000)
        requests = [SearchRequest(q=q) for q in ("sanctions", "belarus OR ukraine", '"political prisoners"', "")]
        answers: list[tuple[SearchRequest, object]] = []
        go = threading.Barrier(8)

        def client():
            go.wait()
            for request in requests * 3:
                answers.append((request, cache.search(view, request)))

        threads = [threading.Thread(target=client) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert cache.misses == len(requests) and cache.hits == 8 * 3 * len(requests) - len(requests)
        for request, answer in answers:
            assert answer == search(view, request)


def test_the_cache_keeps_to_its_budget_and_drops_the_least_recently_used(search_index):
    with open_view(search_index) as view:
        one = search(view, SearchRequest(q="sanctions"))
        cache = ResultCache(3 * 2_500)
        for q in ("sanctions", "belarus", "ukraine", "report", "prisoners", "sanctions"):
            cache.search(view, SearchRequest(q=q))
            assert cache.held_bytes <= cache.budget_bytes
        assert one == cache.search(view, SearchRequest(q="sanctions"))
        assert cache.misses == 6


def test_an_answer_cut_short_is_reused_only_for_a_moment(search_index):
    with open_view(search_index, time_budget=0.0) as hurried:
        cache = ResultCache(10_000_000, cut_seconds=0.2)
        request = SearchRequest(q="sanctions belarus regime")
        first = cache.search(hurried, request)
        assert not first.complete
        # A crowd asking at once shares the one cut answer.
        assert cache.search(hurried, request) is first and cache.hits == 1
        # Later, the search runs again, and gets further.
        time.sleep(0.3)
        again = cache.search(hurried, request)
        assert again is not first and cache.misses == 2


def test_through_the_api_a_reindex_brings_a_fresh_cache(tmp_path, index_location):
    corpus = write_corpus(tmp_path / "corpus" / "listed").parent
    (corpus / "more").mkdir()
    index = index_location
    reindex(corpus, index, workers=1)
    client = create_app({"TESTING": True, "INDEX": str(index)}).test_client()
    first = client.get("/api/search?q=council").get_json()
    assert client.get("/api/search?q=council").get_json() == first
    (corpus / "more" / "zebra.txt").write_text("Zebra council\n\nThe zebra council met today.\n", encoding="utf-8")
    reindex(corpus, index, workers=1)
    after = client.get("/api/search?q=council").get_json()
    assert after["total"] == first["total"] + 1 and after["index_version"] != first["index_version"]
    from searchapp.index_access import live_index

    with live_index(client.application).reading() as view:
        assert view.memo[MEMO_KEY].misses == 1
