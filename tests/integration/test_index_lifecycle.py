"""Random sequences of corpus changes and reindexes, each state searched through the product against a model."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from indexer.engine.backends import open_view
from indexer.index.reindex import reindex
from indexer.index.stats import index_stats
from searchapp import create_app
from searchapp.index_check import check_index_state
from searchapp.search import SearchRequest, document, search

from lifecycle_model import (
    COLLECTION,
    FOLDERS,
    MARKERS,
    REAL_PAGES,
    SOURCES,
    Corpus,
    all_hits,
    doc_fields,
    facet_counts,
    hit_fields,
    matching,
    model_queries,
    page_html,
    page_text,
)
from search_backends import Backend
from site_fixtures import serve_app

# Fast by default; CI walks five times as many sequences, twice as long. SEARCHAPP_TEST_SCALE=N walks N times
# as many, for a long hunt.
SCALE = int(os.environ.get("SEARCHAPP_TEST_SCALE") or (5 if os.environ.get("CI") else 1))
SEQUENCES = settings(
    max_examples=8 * SCALE,
    stateful_step_count=25 if SCALE > 1 else 12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

markers = st.lists(st.sampled_from(MARKERS), min_size=1, max_size=4)
paragraph = st.builds(
    lambda words, filler: " ".join(words) + f" {filler}.",
    markers,
    st.sampled_from(["said the statement", "the release adds", "in Minsk today"]),
)
names = st.text("abcdefgh", min_size=1, max_size=6)
dates = st.sampled_from([None, "2021-03-04", "2022-11-30", "2023-01-15"])
# A correction, with the words a user will search for.
corrections = st.builds(lambda words: "Correction: " + " ".join(words) + ".", markers)


@st.composite
def generated_pages(draw) -> tuple[str, str | bytes]:
    """Return (suffix, content) of a page a new site might give: fields missing, scripts, junk."""
    kind = draw(st.sampled_from(["html", "html", "text", "markdown", "binary", "empty", "broken"]))
    title = draw(st.one_of(st.none(), st.builds(lambda w: "Statement on " + " ".join(w), markers)))
    body = draw(st.lists(paragraph, min_size=1, max_size=3))
    source = draw(st.one_of(st.none(), st.sampled_from(SOURCES)))
    if kind == "html":
        return ".html", page_html(title, body, date=draw(dates), source=source, script=draw(st.booleans()))
    if kind == "text":
        return ".txt", page_text(title, body, source=source)
    if kind == "markdown":
        front = f'---\ntitle: "{title}"\n---\n\n' if title else ""
        return ".md", front + "\n\n".join(body) + "\n"
    if kind == "binary":
        return ".html", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    if kind == "empty":
        return ".txt", b""
    return ".html", f"<html><body><div><p>{body[0]}<b><i></div></span><p>{body[-1]}<![CDATA[ </body>"


class IndexLifecycle(RuleBasedStateMachine):
    """A user's corpus: pages added, corrected, moved, deleted and described, then reindexed and searched."""

    pages = Bundle("pages")
    # Processes writing each reindex's documents: none but the reindex's own.
    writers = 1

    def __init__(self, backend: Backend | None = None):
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="lifecycle-"))
        self.corpus = Corpus(self.tmp / "corpus")
        self.backend = backend or Backend("whoosh")
        self.index = self.backend.new_location(self.tmp)
        self.reindexed = False
        self.reindexes = 0
        self.counter = 0

    def teardown(self):
        try:
            # Whatever the sequence did last, the corpus as it ends is indexed and searched too: a sequence
            # that never reindexed still checks its first build.
            self.run_reindex(full=False)
        finally:
            self.close()

    def close(self):
        """Remove the corpus and the index."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.backend.remove(self.index)

    def _name(self, folder: str, suffix: str) -> str:
        self.counter += 1
        return f"{folder}/p{self.counter}{suffix}"

    @initialize(target=pages, count=st.integers(2, len(REAL_PAGES)))
    def start_with_real_pages(self, count):
        names = []
        for source in REAL_PAGES[:count]:
            name = f"loose/{source.name}"
            self.corpus.copy_real(source, name)
            names.append(name)
        return multiple(*names)

    # -- the corpus changes --

    @rule(target=pages, page=generated_pages(), folder=st.sampled_from(FOLDERS))
    def add_page(self, page, folder):
        suffix, content = page
        name = self._name(folder, suffix)
        self.corpus.write(name, content)
        return name

    @rule(target=pages, source=st.sampled_from(REAL_PAGES), folder=st.sampled_from(FOLDERS))
    def add_real_page(self, source, folder):
        # The same page saved twice (another folder) gives the same document: one is kept.
        name = f"{folder}/{source.name}"
        self.corpus.copy_real(source, name)
        return name

    @rule(
        target=pages,
        title=st.builds(lambda w: "Manifest title " + " ".join(w), markers),
        source=st.one_of(st.none(), st.sampled_from(SOURCES)),
        date=dates,
        body=paragraph,
    )
    def add_described_page(self, title, source, date, body):
        name = self._name(COLLECTION, ".txt")
        self.corpus.write(name, page_text(None, [body]))
        row = {"title": title, "source": source or "", "date": date or "", "url": ""}
        self.corpus.set_row(name.split("/", 1)[1], row)
        return name

    @rule(page=pages, text=corrections)
    def correct_page(self, page, text):
        if (self.corpus.root / page).exists():
            self.corpus.append(page, text)

    @rule(page=pages, replacement=generated_pages())
    def replace_page(self, page, replacement):
        if (self.corpus.root / page).exists():
            self.corpus.write(page, replacement[1])

    @rule(page=consumes(pages))
    def delete_page(self, page):
        if (self.corpus.root / page).exists():
            self.corpus.delete(page)

    @rule(target=pages, page=consumes(pages), folder=st.sampled_from(FOLDERS + [COLLECTION]))
    def move_page(self, page, folder):
        if not (self.corpus.root / page).exists():
            return page
        return self.corpus.move(page, folder)

    @rule(page=pages, source=st.one_of(st.none(), st.sampled_from(SOURCES)), date=dates)
    def describe_in_manifest(self, page, source, date):
        # A row for a page of the collection changes its metadata; a row for nothing else matters.
        if page.startswith(COLLECTION + "/") and (self.corpus.root / page).exists():
            self.corpus.set_row(
                page.split("/", 1)[1], {"title": "", "source": source or "", "date": date or "", "url": ""}
            )

    @rule(page=pages)
    def drop_manifest_row(self, page):
        if page.startswith(COLLECTION + "/"):
            self.corpus.set_row(page.split("/", 1)[1], None)

    # -- reindexing, and what must then hold --

    @rule(full=st.booleans())
    def run_reindex(self, full):
        summary = reindex(
            self.corpus.root, self.index, full=full, workers=1, writers=self.writers, check=check_index_state
        )
        self.expected, failed = self.corpus.expected()
        self.reindexes += 1
        event(f"reindexes in a sequence: {min(self.reindexes, 5)}{'+' if self.reindexes >= 5 else ''}")
        if summary.failed:
            event("a reindex reported failed pages")
        if any(doc.source is None for doc in self.expected.values()):
            event("a release without a source")
        assert summary.failed == failed, summary.failures
        self.reindexed = True
        self.check_searches()

    @precondition(lambda self: self.reindexed)
    @invariant()
    def index_answers_like_the_model(self):
        # Between reindexes the corpus moves on; the index must still answer as of the last one.
        with open_view(self.index) as s:
            assert search(s, SearchRequest()).total == len(self.expected)

    def check_searches(self):
        """Search the index every way the product does and compare each answer with the model."""
        docs = self.expected
        with open_view(self.index) as s:
            hits = all_hits(s)
            assert len(hits) == len(docs) and {h["id"] for h in hits} == set(docs)
            for hit in hits:
                assert hit_fields(hit) == doc_fields(docs[hit["id"]]), hit["id"]
            browse = search(s, SearchRequest())
            sources, years, undated = facet_counts(docs)
            assert {v["value"]: v["count"] for v in browse.facets["source"]} == sources
            assert {v["value"]: v["count"] for v in browse.facets["year"]} == years
            assert browse.undated == undated
            for text, meaning in model_queries():
                found = {h["id"] for h in all_hits(s, q=text)}
                assert found == matching(docs, meaning), text
            marked = matching(docs, ("word", MARKERS[0]))
            if marked:
                # Counted over a query's matches, not the whole index.
                answer = search(s, SearchRequest(q=MARKERS[0]))
                sources_of, years_of, undated_of = facet_counts({d: docs[d] for d in marked})
                assert {v["value"]: v["count"] for v in answer.facets["source"]} == sources_of
                assert {v["value"]: v["count"] for v in answer.facets["year"]} == years_of
                assert answer.undated == undated_of
            for source in sources:
                found = {h["id"] for h in all_hits(s, q=MARKERS[0], sources=(source,))}
                assert found == {
                    d for d in matching(docs, ("word", MARKERS[0])) if (docs[d].source or "Unknown source") == source
                }
            for doc_id, doc in list(docs.items())[:5]:
                assert document(s, doc_id)["body"] == doc.body
        assert index_stats(self.index)["documents"] == len(docs)


def walks(backend: Backend, share: int = 1) -> settings:
    """The sequences a walk takes on a backend: a share of SEQUENCES, half of that on PostgreSQL.

    Every reindex there costs two to three times Whoosh's (a database round trip per segment and state), and the
    model the walks check is the same on both, so half as many sequences keep the suite's time (about 25 s a walk
    here) while each still reindexes and searches every step on the database.
    """
    if backend.name == "postgresql":
        return settings(SEQUENCES, max_examples=max(2, SEQUENCES.max_examples // share // 2))
    return settings(SEQUENCES, max_examples=max(3, SEQUENCES.max_examples // share))


def test_random_corpus_changes_keep_the_index_searchable_and_exact(search_backend):
    run_state_machine_as_test(lambda: IndexLifecycle(search_backend), settings=walks(search_backend))


class ProcessWrittenIndexLifecycle(IndexLifecycle):
    """The same sequences with every reindex's documents written by two writer processes."""

    writers = 2


