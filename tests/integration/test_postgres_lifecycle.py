"""Random corpus changes and reindexes into PostgreSQL, each state searched against the brute-force model."""

from __future__ import annotations

import pytest
import test_index_lifecycle as lifecycle
from hypothesis.stateful import run_state_machine_as_test

from indexer.engine import backends
from indexer.engine.postgres.store import close_nodes


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


class ProcessWrittenDatabaseLifecycle(DatabaseIndexLifecycle):
    """The same, with each reindex's segments analysed by two writer processes."""

    writers = 2


@pytest.fixture
def on_database(pg_cluster, monkeypatch):
    """The lifecycle's searches opened through the backend switch, reading the primary only."""
    monkeypatch.setattr(lifecycle, "open_view", backends.open_view)
    monkeypatch.delenv("SEARCHAPP_REPLICAS", raising=False)
    pg_cluster.heal()
    DatabaseIndexLifecycle.cluster = pg_cluster


def test_random_corpus_changes_keep_the_database_index_exact(on_database):
    run_state_machine_as_test(DatabaseIndexLifecycle, settings=lifecycle.SEQUENCES)


@pytest.mark.slow
def test_random_corpus_changes_written_by_processes_keep_the_database_index_exact(on_database):
    settings = lifecycle.settings(lifecycle.SEQUENCES, max_examples=max(3, lifecycle.SEQUENCES.max_examples // 2))
    run_state_machine_as_test(ProcessWrittenDatabaseLifecycle, settings=settings)


def test_random_corpus_changes_keep_the_index_exact_when_every_two_small_segments_merge(on_database, monkeypatch):
    from indexer.engine.postgres import writing

    monkeypatch.setattr(writing, "MERGE_AT", 2)
    run_state_machine_as_test(DatabaseIndexLifecycle, settings=lifecycle.SEQUENCES)
