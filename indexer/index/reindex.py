"""Bring the index up to date with a corpus: incrementally, or as a fresh generation swapped in.

Pages are cleaned in worker processes (see page_pipeline). This process owns the index writer;
a large run hands its documents to writer processes, one new segment each (see engine.writing).
Each reindex that changes anything writes a new generation (an incremental one starting from the
live generation's files), commits once, checks the result and only then swaps it in: a search
sees the index before or after a reindex, never in between, and never a state that failed its
check.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.config import cache_path, index_path
from indexer.engine import backends
from indexer.engine.schema import SCHEMA_VERSION, file_fields
from indexer.engine.storage import (
    current_generation,
    fork_generation,
    latest_commit,
    new_generation,
    publish,
    remove_generation,
    remove_stale_generations,
)
from indexer.engine.writing import GenerationWriter, count_copies, describe
from indexer.engine.writing import WriterProcessError as WriterProcessError  # raised by reindex()
from indexer.index.clean_cache import CACHE_FILE_NAME, CleanCache, cleaner_fingerprint
from indexer.index.cleaning import outcomes
from indexer.index.lock import reindex_lock
from indexer.index.manifest_digests import CACHE_FILE_NAME as MANIFEST_DIGESTS_FILE
from indexer.index.manifest_digests import ManifestDigests
from indexer.index.pages import Outcome, Task, scan_corpus
from indexer.index.state import RACY_MARGIN_NS, FileState, IndexState, load_state, remove_other_states, save_state

# Documents written or removed whose presence the check of a new state confirms, at most.
CHECKED_IDS = 200
# Why a first build is a full one: nothing to say to the user.
FIRST_BUILD = ""
# From this many pages to read, a run writes with one process per core, unless told how many.
MIN_PAGES_FOR_WRITERS = 2000


class CorpusMissingError(Exception):
    """The corpus folder does not exist; the message says how to name another."""


class IndexCheckError(Exception):
    """A reindex's new state failed its check and was not published; the previous one keeps serving."""


@dataclass(frozen=True)
class Expected:
    """What a new index state must hold: how many documents, and which it wrote and removed."""

    documents: int
    # Document id -> the page file it was made from.
    written: dict[str, str]
    removed: frozenset[str]


# Opens a new state (a generation folder, or a PostgreSQL state: engine.backends.view_of opens either)
# and searches it, raising an exception that says what failed. The product's search lives above the
# indexer, so the command line passes one (searchapp.index_check).
Check = Callable[[object, Expected], None]


@dataclass
class ReindexSummary:
    """What a reindex did, file by file."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    failed: int = 0
    seconds: float = 0.0
    full: bool = False
    # A full build that replaced an index, rather than the first build: every document was written again.
    rebuilt: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)

    @property
    def documents(self) -> int:
        """Return how many documents the new index holds: one per page that did not fail."""
        return self.added + self.updated + self.unchanged

    def line(self) -> str:
        """Return "added 1, updated 2, deleted 0, unchanged 200, failed 1 in 3.2 s", "rebuilt 203 (...)" in full."""
        counts = f"added {self.added}, updated {self.updated}, deleted {self.deleted}, unchanged {self.unchanged}"
        if self.rebuilt:
            # Relative to the index it replaced: "unchanged" pages were still read and written again.
            counts = f"rebuilt {self.documents} ({counts})"
        return f"{counts}, failed {self.failed} in {self.seconds:.1f} s"


class Reporter:
    """Hears about a reindex as it runs. This one ignores everything; the CLI shows it."""

    def waiting(self, holder) -> None:
        """Another reindex holds the index; this one waits for it."""

    def breaking_lock(self, holder) -> None:
        """A dead reindex's lock is being broken."""

    def note(self, message: str) -> None:
        """Something the user should know, such as why the index is rebuilt in full."""

    def start(self, total: int) -> None:
        """`total` pages are about to be read."""

    def advance(self) -> None:
        """One more page was read."""

    def failed(self, relpath: str, reason: str) -> None:
        """A page could not be indexed."""


