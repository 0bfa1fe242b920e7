"""Writing a new state of the index into PostgreSQL: documents in segments of a batch each, deletions, one state.

Each batch of documents is analysed (by writer processes when there are many) into one segment,
loaded with binary COPY in a transaction of its own. Documents replaced or deleted are marked in
the new state's deletion bitmap. Nothing is visible to searches until the state is published.
"""

from __future__ import annotations

import queue

from indexer.engine.bitmaps import positions, to_bits
from indexer.engine.postgres import store
from indexer.engine.postgres.encoding import DOCUMENT_COLUMNS, POSTING_COLUMNS, Segment, build_segment
from indexer.engine.postgres.merging import MERGE_AT, merge_segments
from indexer.engine.postgres.nodes import Nodes
from indexer.engine.schema import SCHEMA_VERSION
from indexer.engine.writing import WriterProcessError, check_alive
from indexer.processes import exit_with_parent, process_context

DOCUMENTS_PER_SEGMENT = 2000
WRITER_PROCESS_NAME = "index-writer"
# Batches handed over and not yet taken, per process: bounds the documents held in memory.
BATCHES_AHEAD_PER_WRITER = 2
COPY_DOCUMENTS = f"COPY documents ({', '.join(DOCUMENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
COPY_POSTINGS = f"COPY postings ({', '.join(POSTING_COLUMNS)}) FROM STDIN (FORMAT BINARY)"


def load_segment(conn, segment: Segment) -> None:
    """COPY a segment's documents and postings and record it, on a connection in a transaction."""
    with conn.cursor() as cur:
        with cur.copy(COPY_DOCUMENTS) as copy:
            copy.write(segment.documents)
        with cur.copy(COPY_POSTINGS) as copy:
            copy.write(segment.postings)
        cur.execute(
            "INSERT INTO segments (id, base, count, fields, lengths, totals) VALUES (%s, %s, %s, %s, %s, %s)",
            [segment.id, segment.base, segment.count, segment.fields, segment.lengths, segment.totals],
        )


