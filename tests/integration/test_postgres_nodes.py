"""The nodes of a PostgreSQL deployment on a real primary and two streaming replicas: picking, health, back-off."""

from __future__ import annotations

import os
import time

import psycopg
import pytest

from indexer.engine.postgres.nodes import (
    NoNodeAnswersError,
    PrimaryUnavailableError,
    nodes_from_environ,
)


def port_of(conn) -> int:
    """The port of the server a connection reached, which tells the nodes apart."""
    return conn.execute("SELECT inet_server_port()").fetchone()[0]


def publish(db, state: int) -> None:
    """Make `state` the published state on the primary."""
    with db.connect(db.cluster.primary) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS published (state bigint NOT NULL)")
        conn.execute("DELETE FROM published")
        conn.execute("INSERT INTO published VALUES (%s)", [state])


def served_by(nodes, reads: int = 12, **options) -> list[int]:
    """The ports that served each of a number of reads."""
    ports = []
    for _ in range(reads):
        with nodes.reader(**options) as conn:
            ports.append(port_of(conn))
    return ports


def test_the_environment_names_the_primary_and_the_replicas():
    nodes = nodes_from_environ(
        {
            "SEARCHAPP_BACKEND": "postgresql://searchapp:secret@db.example:5433/search",
            "SEARCHAPP_REPLICAS": "postgresql://searchapp@r1.example/search, postgresql://r2.example:6432/search",
            "SEARCHAPP_REPLICA_MAX_LAG": "2.5",
        }
    )
    # Nothing is connected before the first use: these hosts do not exist.
    assert nodes.primary_node.address == "db.example:5433"
    assert [node.address for node in nodes.replica_nodes] == ["r1.example:5432", "r2.example:6432"]
    assert nodes.max_lag == 2.5
    assert nodes_from_environ({"SEARCHAPP_BACKEND": "postgres://db.example/search"}).replica_nodes == []


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({}, "SEARCHAPP_BACKEND"),
        ({"SEARCHAPP_BACKEND": "var/index"}, "SEARCHAPP_BACKEND='var/index'"),
        ({"SEARCHAPP_BACKEND": "postgresql://db/x", "SEARCHAPP_REPLICAS": "r1.example"}, "SEARCHAPP_REPLICAS"),
        ({"SEARCHAPP_BACKEND": "postgresql://db/x", "SEARCHAPP_REPLICA_MAX_LAG": "soon"}, "SEARCHAPP_REPLICA_MAX_LAG"),
        ({"SEARCHAPP_BACKEND": "postgresql://u:secret@db/x?colour=red"}, "SEARCHAPP_BACKEND names 'db/x?colour=red'"),
    ],
)
def test_a_malformed_environment_says_what_to_set(environ, named):
    with pytest.raises(ValueError) as raised:
        nodes_from_environ(environ)
    assert named in str(raised.value)
    assert "secret" not in str(raised.value)


@pytest.mark.slow
def test_reads_spread_over_the_replicas_and_writes_go_to_the_primary(pg_cluster_db, pg_nodes):
    cluster = pg_cluster_db.cluster
    nodes = pg_nodes()
    with nodes.primary() as conn:
        assert port_of(conn) == cluster.primary.port
        conn.execute("CREATE TABLE published (state bigint NOT NULL)")
        conn.execute("INSERT INTO published VALUES (1)")
    cluster.wait_caught_up()
    ports = served_by(nodes)
    assert set(ports) == {replica.port for replica in cluster.replicas}
    assert abs(ports.count(cluster.replicas[0].port) - ports.count(cluster.replicas[1].port)) <= 1


