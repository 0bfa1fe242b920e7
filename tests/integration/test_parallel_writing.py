"""Reindexes whose documents are written by several processes: the same index as one process writes, or none."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
from dataclasses import replace

import pytest

from indexer.engine.storage import current_generation, open_generation, open_view
from indexer.engine.writing import DOCUMENTS_PER_BATCH, WRITER_PROCESS_NAME, GenerationWriter, count_copies
from indexer.index.reindex import Reporter, WriterProcessError, reindex
from searchapp.index_check import check_index_state
from searchapp.search import SearchRequest, document, search

from conftest import CORPUS

# Whoosh generations written by several processes; the PostgreSQL backend's writer processes are walked by
# test_index_lifecycle.py's [postgresql] runs.
pytestmark = [pytest.mark.slow, pytest.mark.whoosh_only]

# Searches of every kind the site runs, on the bundled corpus: words, names, joined words, phrases,
# exclusions, wildcards, fields, spelling variants, partial matches.
QUERIES = [
    "",
    "sanctions",
    "Lukashenko",
    "Лукашенко",
    "Zelensky",
    "S-400",
    "COVID-19",
    '"human rights"',
    "court -ruling",
    "-russia",
    "minist*",
    "title:statement",
    "source:doj",
    "fraud indictment sentenced",
    "US official met Belarusian opposition cabinet about sanctions",
    "sanctoins",
    "Belarus OR Ukraine",
    "політичних в'язнів",
    "language:nl",
]
REQUESTS = [SearchRequest(q=q, per_page=50) for q in QUERIES] + [
    SearchRequest(q="sanctions", sort="newest", page=2, per_page=10),
    SearchRequest(q="president", year=2022, per_page=50),
    SearchRequest(q="", undated=True, per_page=50),
]


def by_date(view, request: SearchRequest) -> bool:
    """Return True when a request's results come newest first: a query of no words, or a date sort."""
    return request.sort != "relevance" or view.parse(request.q).everything or request.q.startswith("-")


def every_id(view, request: SearchRequest) -> set[str]:
    """Return the ids of every result of a request, page by page."""
    ids, page = set(), 1
    while True:
        hits = search(view, replace(request, page=page, per_page=100)).hits
        ids |= {hit["id"] for hit in hits}
        if len(hits) < 100:
            return ids
        page += 1


def answers(index) -> list:
    """Return what the product answers to every request (totals, facets, notices, hits in order) and of documents.

    Releases of the same day come in the order they were written, which depends on which writer
    process took them: for results by date, the days in order and the releases of each.
    """
    found = []
    with open_view(index) as view:
        for request in REQUESTS:
            result = search(view, request)
            if by_date(view, request):
                hits = ([hit["date"] for hit in result.hits], every_id(view, request))
            else:
                hits = [(hit["id"], hit["snippet"], hit["missing"]) for hit in result.hits]
            found.append(
                (request.q, result.total, result.total_all_words, result.facets, result.undated)
                + (result.suggestion, result.notice, result.showing_for, hits)
            )
        for hit in search(view, SearchRequest(q="sanctions", per_page=5)).hits:
            found.append(document(view, hit["id"]))
    return found


