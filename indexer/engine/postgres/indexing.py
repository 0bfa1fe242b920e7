"""What a reindex does to a PostgreSQL index: lock it, migrate it, read the last state, write, check and publish."""

from __future__ import annotations

from contextlib import contextmanager

from indexer.engine.postgres import store
from indexer.engine.postgres.views import view_of_state
from indexer.engine.postgres.writing import StateWriter
from indexer.engine.view import IndexView


class PendingState:
    """A state a reindex recorded and has not published yet: it can be opened and checked first."""

    def __init__(self, index: PostgresIndex, state: int):
        self.index, self.state = index, state

    def view(self, **settings) -> IndexView:
        """Open the state for searching, on a node that has it (the primary, until it is published)."""
        return view_of_state(self.index.nodes, self.state, self.index.where, **settings)

    def count_copies(self, doc_ids) -> tuple[int, dict[str, int]]:
        """Return how many live documents the state holds, and how many of them have each of some ids."""
        with self.view() as view:
            return view.doc_count(), view.copies(doc_ids)

    def __str__(self) -> str:
        return f"state {self.state} of {self.index.where}"


class PostgresIndex:
    """One database as a reindex sees it, through the primary."""

    def __init__(self, url: str):
        self.url = url
        self.nodes = store.nodes_for(url)
        self.where = store.describe(url)

    @contextmanager
    def locked(self, *, wait: bool = True):
        """Hold the database's reindex lock, with the tables migrated and a killed run's debris removed."""
        with store.reindex_lock(self.nodes, wait=wait):
            store.prepare(self.nodes)
            store.remove_unused(self.nodes)
            yield self

    def previous(self) -> tuple[int, str | None] | None:
        """The published state's number and its file record (JSON), or None before the first reindex."""
        with self.nodes.primary() as conn:
            found = store.published(conn)
            if found is None:
                return None
            return found.state, store.load_file_state(conn, found.state)

    def writer(self, previous: int | None, *, fresh: bool, processes: int) -> StateWriter:
        """Return the writer of a new state on top of `previous` (or of nothing, when fresh)."""
        return StateWriter(self.nodes, previous, fresh=fresh, processes=processes)

    def commit(self, writer: StateWriter, file_state: str) -> PendingState:
        """Record the writer's new state, not yet published."""
        return PendingState(self, writer.commit(file_state))

    def save_file_state(self, state: int, file_state: str) -> None:
        """Keep a new file record for a state that stays published (a run that wrote nothing)."""
        with self.nodes.primary() as conn:
            store.save_file_state(conn, state, file_state)

    def publish(self, pending: PendingState) -> None:
        """Publish a checked state, then delete what no state still needs."""
        with self.nodes.primary() as conn:
            store.publish(conn, pending.state)
        store.remove_unused(self.nodes)