@pytest.mark.slow
def test_a_write_is_one_transaction_committed_at_the_end_of_its_block(pg_cluster_db, pg_nodes):
    # One connection: one left in a transaction or not returned would show.
    nodes = pg_nodes(pool_size=1, primary_timeout=2)
    publish(pg_cluster_db, 1)
    with pytest.raises(LookupError), nodes.primary() as conn:
        conn.execute("UPDATE published SET state = 2")
        raise LookupError("a failure inside the block")
    with nodes.primary() as conn:
        assert conn.execute("SELECT state FROM published").fetchone() == (1,)
        conn.execute("UPDATE published SET state = 3")
    # An error of the server's that leaves the connection working is the caller's, and rolls back too.
    with pytest.raises(psycopg.errors.QueryCanceled), nodes.primary() as conn:
        conn.execute("UPDATE published SET state = 4")
        conn.execute("SET LOCAL statement_timeout = 1")
        conn.execute("SELECT pg_sleep(1)")
    with nodes.primary() as conn:
        assert conn.execute("SELECT state FROM published").fetchone() == (3,)
    with pg_cluster_db.connect(pg_cluster_db.cluster.primary) as conn:
        assert conn.execute("SELECT state FROM published").fetchone() == (3,)


@pytest.mark.slow
def test_health_reports_each_nodes_role_lag_and_state(pg_cluster_db, pg_nodes):
    cluster = pg_cluster_db.cluster
    publish(pg_cluster_db, 7)
    cluster.wait_caught_up()
    report = pg_nodes().health()
    assert [(row["node"], row["role"]) for row in report] == [
        (cluster.primary.address, "primary"),
        (cluster.replicas[0].address, "replica"),
        (cluster.replicas[1].address, "replica"),
    ]
    for row in report:
        assert row["up"] and row["serves_reads"] and row["error"] is None
        assert row["state"] == 7
        assert row["lag_seconds"] == 0.0
        assert row["in_recovery"] is (row["role"] == "replica")


@pytest.mark.slow
def test_health_is_read_at_most_once_per_interval(pg_cluster_db, pg_nodes):
    cluster = pg_cluster_db.cluster
    publish(pg_cluster_db, 1)
    cluster.wait_caught_up()
    nodes = pg_nodes(health_seconds=60)
    assert {row["state"] for row in nodes.health()} == {1}
    publish(pg_cluster_db, 2)
    cluster.wait_caught_up()
    assert {row["state"] for row in nodes.health()} == {1}
    assert {row["state"] for row in nodes.health(fresh=True)} == {2}


@pytest.mark.slow
def test_min_state_skips_a_replica_that_has_not_replayed_it(pg_cluster_db, pg_nodes):
    cluster = pg_cluster_db.cluster
    behind, ahead = cluster.replicas
    publish(pg_cluster_db, 1)
    cluster.wait_caught_up()
    nodes = pg_nodes(max_lag=3600)
    assert set(served_by(nodes, min_state=1)) == {behind.port, ahead.port}
    cluster.pause_replay(behind)
    publish(pg_cluster_db, 2)
    cluster.wait_caught_up([ahead])
    for _ in range(6):
        with nodes.reader(min_state=2) as conn:
            assert (port_of(conn), conn.execute("SELECT state FROM published").fetchone()) == (ahead.port, (2,))
    # Without a state to reach, the paused replica still serves: its lag is within the bound.
    assert behind.port in served_by(nodes)
    # Once it has replayed the state it serves it, without waiting for the next health check.
    cluster.resume_replay(behind)
    cluster.wait_caught_up([behind])
    assert set(served_by(nodes, min_state=2)) == {behind.port, ahead.port}


@pytest.mark.slow
def test_a_replica_lagging_beyond_the_bound_serves_no_reads(pg_cluster_db, pg_nodes):
    cluster = pg_cluster_db.cluster
    lagging, current = cluster.replicas
    publish(pg_cluster_db, 1)
    cluster.wait_caught_up()
    nodes = pg_nodes(max_lag=1.0, health_seconds=0.1)
    cluster.pause_replay(lagging)
    publish(pg_cluster_db, 2)
    cluster.wait_caught_up([current])
    time.sleep(1.3)
    lagging_row = nodes.health(fresh=True)[1]
    assert lagging_row["up"] and not lagging_row["serves_reads"]
    assert lagging_row["lag_seconds"] > 1.0 and lagging_row["state"] == 1
    assert set(served_by(nodes)) == {current.port}
    cluster.resume_replay(lagging)
    cluster.wait_caught_up([lagging])
    assert nodes.health(fresh=True)[1]["lag_seconds"] == 0.0
    assert set(served_by(nodes)) == {lagging.port, current.port}


