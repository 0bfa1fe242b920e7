"""Writing a generation of the index: the one writer of a reindex, its documents, and its one commit.

Many documents are analysed a batch at a time and written by writer processes, one new segment
each, while this process deletes replaced documents from the segments already there; the commit
then lists every segment at once.
"""

from __future__ import annotations

import queue
from pathlib import Path

from whoosh.index import LockError
from whoosh.reading import SegmentReader
from whoosh.writing import SegmentWriter

from indexer.engine.analysis import document_language
from indexer.engine.schema import SCHEMA, is_current
from indexer.engine.segment_writer import IndexSegmentWriter
from indexer.engine.storage import WRITE_LOCK_SUFFIX, create_index, latest_commit, open_generation
from indexer.engine.view import copies_in
from indexer.processes import exit_with_parent, process_context

# Whoosh's posting pool, per writing process; more memory means fewer temporary runs to merge.
WRITER_LIMIT_MB = 256
WRITER_PROCESS_NAME = "index-writer"
# A batch is analysed at once (batch_analysis.py): larger batches share more of its fixed cost.
DOCUMENTS_PER_BATCH = 256
# Batches handed over and not yet taken, per writer: bounds the documents held in memory.
BATCHES_AHEAD_PER_WRITER = 4


class WriterProcessError(Exception):
    """A writer process died or failed; the reindex published nothing."""


def check_alive(processes, stop) -> None:
    """Stop and raise WriterProcessError if a writer process died: the documents it held would be missing."""
    for process in processes:
        if process.exitcode not in (None, 0):
            stop()
            raise WriterProcessError(
                f"A process writing the index stopped (exit code {process.exitcode}) before the reindex was "
                "committed; nothing was published and the live index keeps serving. Run `searchapp reindex` "
                "again (`--writers 1` writes in one process)."
            )


class GenerationWriter:
    """Add, replace and delete documents in one generation folder, then commit them at once."""

    def __init__(self, generation: Path, *, fresh: bool, processes: int = 0):
        self.generation = generation
        self.fresh = fresh
        # Writer processes that analyse and write the documents; with none, this process does.
        self._processes = processes
        self._pool: WriterProcesses | None = None
        # Read on demand: the writer's look-ups of ids to replace touch little of a large index,
        # and mapping all of it cost 1.1 GB more at 100,000 documents.
        self._ix = create_index(generation, SCHEMA) if fresh else open_generation(generation, mmap=False)
        self._writer = None

    def _open(self):
        """Return Whoosh's writer, opened on first use."""
        if self._writer is None:
            try:
                self._writer = IndexSegmentWriter(self._ix, limitmb=WRITER_LIMIT_MB)
            except LockError:
                # The caller holds the reindex lock, so no live reindex holds Whoosh's: it was left
                # locked by a killed one's children. A new lock file is a new, free lock.
                (self.generation / f"{self._ix.indexname}{WRITE_LOCK_SUFFIX}").unlink(missing_ok=True)
                self._writer = IndexSegmentWriter(self._ix, limitmb=WRITER_LIMIT_MB)
        return self._writer

    def write(self, fields: dict) -> None:
        """Add a document, or replace the one with its id (in a generation that started with documents)."""
        if self._processes:
            writer = self._open()
            if not self.fresh:
                writer.delete_by_term("id", fields["id"])
            if self._pool is None:
                self._pool = WriterProcesses(self.generation, self._processes)
            if self._pool.write(fields):
                return
            # A copy of its id is with a writer process already: that one is deleted, and this one
            # goes into this process's own segment, which the deletion does not touch.
            with document_language(fields.get("language")):
                writer.add_document(**fields)
            return
        # Its text is analysed as it is added, in its language.
        with document_language(fields.get("language")):
            if self.fresh:
                self._open().add_document(**fields)
            else:
                self._open().update_document(**fields)

    def delete(self, doc_id: str) -> None:
        """Remove the document with an id."""
        self._open().delete_by_term("id", doc_id)
        if self._pool is not None:
            self._pool.delete(doc_id)

    @property
    def next_commit(self) -> int:
        """Return the number the commit will have (file states are saved under it before it is made)."""
        return self._open().generation

    def commit(self) -> None:
        """Commit everything written, at once."""
        writer = self._open()
        if self._pool is None:
            writer.commit()
        else:
            segments = self._pool.finish(writer)
            self._pool = None
            _commit_with(writer, segments)
        self._writer = None

    def cancel(self) -> None:
        """Drop everything written since the last commit."""
        if self._pool is not None:
            self._pool.stop()
            self._pool = None
        if self._writer is not None:
            try:
                self._writer.cancel()
            except Exception:  # a writer that failed mid-commit may refuse; the lock goes with its owner
                pass
            self._writer = None