def reindex(
    corpus: Path | str,
    index: Path | str,
    *,
    full: bool = False,
    wait: bool = True,
    workers: int | None = None,
    writers: int | None = None,
    reporter: Reporter | None = None,
    check: Check | None = None,
) -> ReindexSummary:
    """Update the index at `index` from the pages under `corpus` and return what changed.

    A new state is published only after it opens, holds the documents it should and passes
    `check` (when given). Raises CorpusMissingError, IndexCheckError when the new state fails,
    WriterProcessError when a writer process dies, and lock.IndexBusyError when another reindex
    holds the index and wait is False. `index` is a folder, or a PostgreSQL URL (see engine.backends).
    """
    corpus = Path(corpus)
    reporter = reporter or Reporter()
    if not corpus.is_dir():
        raise CorpusMissingError(f"No corpus at {corpus}: pass --corpus DIR or set SEARCHAPP_CORPUS")
    started = time.monotonic()
    if backends.is_postgres(index):
        options = dict(full=full, workers=workers, writers=writers, reporter=reporter, check=check)
        summary, why_full = _reindex_database(corpus, index, wait=wait, **options)
        summary.rebuilt = summary.full and why_full != FIRST_BUILD
        summary.seconds = time.monotonic() - started
        return summary
    index = Path(index)
    with reindex_lock(index, wait=wait, on_wait=reporter.waiting, on_break=reporter.breaking_lock):
        remove_stale_generations(index)
        previous, why_full = _previous_state(index)
        if why_full and not full:
            reporter.note(why_full)
        run = _Run(
            corpus,
            index,
            previous,
            full=full or why_full is not None,
            workers=workers or _cpu_count(),
            writers=writers,
            reporter=reporter,
            check=check,
        )
        summary = run.execute()
    summary.rebuilt = summary.full and why_full != FIRST_BUILD
    summary.seconds = time.monotonic() - started
    return summary


def _reindex_database(corpus: Path, url: str, *, wait: bool, full: bool, reporter: Reporter, workers, **options):
    """Reindex into a PostgreSQL database; return the summary and why it was built in full."""
    from indexer.engine.postgres.indexing import PostgresIndex

    database = PostgresIndex(url)
    with database.locked(wait=wait):
        found = database.previous()
        if found is None:
            previous, why_full, state_id = IndexState(), FIRST_BUILD, None
        else:
            state_id, text = found
            previous, why_full = _state_from_json(text)
        if why_full and not full:
            reporter.note(why_full)
        run = _DatabaseRun(
            corpus,
            database,
            previous,
            state_id,
            full=full or why_full is not None,
            workers=workers or _cpu_count(),
            reporter=reporter,
            **options,
        )
        return run.execute(), why_full


def _state_from_json(text: str | None) -> tuple[IndexState, str | None]:
    """Return a database's file state and why it must be built in full (None when it need not)."""
    if text is None:
        return IndexState(), "The index has no record of its files: rebuilding it in full."
    try:
        state = IndexState.from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        return IndexState(), f"The index's record of its files cannot be read ({exc}): rebuilding it in full."
    if state.schema_version != SCHEMA_VERSION:
        return state, "The index was built with another schema: rebuilding it in full."
    return state, None


def _previous_state(index: Path) -> tuple[IndexState, str | None]:
    """Return the live index's file state, and why it must be built in full (None when it need not)."""
    live = current_generation(index)
    if live is None:
        return IndexState(), FIRST_BUILD
    try:
        commit, schema_ok = describe(live)
        state = load_state(live, commit)
    except Exception as exc:  # whatever a damaged index raises, a rebuild replaces it
        return IndexState(), f"The index cannot be read ({type(exc).__name__}: {exc}): rebuilding it in full."
    if state is None:
        return IndexState(), "The index has no record of its files: rebuilding it in full."
    if state.schema_version != SCHEMA_VERSION or not schema_ok:
        return state, "The index was built with another schema: rebuilding it in full."
    return state, None