@pytest.mark.slow
def test_replicas_keeping_up_with_one_long_transaction_are_not_lagging(pg_cluster_db, pg_nodes):
    cluster = pg_cluster_db.cluster
    publish(pg_cluster_db, 1)
    cluster.wait_caught_up()
    nodes = pg_nodes(max_lag=1.0, health_seconds=0.2)
    lags, ports = [], []
    # A bulk load: WAL streams for longer than the bound while the last commit the replicas replayed grows old.
    with nodes.primary() as conn:
        conn.execute("CREATE TABLE filler (n int, words text)")
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            conn.execute("INSERT INTO filler SELECT g, repeat('press release ', 20) FROM generate_series(1, 1000) g")
            time.sleep(0.05)
            lags.append(max(row["lag_seconds"] for row in nodes.health()[1:]))
            ports += served_by(nodes, reads=2)
    assert max(lags) < 1.0, lags
    assert set(ports) == {replica.port for replica in cluster.replicas}


@pytest.mark.slow
def test_the_state_is_read_with_the_query_given(pg_cluster_db, pg_nodes):
    cluster = pg_cluster_db.cluster
    with pg_cluster_db.connect(cluster.primary) as conn:
        conn.execute("CREATE TABLE generations (number bigint, live boolean)")
        conn.execute("INSERT INTO generations VALUES (4, false), (5, true)")
    cluster.wait_caught_up()
    nodes = pg_nodes(state_query="SELECT number FROM generations WHERE live")
    assert {row["state"] for row in nodes.health()} == {5}
    assert cluster.primary.port not in served_by(nodes, min_state=5)
    # With the default query and no published table yet, no replica has a state, so the primary serves.
    unpublished = pg_nodes()
    assert {row["state"] for row in unpublished.health()} == {None}
    assert set(served_by(unpublished, reads=3, min_state=1)) == {cluster.primary.port}


@pytest.mark.slow
def test_without_replicas_everything_goes_to_the_primary(pg_cluster_db):
    from indexer.engine.postgres.nodes import Nodes

    with Nodes(pg_cluster_db.primary_url) as nodes:
        assert set(served_by(nodes, reads=3)) == {pg_cluster_db.cluster.primary.port}
        assert [row["role"] for row in nodes.health()] == ["primary"]


@pytest.mark.slow
def test_a_dead_replica_is_skipped_and_retried_after_its_backoff(pg_cluster_db, pg_nodes):
    cluster = pg_cluster_db.cluster
    dead, alive = cluster.replicas
    nodes = pg_nodes(retry_seconds=2.0)
    assert set(served_by(nodes)) == {dead.port, alive.port}
    cluster.kill(dead)
    # The back-off starts when a read finds the node dead, between these two moments.
    killed = time.monotonic()
    assert set(served_by(nodes)) == {alive.port}
    found = time.monotonic()
    # A dead node costs a refused connection once, not a wait for the pool's reconnection.
    assert found - killed < 2.0
    row = nodes.health()[1]
    assert not row["up"] and not row["serves_reads"] and row["error"] == "Connection refused"
    cluster.restart(dead)
    # Back, but its back-off has not run out: it is not tried on every request.
    ports = []
    while time.monotonic() < killed + 1.9:
        with nodes.reader() as conn:
            ports.append(port_of(conn))
    assert set(ports) <= {alive.port}
    time.sleep(max(0.0, found + 2.1 - time.monotonic()))
    assert set(served_by(nodes)) == {dead.port, alive.port}
    assert nodes.health(fresh=True)[1]["up"]