def copy_corpus(tmp_path):
    """Return a copy of the bundled corpus that a test may change."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    return corpus


def change(corpus, added: int = 1) -> None:
    """Correct a page, delete two, add new ones: what users do between reindexes."""
    pages = sorted((corpus / "kremlin_and_president_ua_en_2021_2022" / "text").glob("*.txt"))
    with open(pages[0], "a", encoding="utf-8") as f:
        f.write("\nCorrection: the zorvexa statement was revised.\n")
    pages[1].unlink()
    pages[2].unlink()
    (corpus / "loose").mkdir()
    for number in range(added):
        # Each its own date and words, so that no two rank or sort alike.
        words = " ".join(f"w{number}x{k}" for k in range(number % 7 + 1))
        (corpus / "loose" / f"new{number:03d}.txt").write_text(
            f"A new release on zorvexa {number}\n\nMinsk, {1 + number % 28} March {2000 + number // 28}\n\n"
            f"The zorvexa council met {words}.\n",
            "utf-8",
        )


def test_an_index_written_by_two_processes_answers_as_one_written_by_one(tmp_path):
    corpus = copy_corpus(tmp_path)
    reindex(corpus, tmp_path / "one", workers=1, writers=1, check=check_index_state)
    reindex(corpus, tmp_path / "two", workers=1, writers=2, check=check_index_state)
    assert answers(tmp_path / "two") == answers(tmp_path / "one")


def test_incremental_reindexes_written_by_processes_answer_as_those_written_by_one(tmp_path):
    for writers in (1, 2):
        corpus = copy_corpus(tmp_path / str(writers))
        index = tmp_path / str(writers) / "index"
        reindex(corpus, index, workers=1, writers=writers, check=check_index_state)
        change(corpus, added=300)
        summary = reindex(corpus, index, workers=1, writers=writers, check=check_index_state)
        assert (summary.added, summary.updated, summary.deleted) == (300, 1, 2)
    assert answers(tmp_path / "2" / "index") == answers(tmp_path / "1" / "index")
    with open_view(tmp_path / "2" / "index") as view:
        assert search(view, SearchRequest(q="zorvexa")).total == 301


class KillWriters(Reporter):
    """Kills the reindex's writer processes once some pages were read, as the OOM killer would."""

    def __init__(self, after: int):
        self.after, self.read, self.killed = after, 0, []

    def advance(self) -> None:
        self.read += 1
        if self.read == self.after:
            for process in multiprocessing.active_children():
                if process.name.startswith(WRITER_PROCESS_NAME):
                    os.kill(process.pid, signal.SIGKILL)
                    self.killed.append(process.pid)


@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_a_killed_writer_process_fails_the_reindex_clearly_and_the_live_index_keeps_serving(tmp_path, full):
    corpus = copy_corpus(tmp_path)
    index = tmp_path / "index"
    reindex(corpus, index, workers=1, check=check_index_state)
    live, before = current_generation(index), answers(index)
    change(corpus)
    killer = KillWriters(after=1)
    with pytest.raises(WriterProcessError, match="nothing was published and the live index keeps serving"):
        reindex(corpus, index, full=full, workers=1, writers=2, reporter=killer, check=check_index_state)
    assert len(killer.killed) == 2
    assert current_generation(index) == live and answers(index) == before
    assert not multiprocessing.active_children()
    # The next reindex finishes the change.
    summary = reindex(corpus, index, workers=1, writers=2, check=check_index_state)
    assert summary.failed == 0
    with open_view(index) as view:
        assert search(view, SearchRequest(q="zorvexa")).total == 2


def test_documents_deleted_or_replaced_after_a_writer_process_took_them_are_gone_at_commit(tmp_path):
    generation = tmp_path / "generation"
    generation.mkdir()
    writer = GenerationWriter(generation, fresh=True, processes=2)
    ids = [f"doc{number}" for number in range(3 * DOCUMENTS_PER_BATCH)]
    for doc_id in ids:
        writer.write({"id": doc_id, "title": f"Release {doc_id}", "body": "first version", "language": "en"})
    # By now the first batches are with the writer processes.
    writer.delete(ids[0])
    writer.write({"id": ids[1], "title": "Corrected", "body": "second version", "language": "en"})
    writer.delete(ids[-1])
    writer.commit()
    live, copies = count_copies(generation, ids)
    assert live == len(ids) - 2
    assert copies == {doc_id: 0 if doc_id in (ids[0], ids[-1]) else 1 for doc_id in ids}
    with open_generation(generation).searcher() as searcher:
        assert searcher.document(id=ids[1])["body"] == "second version"