def _commit_with(writer: SegmentWriter, segments: list) -> None:
    """Commit a writer's deletions and documents together with segments written by other processes."""
    # As Whoosh's own multi-process writer commits with separate segments.
    final = writer._merge_segments(None, None, None)
    if writer._added:
        final.append(writer._finalize_segment())
    else:
        writer._close_segment()
    writer._commit_toc(final + segments)
    writer._finish()


class WriterProcesses:
    """Writer processes that each write the documents handed to them into one new segment."""

    def __init__(self, generation: Path, count: int):
        context = process_context([__name__])
        self._jobs = context.Queue(count * BATCHES_AHEAD_PER_WRITER)
        self._results = context.Queue()
        self._batch: list[dict] = []
        self._sent: set[str] = set()
        self._deleted: set[str] = set()
        self._processes = [
            context.Process(
                target=write_segment,
                args=(str(generation), self._jobs, self._results),
                name=f"{WRITER_PROCESS_NAME}-{number}",
                daemon=True,
            )
            for number in range(1, count + 1)
        ]
        for process in self._processes:
            process.start()

    def write(self, fields: dict) -> bool:
        """Hand a document to whichever writer process is free next; False if its id was handed over before."""
        doc_id = fields["id"]
        if doc_id in self._sent:
            self._deleted.add(doc_id)
            return False
        self._batch.append(fields)
        self._sent.add(doc_id)
        if len(self._batch) >= DOCUMENTS_PER_BATCH:
            self._hand_over()
        return True

    def delete(self, doc_id: str) -> None:
        """Remember to remove a document already handed over from the segment it lands in."""
        if doc_id in self._sent:
            self._deleted.add(doc_id)

    def _hand_over(self) -> None:
        """Put the batch on the queue, waiting while the writers are behind."""
        self._put(self._batch)
        self._batch = []

    def _put(self, job: list[dict] | None) -> None:
        """Queue a job for the writer processes, raising if one of them has died meanwhile."""
        while True:
            self._check_alive()
            try:
                self._jobs.put(job, timeout=1)
                return
            except queue.Full:
                continue

    def _check_alive(self) -> None:
        check_alive(self._processes, self.stop)

    def finish(self, writer: SegmentWriter) -> list:
        """Return the segments written, with documents deleted since they were handed over marked deleted."""
        if self._batch:
            self._hand_over()
        for _ in self._processes:
            self._put(None)
        segments = []
        while len(segments) < len(self._processes):
            try:
                kind, value = self._results.get(timeout=1)
            except queue.Empty:
                self._check_alive()
                continue
            if kind == "error":
                self.stop()
                raise WriterProcessError(
                    f"A process writing the index failed ({value}); nothing was published and the live index "
                    "keeps serving."
                )
            segments.append(value)
        for process in self._processes:
            process.join()
        segments = [segment for segment in segments if segment is not None]
        if self._deleted:
            _delete_from(writer, segments, self._deleted)
        return segments

    def stop(self) -> None:
        """End the writer processes without their segments."""
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        for process in self._processes:
            process.join()
        # Batches no process will take must not keep this process from exiting.
        self._jobs.cancel_join_thread()


def _delete_from(writer: SegmentWriter, segments: list, doc_ids: set[str]) -> None:
    """Mark the documents with some ids deleted in new segments (written to the table of contents with them)."""
    for segment in segments:
        reader = SegmentReader(writer.storage, writer.schema, segment)
        try:
            for doc_id in doc_ids:
                if ("id", doc_id) in reader:
                    for docnum in reader.postings("id", doc_id).all_ids():
                        segment.delete_document(docnum)
        finally:
            reader.close()


def write_segment(generation: str, jobs, results) -> None:
    """In a writer process: add every batch of documents to one new segment, then hand the segment back."""
    exit_with_parent()
    try:
        ix = open_generation(Path(generation), mmap=False)
        # The reindex's own writer holds the index's lock for every process writing into it.
        writer = IndexSegmentWriter(ix, _lk=False, limitmb=WRITER_LIMIT_MB)
        while (batch := jobs.get()) is not None:
            writer.add_documents(batch)
        if writer.docnum:
            results.put(("segment", writer._finalize_segment()))
        else:
            # Its empty segment's files are not in the table of contents: the commit deletes them.
            writer._close_segment()
            results.put(("segment", None))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))
        raise


def count_copies(generation: Path, doc_ids) -> tuple[int, dict[str, int]]:
    """Return how many live documents a generation holds, and how many of them have each of some ids."""
    with open_generation(generation).searcher() as searcher:
        return searcher.doc_count(), copies_in(searcher, doc_ids)


def describe(generation: Path) -> tuple[int, bool]:
    """Return a generation's latest commit number and whether its schema is the one this version writes."""
    return latest_commit(generation), is_current(open_generation(generation).schema)
