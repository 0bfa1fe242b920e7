"""Random corpus changes and reindexes into PostgreSQL whose small segments merge, searched against the model.

The lifecycle itself runs on both backends in test_index_lifecycle.py (its [postgresql] runs); what only a
database does, merging its segments, is walked here.
"""

from __future__ import annotations

import pytest
import test_index_lifecycle as lifecycle
from hypothesis.stateful import run_state_machine_as_test

from indexer.engine import backends
from indexer.engine.postgres.store import close_nodes

from search_backends import Backend


@pytest.fixture(autouse=True)
def clean_cache_in_tmp(tmp_path, monkeypatch):
    """A database's clean cache goes beside $SEARCHAPP_INDEX: in the test's folder, not the working directory."""
    monkeypatch.setenv("SEARCHAPP_INDEX", str(tmp_path / "var" / "index"))


class DatabaseIndexLifecycle(lifecycle.IndexLifecycle):
    """The Whoosh lifecycle's corpus changes and checks, with the index in a fresh PostgreSQL database."""

    cluster = None

    def __init__(self):
        super().__init__()
        self.database = self.cluster.create_database()
        self.index = self.cluster.primary.url(self.database)

    def close(self):
        try:
            super().close()
        finally:
            close_nodes(self.index)
            self.cluster.drop_database(self.database)


@pytest.fixture
def on_database(pg_cluster, monkeypatch):
    """The lifecycle's searches opened through the backend switch, reading the primary only."""
    monkeypatch.setattr(lifecycle, "open_view", backends.open_view)
    monkeypatch.delenv("SEARCHAPP_REPLICAS", raising=False)
    pg_cluster.heal()
    DatabaseIndexLifecycle.cluster = pg_cluster


def test_random_corpus_changes_keep_the_index_exact_when_every_two_small_segments_merge(on_database, monkeypatch):
    from indexer.engine.postgres import writing

    monkeypatch.setattr(writing, "MERGE_AT", 2)
    # As many sequences as the lifecycle's own [postgresql] walk (half of Whoosh's), each as long: in CI, 20 of
    # 25 steps instead of 40, which took 145 s of the suite; every reindex still merges.
    run_state_machine_as_test(DatabaseIndexLifecycle, settings=lifecycle.walks(Backend("postgresql")))