@pytest.mark.slow
def test_random_corpus_changes_written_by_processes_keep_the_index_exact(search_backend):
    run_state_machine_as_test(lambda: ProcessWrittenIndexLifecycle(search_backend), settings=walks(search_backend, 2))


SERVED_PATHS = ["/api/search?" + urlencode({"q": q}) for q, _ in model_queries()[:8]] + [
    "/api/search",
    "/?q=" + MARKERS[0],
    "/feed.atom?q=" + MARKERS[1],
    "/api/search?sort=newest&page=2&per_page=3",
]


class ServedIndexLifecycle(IndexLifecycle):
    """The same sequences while a real server answers requests from a client thread without pause."""

    def __init__(self, backend: Backend | None = None):
        super().__init__(backend)
        self.errors: list[str] = []
        self.requests = 0
        self.stop = threading.Event()
        self.server = None

    @rule(full=st.booleans())
    def run_reindex(self, full):
        super().run_reindex(full)
        if self.server is None:
            app = create_app({"TESTING": True, "INDEX": str(self.index)})
            self.server = serve_app(app)
            self.url = self.server.__enter__()
            self.client = threading.Thread(target=self._hammer, daemon=True)
            self.client.start()
        # Once it has moved to the new state, the server answers as the model says.
        served = self._get_json("/api/search?" + urlencode({"q": MARKERS[0], "per_page": 100}))
        assert served["total_all_words"] == len(matching(self.expected, ("word", MARKERS[0])))

    def _get_json(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.loads(response.read())

    def _hammer(self):
        while not self.stop.is_set():
            for path in SERVED_PATHS:
                try:
                    with urllib.request.urlopen(self.url + path, timeout=30) as response:
                        response.read()
                        self.requests += 1
                except urllib.error.HTTPError as exc:
                    self.errors.append(f"{path}: {exc.code} {exc.read()[:300]!r}")
                except OSError as exc:
                    self.errors.append(f"{path}: {exc}")

    def close(self):
        """Stop the client and the server, then remove the corpus and the index; no request may have failed."""
        self.stop.set()
        if self.server is not None:
            self.client.join(timeout=30)
            self.server.__exit__(None, None, None)
        super().close()
        assert not self.errors, self.errors[:5]


@pytest.mark.slow
def test_a_server_keeps_answering_across_every_reindex(search_backend):
    run_state_machine_as_test(lambda: ServedIndexLifecycle(search_backend), settings=walks(search_backend, 4))