@pytest.mark.slow
def test_a_connection_broken_by_a_restart_is_replaced_on_checkout(pg_cluster_db):
    from indexer.engine.postgres.nodes import Nodes

    cluster = pg_cluster_db.cluster
    replica = cluster.replicas[0]
    with Nodes(pg_cluster_db.primary_url, [replica.url(pg_cluster_db.name)]) as nodes:
        assert set(served_by(nodes, reads=2)) == {replica.port}
        cluster.kill(replica)
        cluster.restart(replica)
        cluster.wait_streaming(replica)
        # The pool's idle connection died with the old server; the check finds it and a new one serves.
        assert set(served_by(nodes, reads=2)) == {replica.port}
        assert nodes.health(fresh=True)[1]["up"]


@pytest.mark.slow
def test_a_write_to_a_dead_primary_names_the_next_step(pg_cluster_db, pg_nodes):
    cluster = pg_cluster_db.cluster
    nodes = pg_nodes()
    with nodes.primary() as conn:
        conn.execute("CREATE TABLE releases (id int)")
    cluster.kill(cluster.primary)
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(PrimaryUnavailableError) as raised, nodes.primary() as conn:
            conn.execute("INSERT INTO releases VALUES (1)")
        assert time.monotonic() - started < 5
        message = str(raised.value)
        assert message.startswith(f"The PostgreSQL primary at {cluster.primary.address} does not answer")
        assert message.endswith(": start it or point SEARCHAPP_BACKEND at the new primary; nothing was written.")
    # Back again: the next write reaches it, without waiting for a back-off.
    cluster.restart(cluster.primary)
    with nodes.primary() as conn:
        conn.execute("INSERT INTO releases VALUES (2)")
        assert conn.execute("SELECT array_agg(id) FROM releases").fetchone() == ([2],)


@pytest.mark.slow
def test_when_no_node_answers_the_error_names_them_all(pg_cluster_db, pg_nodes):
    cluster = pg_cluster_db.cluster
    nodes = pg_nodes()
    assert served_by(nodes, reads=2)
    for server in cluster.servers:
        cluster.kill(server, hard=server is cluster.primary)
    started = time.monotonic()
    with pytest.raises(NoNodeAnswersError) as raised, nodes.reader():
        pass
    assert time.monotonic() - started < 5
    message = str(raised.value)
    for server in cluster.servers:
        assert server.address in message
    assert message.endswith(
        "start them, or point SEARCHAPP_BACKEND and SEARCHAPP_REPLICAS at nodes that run; nothing was read."
    )
    assert [row["up"] for row in nodes.health()] == [False, False, False]


@pytest.mark.slow
def test_a_write_to_a_replica_named_as_the_primary_says_so(pg_cluster_db):
    from indexer.engine.postgres.nodes import Nodes

    replica = pg_cluster_db.cluster.replicas[0]
    with Nodes(replica.url(pg_cluster_db.name)) as nodes:
        with pytest.raises(PrimaryUnavailableError) as raised, nodes.primary() as conn:
            conn.execute("CREATE TABLE releases (id int)")
        assert str(raised.value) == (
            f"The PostgreSQL server at {replica.address} that SEARCHAPP_BACKEND names is a replica, which takes no "
            "writes: point SEARCHAPP_BACKEND at the primary (or promote this one); nothing was written."
        )
        assert nodes.health()[0]["in_recovery"] is True


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")
def test_a_forked_worker_opens_connections_of_its_own(pg_cluster_db, pg_nodes):
    nodes = pg_nodes(pool_size=1)

    def backends() -> dict[int, int]:
        """The server process behind each replica's one pooled connection, by port."""
        seen = {}
        for _ in range(2):
            with nodes.reader() as conn:
                port, pid = conn.execute("SELECT inet_server_port(), pg_backend_pid()").fetchone()
                seen[port] = pid
        return seen

    parents = backends()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        # The child reports the backends it reached and leaves without any of the test's teardown.
        code = 1
        try:
            os.close(read_end)
            os.write(write_end, " ".join(map(str, backends().values())).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        childs = {int(pid) for pid in pipe.read().split()}
    assert os.waitpid(child, 0)[1] == 0
    assert len(parents) == len(childs) == 2
    assert not childs & set(parents.values())
    # The parent's connections still work: the child neither used nor closed them.
    assert backends() == parents