def _sample(ids) -> list[str]:
    """Return the ids a check looks at: all of a small change, a spread of a large one."""
    ids = sorted(ids)
    step = max(1, len(ids) // CHECKED_IDS)
    return ids[::step]


def _cpu_count() -> int:
    """Return how many CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _now() -> str:
    """Return the local time, ISO 8601 with its offset."""
    return dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")


class _Run:
    """One reindex, holding the lock: plan from the file state, read pages, write, commit."""

    def __init__(
        self,
        corpus: Path,
        index: Path,
        previous: IndexState,
        *,
        full: bool,
        workers: int,
        writers: int | None,
        reporter: Reporter,
        check: Check | None,
    ):
        self.corpus, self.index, self.previous = corpus, index, previous
        self.full, self.workers, self.reporter, self.check = full, workers, reporter, check
        self.writers = writers
        self.summary = ReindexSummary(full=full)
        self.fingerprint = cleaner_fingerprint()
        self.cache = CleanCache(self._cache_folder() / CACHE_FILE_NAME)
        self.stamp = time.time_ns()
        self.files: dict[str, FileState] = {}
        self.owners: dict[str, str] = {}  # document id -> the page file that provides it
        # Page files whose outcome this run has recorded (or that are unchanged), and pages that give the
        # id of an owner not yet settled, by that id.
        self.settled: set[str] = set()
        self.waiting: dict[str, list[Outcome]] = {}
        self.writer = None
        self.pages_to_read = 0
        # The generation this run reads (the live one) until it writes: then the new one it publishes.
        self.generation: Path | None = None
        self.forked = False
        self.written: dict[str, str] = {}
        self.removed: set[str] = set()

    def execute(self) -> ReindexSummary:
        """Run the reindex and return its summary."""
        try:
            tasks, deleted = self._plan()
            self.pages_to_read = len(tasks)
            self._begin()
            if self.full:
                self._writer()
            for old in deleted.values():
                self.summary.deleted += 1
                self._delete(old.doc_id)
            for done, outcome in enumerate(
                outcomes(tasks, self.cache, self.fingerprint, workers=self.workers, note=self.reporter.note)
            ):
                if done == 0:
                    # Only now: hashing every page and starting workers come first, and would
                    # skew the progress bar's estimate of the time left.
                    self.reporter.start(len(tasks))
                self._apply(outcome)
                self.reporter.advance()
            # Every owner has had its outcome by now; whatever still waits is a duplicate.
            self.settled.update(self.owners.values())
            for doc_id in list(self.waiting):
                self._release(doc_id)
            self.cache.flush(self.stamp)
            self._commit()
        except BaseException:
            if self.writer is not None:
                self.writer.cancel()
            self._discard()
            raise
        finally:
            self.cache.close()
        return self.summary

    def _cache_folder(self) -> Path:
        """Return where cleaned pages are cached: beside the index folder."""
        return cache_path(self.index)

    def _begin(self) -> None:
        """Choose the generation to write: a new one for a full run, else the live one (forked on first write)."""
        self.generation = new_generation(self.index) if self.full else current_generation(self.index)

    def _discard(self) -> None:
        """Delete the generation a failed run wrote, unless it is live."""
        if (
            (self.full or self.forked)
            and self.generation is not None
            and self.generation != current_generation(self.index)
        ):
            remove_generation(self.generation)

    def _plan(self) -> tuple[list[Task], dict[str, FileState]]:
        """Return the pages to read and the indexed files that are gone; count the rest unchanged."""
        manifests = ManifestDigests(self._cache_folder() / MANIFEST_DIGESTS_FILE, self.fingerprint, reread=self.full)
        pages = scan_corpus(self.corpus, manifests, self.stamp)
        manifests.save()
        present = {page.relpath for page in pages}
        deleted = {path: old for path, old in self.previous.files.items() if path not in present}
        # A page keeps its document id against newcomers while it is still there.
        self.owners = {old.doc_id: path for path, old in self.previous.files.items() if path in present}
        tasks = []
        # Modified this close to the last scan, a file may have changed again since without a new mtime.
        trusted_before = (self.previous.scanned_ns or 0) - RACY_MARGIN_NS
        for page in pages:
            old = self.previous.files.get(page.relpath)
            if (
                not self.full
                and old
                and page.signature
                and page.signature == old.signature
                and page.modified_ns < trusted_before
            ):
                self.files[page.relpath] = old
                self.settled.add(page.relpath)
                self.summary.unchanged += 1
            else:
                expected = old.source_hash if old and not self.full else None
                tasks.append(Task(page.relpath, page.path, page.metadata_digest, expected))
        return tasks, deleted

    def _apply(self, outcome: Outcome) -> None:
        """Record one page's outcome: in the cache, and in the index, the file state and the counts."""
        self._cache(outcome)
        self._settle(outcome)

    def _settle(self, outcome: Outcome) -> None:
        """Record one page's outcome in the index, the file state and the counts, or wait for its id's owner."""
        relpath, old = outcome.relpath, self.previous.files.get(outcome.relpath)
        if outcome.unchanged:
            self.files[relpath] = FileState(outcome.signature, old.source_hash, old.doc_id)
            self.summary.unchanged += 1
            self.settled.add(relpath)
            self._release(old.doc_id)
            return
        error = outcome.error
        doc_id = outcome.fields["id"] if outcome.fields else None
        owner = self.owners.get(doc_id)
        if error is None and owner not in (None, relpath):
            if owner not in self.settled:
                # Its owner comes later in this run and may give the id up (fail, or change): decide then.
                self.waiting.setdefault(doc_id, []).append(outcome)
                return
            error = f"has the same document id as {owner} (the same URL or manifest id): skipped"
        new_id = doc_id if error is None else None
        released = None
        if old and old.doc_id != new_id and self.owners.get(old.doc_id) == relpath:
            # Its old document is stale: the page now fails, or gives a document with another id.
            del self.owners[old.doc_id]
            self._delete(old.doc_id)
            released = old.doc_id
        self.settled.add(relpath)
        if error is not None:
            self.summary.failed += 1
            self.summary.failures.append((relpath, error))
            self.reporter.failed(relpath, error)
        else:
            fields = {**outcome.fields, **file_fields(relpath, outcome.size, outcome.mtime_ns, outcome.source_hash)}
            self._write(fields)
            self.owners[doc_id] = relpath
            self.files[relpath] = FileState(outcome.signature, outcome.source_hash, doc_id)
            if old is None:
                self.summary.added += 1
            elif old.source_hash == outcome.source_hash:
                self.summary.unchanged += 1
            else:
                self.summary.updated += 1
        for settled_id in (released, new_id):
            self._release(settled_id)

    def _release(self, doc_id: str | None) -> None:
        """Settle the pages that waited for the owner of an id, now that the owner's outcome is known."""
        for outcome in self.waiting.pop(doc_id, []) if doc_id else []:
            self._settle(outcome)

    def _cache(self, outcome: Outcome) -> None:
        """Keep a freshly cleaned page's result; mark a cached one as still in use."""
        if outcome.cache_key is None:
            return
        if outcome.from_cache:
            self.cache.touch(outcome.cache_key)
        elif outcome.error is not None:
            self.cache.put(outcome.cache_key, {"error": outcome.error}, self.stamp)
        else:
            self.cache.put(outcome.cache_key, {"fields": outcome.fields}, self.stamp)

    def _writer(self) -> GenerationWriter:
        """Return the one writer of this run; an incremental run first forks the live generation."""
        if self.writer is None:
            if not self.full:
                self.generation = fork_generation(self.index, self.generation)
                self.forked = True
            self.writer = GenerationWriter(self.generation, fresh=self.full, processes=self._writer_processes())
        return self.writer

    def _writer_processes(self) -> int:
        """How many processes write the documents; 0 means this one."""
        writers = self.writers
        if writers is None:
            # Starting writer processes (about a second) pays only when there is much to write.
            writers = self.workers if self.pages_to_read >= MIN_PAGES_FOR_WRITERS else 1
        return writers if writers > 1 else 0

    def _write(self, fields: dict) -> None:
        """Add a document (fresh generation) or replace the one with its id (forked generation)."""
        self._writer().write(fields)
        self.written[fields["id"]] = fields["path"]
        self.removed.discard(fields["id"])

    def _delete(self, doc_id: str) -> None:
        """Remove a document from a forked generation; a fresh one never had it."""
        if self.full:
            return
        self._writer().delete(doc_id)
        self.written.pop(doc_id, None)
        self.removed.add(doc_id)

    def _new_state(self, now: str) -> IndexState:
        """Return the file state of the run, as the new index state records it."""
        return IndexState(
            files=self.files,
            schema_version=SCHEMA_VERSION,
            corpus=str(self.corpus.resolve()),
            built_at=self.previous.built_at,
            full_built_at=self.previous.full_built_at,
            checked_at=now,
            scanned_ns=self.stamp,
        )

    def _learned(self, state: IndexState) -> bool:
        """Return True unless a run that wrote nothing found every file as the previous state records it.

        Then the previous state stays, scan time included: rewriting it (megabytes at 100,000 files)
        was most of a no-op run, and its older scan time only makes the next run trust fewer files.
        """
        return bool(self.pages_to_read) or state.corpus != self.previous.corpus or self.previous.scanned_ns is None

    def _commit(self) -> None:
        """Commit once, with the file state written first under the generation it describes."""
        now = _now()
        state = self._new_state(now)
        if self.writer is None:
            # Nothing to write; the state still learns new signatures of files found unchanged.
            if self._learned(state):
                save_state(self.generation, latest_commit(self.generation), state)
            return
        state.built_at = now
        if self.full:
            state.full_built_at = now
        commit = self.writer.next_commit
        save_state(self.generation, commit, state)
        self.writer.commit()
        remove_other_states(self.generation, commit)
        self._verify(self.generation)
        publish(self.index, self.generation)
        remove_stale_generations(self.index)
        if self.full:
            self.cache.prune(self.stamp)

    def _verify(self, target) -> None:
        """Raise IndexCheckError unless the new state opens, holds what it should and passes the check."""
        expected = Expected(len(self.files), dict(self.written), frozenset(self.removed))
        try:
            ids = _sample(expected.written) + _sample(expected.removed)
            found, copies = target.count_copies(ids) if not isinstance(target, Path) else count_copies(target, ids)
        except Exception as exc:  # whatever a broken index raises: the live one stays
            raise IndexCheckError(self._failed(f"it cannot be opened ({type(exc).__name__}: {exc})")) from exc
        if found != expected.documents:
            raise IndexCheckError(self._failed(f"it holds {found} documents where {expected.documents} were indexed"))
        for doc_id, n in copies.items():
            want = 1 if doc_id in expected.written else 0
            if n != want:
                page = expected.written.get(doc_id, "a removed page")
                raise IndexCheckError(self._failed(f"it holds {n} copies of the document of {page} (id {doc_id})"))
        if self.check is None:
            return
        try:
            self.check(target, expected)
        except Exception as exc:
            raise IndexCheckError(self._failed(str(exc))) from exc

    def _failed(self, why: str) -> str:
        """Return what to tell the user when the new state failed its check."""
        return (
            f"The reindexed index failed its check and was not published: {why}. The previous index keeps "
            f"serving; run `searchapp reindex --full` to rebuild it, and report this if it fails again."
        )


class _DatabaseRun(_Run):
    """One reindex of a PostgreSQL index, holding its lock: the same plan, pages and checks, another store."""

    def __init__(self, corpus: Path, database, previous: IndexState, state_id: int | None, **options):
        super().__init__(corpus, database.url, previous, **options)
        self.database = database
        self.state_id = state_id

    def _cache_folder(self) -> Path:
        """Return where cleaned pages are cached: a folder per database beside $SEARCHAPP_INDEX or var/index.

        One per database, as an index folder has its own: an entry's document id depends on its corpus.
        """
        return cache_path(index_path()) / "postgresql" / re.sub(r"[^\w.-]+", "-", backends.describe(self.index))

    def _begin(self) -> None:
        """Nothing to prepare: the writer starts from the published state."""

    def _discard(self) -> None:
        """Nothing: segments of a failed run belong to no published state and are deleted by the next run."""

    def _writer(self):
        """Return the one writer of this run."""
        if self.writer is None:
            self.writer = self.database.writer(self.state_id, fresh=self.full, processes=self._writer_processes())
        return self.writer

    def _commit(self) -> None:
        """Record the new state with its file record, check it, then publish it."""
        now = _now()
        state = self._new_state(now)
        if self.writer is None:
            if self.state_id is not None and self._learned(state):
                self.database.save_file_state(self.state_id, state.to_json())
            return
        state.built_at = now
        if self.full:
            state.full_built_at = now
        pending = self.database.commit(self.writer, state.to_json())
        self._verify(pending)
        self.database.publish(pending)
        if self.full:
            self.cache.prune(self.stamp)
