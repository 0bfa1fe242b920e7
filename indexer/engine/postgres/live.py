"""The live index of a server process on PostgreSQL: LiveIndex's leases and warm switch, on the published state."""

from __future__ import annotations

from indexer.engine.live import LiveIndex, _Lease
from indexer.engine.postgres import store
from indexer.engine.postgres.views import open_published_view
from indexer.engine.storage import IndexMissingError
from indexer.engine.view import IndexView


class PostgresLiveIndex(LiveIndex):
    """The published state of one database, open once in this process; a new state is noticed by its number."""

    def __init__(self, url: str, *, replicas: tuple[str, ...] | None = None, **settings):
        self.nodes = store.nodes_for(url, replicas)
        self.where = store.describe(url)
        super().__init__(url, **settings)

    @staticmethod
    def _location(index):
        return str(index)

    def _stamp(self):
        """Return the published state's number as a healthy node has it (one short query), or None."""
        return store.published_number(self.nodes)

    def _open_view(self) -> IndexView:
        return open_published_view(self.nodes, self.where, cache_bytes=self.cache_bytes, time_budget=self.time_budget)

    def _same_state(self, lease: _Lease) -> bool:
        return lease.view.state == self._stamp()

    def _nodes_health(self) -> list[dict]:
        """Return each node's role, health and replay lag as last checked (at most health_seconds ago)."""
        return self.nodes.health()

    def _cleanup(self) -> None:
        """Nothing: the reindex deletes the states no reader needs."""

    def acquire(self) -> _Lease:
        lease = super().acquire()
        if lease.stamp is None:
            # Opened although nothing was published a moment before: say so as the Whoosh index does.
            self.release(lease)
            raise IndexMissingError(f"No index in the PostgreSQL database at {self.where}")
        return lease
