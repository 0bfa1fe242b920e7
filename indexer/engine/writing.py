"""Writing a generation of the index: the one writer of a reindex, its documents, and its one commit."""

from __future__ import annotations

from pathlib import Path

from whoosh.index import LockError
from whoosh.query import Term

from indexer.engine.analysis import document_language
from indexer.engine.schema import SCHEMA, is_current
from indexer.engine.storage import WRITE_LOCK_SUFFIX, create_index, latest_commit, open_generation

# Whoosh's posting pool; more memory means fewer temporary runs to merge.
WRITER_LIMIT_MB = 256


class GenerationWriter:
    """Add, replace and delete documents in one generation folder, then commit them at once."""

    def __init__(self, generation: Path, *, fresh: bool):
        self.generation = generation
        self.fresh = fresh
        # Read on demand: the writer's look-ups of ids to replace touch little of a large index,
        # and mapping all of it cost 1.1 GB more at 100,000 documents.
        self._ix = create_index(generation, SCHEMA) if fresh else open_generation(generation, mmap=False)
        self._writer = None

    def _open(self):
        """Return Whoosh's writer, opened on first use."""
        if self._writer is None:
            try:
                self._writer = self._ix.writer(limitmb=WRITER_LIMIT_MB)
            except LockError:
                # The caller holds the reindex lock, so no live reindex holds Whoosh's: it was left
                # locked by a killed one's children. A new lock file is a new, free lock.
                (self.generation / f"{self._ix.indexname}{WRITE_LOCK_SUFFIX}").unlink(missing_ok=True)
                self._writer = self._ix.writer(limitmb=WRITER_LIMIT_MB)
        return self._writer

    def write(self, fields: dict) -> None:
        """Add a document, or replace the one with its id (in a generation that started with documents)."""
        # Its text is analysed as it is added, in its language.
        with document_language(fields.get("language")):
            if self.fresh:
                self._open().add_document(**fields)
            else:
                self._open().update_document(**fields)

    def delete(self, doc_id: str) -> None:
        """Remove the document with an id."""
        self._open().delete_by_term("id", doc_id)

    @property
    def next_commit(self) -> int:
        """Return the number the commit will have (file states are saved under it before it is made)."""
        return self._open().generation

    def commit(self) -> None:
        """Commit everything written, at once."""
        self._open().commit()
        self._writer = None

    def cancel(self) -> None:
        """Drop everything written since the last commit."""
        if self._writer is not None:
            try:
                self._writer.cancel()
            except Exception:  # a writer that failed mid-commit may refuse; the lock goes with its owner
                pass
            self._writer = None


def count_copies(generation: Path, doc_ids) -> tuple[int, dict[str, int]]:
    """Return how many live documents a generation holds, and how many of them have each of some ids."""
    with open_generation(generation).searcher() as searcher:
        return searcher.doc_count(), {
            doc_id: len(list(searcher.docs_for_query(Term("id", doc_id)))) for doc_id in doc_ids
        }


def describe(generation: Path) -> tuple[int, bool]:
    """Return a generation's latest commit number and whether its schema is the one this version writes."""
    return latest_commit(generation), is_current(open_generation(generation).schema)
