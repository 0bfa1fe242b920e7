"""Reads through `Nodes` under load while a replica dies, lags, or the primary dies, on real servers and plain SQL."""

from __future__ import annotations

import threading
import time

import pytest

from indexer.engine.postgres.nodes import PrimaryUnavailableError

pytestmark = pytest.mark.slow

READERS = 8
# What a reader sees: the node, the published state and how many releases that state holds, in one snapshot.
SNAPSHOT = """
SELECT inet_server_port(), p.state, (SELECT count(*) FROM releases r WHERE r.state = p.state) FROM published p
"""


def seed(db, rows: int) -> None:
    """Publish state 1 with `rows` releases, written on the primary and replayed by both replicas."""
    with db.connect(db.cluster.primary) as conn:
        conn.execute("CREATE TABLE releases (id int NOT NULL, state bigint NOT NULL)")
        conn.execute("CREATE TABLE published (state bigint NOT NULL)")
        conn.execute("INSERT INTO releases SELECT g, 1 FROM generate_series(1, %s) g", [rows])
        conn.execute("INSERT INTO published VALUES (1)")
    db.cluster.wait_caught_up()


def snapshot(conn) -> tuple[int, int, int]:
    return conn.execute(SNAPSHOT).fetchone()


class Readers:
    """Threads that read a snapshot through `Nodes.read()` until stopped, noting when each read ended and where."""

    def __init__(self, nodes, count: int = READERS, **options):
        self.nodes, self.options = nodes, options
        self.reads: list[tuple[float, float, tuple[int, int, int]]] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(count)]

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                seen = self.nodes.read(snapshot, **self.options)
            except BaseException as error:
                self.errors.append(error)
            else:
                self.reads.append((time.monotonic(), time.monotonic() - started, seen))

    def __enter__(self) -> Readers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def ports(self, after: float = 0.0, before: float = float("inf")) -> set[int]:
        """The ports that served reads ending in a span of time."""
        return {seen[0] for ended, _, seen in self.reads if after <= ended < before}


def test_reads_go_on_from_the_others_while_a_replica_dies(pg_cluster_db, pg_nodes):
    cluster = pg_cluster_db.cluster
    dying, surviving = cluster.replicas
    seed(pg_cluster_db, 100)
    nodes = pg_nodes(retry_seconds=1.0)
    with Readers(nodes) as readers:
        time.sleep(0.6)
        # Reads may find the node dead before kill() returns, which waits for its processes to end.
        killing = time.monotonic()
        cluster.kill(dying, hard=True)
        killed = time.monotonic()
        time.sleep(0.3)
        assert not nodes.health()[1]["up"]
        cluster.restart(dying)
        while dying.port not in readers.ports(after=killed + 0.2) and time.monotonic() < killed + 6:
            time.sleep(0.05)
    assert not readers.errors, readers.errors[0]
    assert {seen[1:] for _, _, seen in readers.reads} == {(1, 100)}
    assert readers.ports(before=killing - 0.1) == {dying.port, surviving.port}
    # Gone, and left alone for its back-off (1 s from when a read found it dead, no sooner than `killing`) even
    # once it is back; then it serves again (one death, one back-off).
    assert readers.ports(after=killed + 0.2, before=killing + 0.9) == {surviving.port}
    assert dying.port in readers.ports(after=killed + 0.9)
    # A read caught by the kill is read again elsewhere at once, not after a pool's timeout.
    assert max(took for _, took, _ in readers.reads) < 1.5


def test_a_paused_replica_is_skipped_for_a_state_newer_than_it_has(pg_cluster_db, pg_nodes):
    cluster = pg_cluster_db.cluster
    paused, current = cluster.replicas
    seed(pg_cluster_db, 100)
    nodes = pg_nodes(max_lag=3600)
    cluster.pause_replay(paused)
    # A reindex: the new state's releases first, then publication in its last transaction.
    with nodes.primary() as conn:
        conn.execute("INSERT INTO releases SELECT g, 2 FROM generate_series(1, 150) g")
    with nodes.primary() as conn:
        conn.execute("UPDATE published SET state = 2")
    cluster.wait_caught_up([current])
    with Readers(nodes, min_state=2) as newest, Readers(nodes, count=2) as anyone:
        time.sleep(1.0)
    assert not newest.errors and not anyone.errors
    assert {seen for _, _, seen in newest.reads} == {(current.port, 2, 150)}
    # Reads that ask for no state still use the paused replica, and see its older state whole.
    assert {seen for _, _, seen in anyone.reads} == {(paused.port, 1, 100), (current.port, 2, 150)}


def test_when_the_primary_dies_reads_go_on_and_a_write_fails_leaving_nothing_half_written(pg_cluster_db, pg_nodes):
    cluster = pg_cluster_db.cluster
    seed(pg_cluster_db, 100)
    nodes = pg_nodes()
    with Readers(nodes) as readers:
        time.sleep(0.3)
        with pytest.raises(PrimaryUnavailableError) as in_progress, nodes.primary() as conn:
            conn.execute("INSERT INTO releases SELECT g, 2 FROM generate_series(1, 50) g")
            cluster.kill(cluster.primary)
            killed = time.monotonic()
            conn.execute("UPDATE published SET state = 2")
        started = time.monotonic()
        with pytest.raises(PrimaryUnavailableError) as later, nodes.primary() as conn:
            conn.execute("UPDATE published SET state = 2")
        assert time.monotonic() - started < 5
        time.sleep(1.0)
    next_step = ": start it or point SEARCHAPP_BACKEND at the new primary; nothing was written."
    for raised in (in_progress, later):
        assert str(raised.value).startswith(f"The PostgreSQL primary at {cluster.primary.address} does not answer")
        assert str(raised.value).endswith(next_step)
    assert not readers.errors, readers.errors[0]
    assert {seen[1:] for _, _, seen in readers.reads} == {(1, 100)}
    assert readers.ports(after=killed) == {replica.port for replica in cluster.replicas}
    assert not nodes.health()[0]["up"]
    # Nothing of the transaction the kill cut short is visible, on the replicas nor on the primary once it is back.
    cluster.restart(cluster.primary)
    for server in cluster.servers:
        with pg_cluster_db.connect(server) as conn:
            assert conn.execute("SELECT max(state), count(*) FROM releases").fetchone() == (1, 100)
            assert conn.execute("SELECT state FROM published").fetchone() == (1,)
