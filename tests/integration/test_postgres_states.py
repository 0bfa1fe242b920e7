"""A PostgreSQL index's tables and states: migrations, readers across a reindex, a primary lost mid-reindex."""

from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner

from indexer.engine import backends
from indexer.engine.postgres import store, writing
from indexer.engine.postgres.migrations import LATEST, applied_version, migrate
from indexer.engine.postgres.nodes import Nodes, PrimaryUnavailableError
from indexer.engine.storage import IndexMissingError
from indexer.index.reindex import Reporter, reindex
from searchapp.cli import cli
from searchapp.index_check import check_index_state
from searchapp.search import SearchRequest, search

from search_fixtures import DOCUMENTS, write_corpus


@pytest.fixture(autouse=True)
def clean_cache_in_tmp(tmp_path, monkeypatch):
    """A database's clean cache goes beside $SEARCHAPP_INDEX: in the test's folder, not the working directory."""
    monkeypatch.setenv("SEARCHAPP_INDEX", str(tmp_path / "var" / "index"))


MORE = [(f"m{n}.txt", "Viasna", "2024-01-0" + str(1 + n % 9), "en", f"Minsk vigil {n}", f"Vigil number {n} in Minsk.")
        for n in range(14)]  # fmt: skip


class OnEachPage(Reporter):
    """Calls a function after each page a reindex reads."""

    def __init__(self, function):
        self.function = function
        self.pages = 0

    def advance(self) -> None:
        self.pages += 1
        self.function(self.pages)


def answers(view) -> tuple:
    """What a view answers to a browse and a word search: totals and hit ids."""
    browse, word = search(view, SearchRequest(per_page=50)), search(view, SearchRequest(q="minsk", per_page=50))
    return browse.total, [h["id"] for h in browse.hits], word.total, [h["id"] for h in word.hits]


@pytest.fixture
def primary_only(monkeypatch):
    monkeypatch.delenv("SEARCHAPP_REPLICAS", raising=False)


def test_a_fresh_database_migrates_once(pg_cluster_db):
    with psycopg.connect(pg_cluster_db.primary_url, autocommit=True) as conn:
        assert applied_version(conn) == 0
        assert migrate(conn) == list(range(1, LATEST + 1))
        assert migrate(conn) == []
        assert applied_version(conn) == LATEST


def test_an_older_database_is_refused_by_searches_and_migrated_forward_by_a_reindex(
    pg_cluster_db, tmp_path, primary_only
):
    url = pg_cluster_db.primary_url
    with psycopg.connect(url, autocommit=True) as conn:
        assert migrate(conn, up_to=1) == [1]
    with pytest.raises(IndexMissingError, match=r"older version \(1\): run `searchapp reindex --backend URL`"):
        backends.open_view(url)
    found = CliRunner().invoke(cli, ["search", "minsk", "--backend", url])
    assert found.exit_code == 1 and "run `searchapp reindex --backend URL`" in found.output
    reindex(write_corpus(tmp_path / "corpus"), url, workers=1, check=check_index_state)
    with psycopg.connect(url, autocommit=True) as conn:
        assert applied_version(conn) == LATEST
    with backends.open_view(url) as view:
        assert view.doc_count() == len(DOCUMENTS) + 1


def test_readers_see_the_old_state_until_the_new_one_is_published(pg_cluster_db, tmp_path, monkeypatch, primary_only):
    url = pg_cluster_db.primary_url
    corpus = write_corpus(tmp_path / "corpus")
    reindex(corpus, url, workers=1)
    monkeypatch.setattr(writing, "DOCUMENTS_PER_SEGMENT", 3)
    write_corpus(corpus, DOCUMENTS + MORE)
    with backends.open_view(url) as old:
        before = answers(old)
        seen = []

        def look(pages: int) -> None:
            # Batches of three are committed meanwhile: neither the open view nor a new one sees them.
            assert answers(old) == before
            with backends.open_view(url) as fresh:
                seen.append(fresh.version)
                assert answers(fresh) == before

        summary = reindex(corpus, url, workers=1, reporter=OnEachPage(look), check=check_index_state)
        assert summary.added == len(MORE) and len(set(seen)) == 1
        # The state it reads is kept for it after the publication.
        assert answers(old) == before
    with backends.open_view(url) as new:
        assert new.version != seen[0]
        assert answers(new)[0] == before[0] + len(MORE) and answers(new)[2] == before[2] + len(MORE)


@pytest.mark.slow
def test_a_primary_lost_during_a_reindex_fails_it_clearly_and_replicas_keep_serving(
    pg_cluster_db, tmp_path, monkeypatch
):
    url, cluster = pg_cluster_db.primary_url, pg_cluster_db.cluster
    monkeypatch.setenv("SEARCHAPP_REPLICAS", ",".join(pg_cluster_db.replica_urls))
    corpus = write_corpus(tmp_path / "corpus")
    reindex(corpus, url, workers=1)
    cluster.wait_caught_up()
    with backends.open_view(url) as view:
        before = answers(view)
    monkeypatch.setattr(writing, "DOCUMENTS_PER_SEGMENT", 3)
    write_corpus(corpus, DOCUMENTS + MORE)

    def kill_primary(pages: int) -> None:
        if pages == 8:  # after some segments were loaded
            cluster.kill(cluster.primary)

    with pytest.raises(PrimaryUnavailableError, match=r"start it or point SEARCHAPP_BACKEND at the new primary"):
        reindex(corpus, url, workers=1, reporter=OnEachPage(kill_primary))
    with backends.open_view(url) as view:
        assert answers(view) == before
    result = CliRunner().invoke(cli, ["reindex", "--corpus", str(corpus), "--backend", url, "--workers", "1"])
    assert result.exit_code == 1 and "start it or point SEARCHAPP_BACKEND at the new primary" in result.output


def test_a_reindex_told_not_to_wait_for_another_exits_busy_and_a_waiting_one_finishes(
    pg_cluster_db, tmp_path, primary_only
):
    url = pg_cluster_db.primary_url
    corpus = write_corpus(tmp_path / "corpus")
    args = ["reindex", "--corpus", str(corpus), "--backend", url, "--workers", "1"]
    with Nodes(url) as nodes, store.reindex_lock(nodes):
        busy = CliRunner().invoke(cli, [*args, "--no-wait"])
        assert busy.exit_code == 75, busy.output
        assert "is being rebuilt by another reindex: wait for it to finish" in busy.output
        assert busy.exception is None or isinstance(busy.exception, SystemExit)
        with pytest.raises(IndexMissingError):
            backends.open_view(url).close()
    done = CliRunner().invoke(cli, [*args, "--no-wait"])
    assert done.exit_code == 0, done.output
    with backends.open_view(url) as view:
        assert view.doc_count() == len(DOCUMENTS) + 1
