"""The live index of a server process: one view shared by threads, switched after a reindex, old generations freed."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time

import pytest

from indexer.engine.live import LiveIndex
from indexer.engine.storage import current_generation, generations, open_view, remove_stale_generations
from indexer.index.reindex import reindex
from searchapp.search import SearchRequest, search

from conftest import ROOT
from search_fixtures import write_corpus

# About Whoosh's own files and internals: the PostgreSQL backend has none of them.
pytestmark = pytest.mark.whoosh_only

QUERIES = [
    "",
    "sanctions",
    "belarus sanctions",
    '"political prisoners"',
    "sanc*",
    "ukraine OR belarus",
    "prisoners -journalists",
    "lukashenka",
    "title:sanctions",
    "report",
]


@pytest.fixture
def corpus(tmp_path):
    """The fixture corpus, and beside it a folder without a manifest, where new pages can go."""
    folder = write_corpus(tmp_path / "corpus" / "listed")
    (folder.parent / "more").mkdir()
    return folder.parent


@pytest.fixture
def index(corpus, tmp_path):
    reindex(corpus, tmp_path / "index", workers=1)
    return tmp_path / "index"


def answer(view, q: str):
    """Return what a search shows, to compare runs."""
    result = search(view, SearchRequest(q=q, per_page=20))
    return result.total, [hit["id"] for hit in result.hits], result.facets


def wait_for(condition, what: str, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_threads_sharing_one_view_get_the_answers_of_one_thread_alone(index):
    with open_view(index) as alone:
        expected = {q: answer(alone, q) for q in QUERIES}
    live = LiveIndex(index)
    failures, views = [], set()

    def client(seed: int):
        rng = random.Random(seed)
        for _ in range(60):
            q = rng.choice(QUERIES)
            with live.reading() as view:
                views.add(id(view))
                got = answer(view, q)
            if got != expected[q]:
                failures.append((q, got))

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    live.close()
    assert failures == [] and len(views) == 1


def test_each_lease_sees_a_reindex_at_once_and_the_replaced_generation_goes_with_its_last_reader(corpus, index):
    live = LiveIndex(index)
    old_lease = live.acquire()
    old = old_lease.view.generation
    (corpus / "more" / "zebra.txt").write_text("Zebra statement\n\nThe zebra council met.\n", encoding="utf-8")
    reindex(corpus, index, workers=1)
    with live.reading() as view:
        assert view.generation == current_generation(index) != old
        assert search(view, SearchRequest(q="zebra")).total == 1
    # The request that started on the old generation finishes on it, and the folder waits for it.
    assert search(old_lease.view, SearchRequest(q="zebra")).total == 0
    assert old.exists()
    live.release(old_lease)
    wait_for(lambda: not old.exists(), "the replaced generation to be deleted")
    assert generations(index) == [current_generation(index)]
    live.close()


def test_a_watching_index_switches_only_to_a_warmed_view(corpus, index):
    warmed = []
    live = LiveIndex(index, warm=lambda view: warmed.append(view.generation), watch_seconds=0.05)
    with live.reading() as first:
        assert first.generation == current_generation(index)
    (corpus / "more" / "zebra.txt").write_text("Zebra statement\n\nThe zebra council met.\n", encoding="utf-8")
    reindex(corpus, index, workers=1)
    new = current_generation(index)

    def switched():
        with live.reading() as view:
            return view.generation == new

    wait_for(switched, "the switch to the new generation")
    assert new in warmed
    with live.reading() as view:
        # Warmed: the commonest words are read already.
        assert view.cache_bytes() > 0
        assert search(view, SearchRequest(q="zebra")).total == 1
    wait_for(lambda: generations(index) == [new], "the old generation to go")
    assert live.status()["generation"] == new.name
    live.close()


HOLD_VIEW = """
import sys
from indexer.engine.storage import open_view
view = open_view(sys.argv[1])
print(view.generation.name, flush=True)
sys.stdin.read()
"""


def test_a_generation_another_process_reads_is_kept_until_that_process_lets_go(corpus, index):
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD_VIEW, str(index)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        held = index / reader.stdout.readline().strip()
        (corpus / "more" / "zebra.txt").write_text("Zebra statement\n\nThe zebra council met.\n", encoding="utf-8")
        reindex(corpus, index, workers=1)
        reindex(corpus, index, workers=1, full=True)
        assert held.exists() and held != current_generation(index)
        assert remove_stale_generations(index) == []
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    assert remove_stale_generations(index) == [held]
    assert generations(index) == [current_generation(index)]


def test_the_postings_cache_keeps_to_its_budget(index):
    budget = 1_000
    with open_view(index) as roomy:
        for q in QUERIES:
            search(roomy, SearchRequest(q=q))
        unbounded = roomy.cache_bytes()
    assert unbounded > 2 * budget
    with open_view(index, cache_bytes=budget) as view:
        for q in QUERIES * 3:
            expected = answer(view, q)
            # One term's postings may exceed it while its query runs; never more.
            largest = max((p.nbytes for p in view.postings._terms.values()), default=0)
            assert view.cache_bytes() <= budget + largest
            assert answer(view, q) == expected