class StateWriter:
    """Add, replace and delete documents on top of the published state, then record the new state at once."""

    def __init__(self, nodes: Nodes, previous: int | None, *, fresh: bool, processes: int = 0):
        self.nodes = nodes
        self.fresh = fresh or previous is None
        with nodes.primary() as conn:
            self._next_segment, self._next_docnum = store.next_numbers(conn)
            if self.fresh:
                self._segments, deleted, self._doc_count = [], b"", 0
            else:
                self._segments, deleted, self._doc_count = store.state_segments(conn, previous)
        self._previous = previous
        self._deleted: set[int] = set(positions(int.from_bytes(deleted, "little")).tolist()) if deleted else set()
        # Document id -> global number of the live documents of the previous state, read when first needed.
        self._live: dict[str, int] | None = {} if self.fresh else None
        self._written: dict[str, int] = {}
        self._batch: list[dict] = []
        self._batch_segment: int | None = None
        self._batch_base = 0
        self._pool = WriterProcesses(processes) if processes else None
        self._pending = 0
        self.segments_written = 0
        self.merged = 0  # small segments merged into one at the commit

    def _live_documents(self) -> dict[str, int]:
        if self._live is None:
            with self.nodes.primary() as conn:
                rows = conn.execute(
                    "SELECT doc_id, docnum FROM documents WHERE segment = ANY(%s)", [self._segments]
                ).fetchall()
            self._live = {doc_id: docnum for doc_id, docnum in rows if docnum not in self._deleted}
        return self._live

    def _remove(self, doc_id: str) -> None:
        docnum = self._written.pop(doc_id, None)
        if docnum is None and not self.fresh:
            docnum = self._live_documents().pop(doc_id, None)
        if docnum is not None:
            self._deleted.add(docnum)
            self._doc_count -= 1

    def write(self, fields: dict) -> None:
        """Add a document, replacing the one with its id."""
        doc_id = fields["id"]
        self._remove(doc_id)
        if self._batch_segment is None:
            self._batch_segment, self._batch_base = self._next_segment, self._next_docnum
            self._next_segment += 1
        self._written[doc_id] = self._next_docnum
        self._next_docnum += 1
        self._doc_count += 1
        self._batch.append(fields)
        if len(self._batch) >= DOCUMENTS_PER_SEGMENT:
            self._hand_over()

    def delete(self, doc_id: str) -> None:
        """Remove the document with an id."""
        self._remove(doc_id)

    def _hand_over(self) -> None:
        """Analyse the batch into a segment (in a writer process, if there are any) and load what is done."""
        if not self._batch:
            return
        job = (self._batch_segment, self._batch_base, self._batch)
        self._segments.append(self._batch_segment)
        self._batch, self._batch_segment = [], None
        if self._pool is None:
            self._load(build_segment(*job))
            return
        self._pool.put(job)
        self._pending += 1
        while (segment := self._pool.done()) is not None:
            self._pending -= 1
            self._load(segment)

    def _load(self, segment: Segment) -> None:
        with self.nodes.primary() as conn:
            load_segment(conn, segment)
        self.segments_written += 1

    def commit(self, file_state: str) -> int:
        """Load what is left, record the new state with the file record, and return its number (not published)."""
        self._hand_over()
        if self._pool is not None:
            while self._pending:
                self._load(self._pool.wait())
                self._pending -= 1
            self._pool.stop()
            self._pool = None
        order = self._merged(sorted(self._segments))
        deleted = to_bits(sorted(self._deleted)) if self._deleted else 0
        packed = deleted.to_bytes((deleted.bit_length() + 7) // 8, "little")
        with self.nodes.primary() as conn:
            state = store.add_state(conn, order, packed, self._doc_count, SCHEMA_VERSION)
            store.save_file_state(conn, state, file_state)
        return state

    def _merged(self, order: list[int]) -> list[int]:
        """Return the state's segments with its small ones merged into one, when it has many; prune deletions."""
        with self.nodes.primary() as conn:
            spans = conn.execute("SELECT id, base, count FROM segments WHERE id = ANY(%s)", [order]).fetchall()
            small = sorted(segment for segment, _, count in spans if count < DOCUMENTS_PER_SEGMENT)
            if len(small) >= MERGE_AT:
                merged, base = self._next_segment, self._next_docnum
                self._next_segment += 1
                self._next_docnum += merge_segments(conn, small, self._deleted, merged, base)
                order = [segment for segment in order if segment not in small] + [merged]
                spans = [span for span in spans if span[0] not in small]
                self.merged = len(small)
        # Deletions of documents in segments the state no longer lists need no bits.
        inside = [(base, base + count) for _, base, count in spans]
        self._deleted = {d for d in self._deleted if any(low <= d < high for low, high in inside)}
        return order

    def cancel(self) -> None:
        """Stop the writer processes; segments already loaded are removed by the next cleanup."""
        if self._pool is not None:
            self._pool.stop()
            self._pool = None


class WriterProcesses:
    """Processes that analyse batches of documents into segments' COPY data."""

    def __init__(self, count: int):
        context = process_context([__name__])
        self._jobs = context.Queue(count * BATCHES_AHEAD_PER_WRITER)
        self._results = context.Queue()
        self._processes = [
            context.Process(
                target=build_segments, args=(self._jobs, self._results), name=f"{WRITER_PROCESS_NAME}-{n}", daemon=True
            )
            for n in range(1, count + 1)
        ]
        for process in self._processes:
            process.start()

    def put(self, job) -> None:
        """Queue a batch, waiting while the processes are behind."""
        while True:
            self._check_alive()
            try:
                self._jobs.put(job, timeout=1)
                return
            except queue.Full:
                continue

    def done(self) -> Segment | None:
        """A segment analysed by now, or None."""
        try:
            return self._result(self._results.get_nowait())
        except queue.Empty:
            return None

    def wait(self) -> Segment:
        """The next segment analysed, waiting for it."""
        while True:
            try:
                return self._result(self._results.get(timeout=1))
            except queue.Empty:
                self._check_alive()

    def _result(self, item) -> Segment:
        kind, value = item
        if kind == "error":
            self.stop()
            raise WriterProcessError(
                f"A process writing the index failed ({value}); nothing was published and the live index keeps serving."
            )
        return value

    def _check_alive(self) -> None:
        check_alive(self._processes, self.stop)

    def stop(self) -> None:
        """End the processes."""
        for _ in self._processes:
            try:
                self._jobs.put_nowait(None)
            except queue.Full:
                break
        for process in self._processes:
            process.join(timeout=1)
            if process.is_alive():
                process.terminate()
                process.join()
        self._jobs.cancel_join_thread()


def build_segments(jobs, results) -> None:
    """In a writer process: analyse each batch handed over into a segment, until told to stop."""
    exit_with_parent()
    try:
        while (job := jobs.get()) is not None:
            results.put(("segment", build_segment(*job)))
    except BaseException as exc:
        results.put(("error", f"{type(exc).__name__}: {exc}"))
        raise
