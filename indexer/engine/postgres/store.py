"""The states of an index in PostgreSQL: which one is published, what each knew of the page files, and cleanup.

A state lists its segments and the documents of theirs that are deleted. Publishing is one short
transaction that points `published` at a new state: a reader sees the old state or the new one.
Segments that neither the published state nor the one before it (readers may still be on it)
lists are deleted after each publication.
"""

from __future__ import annotations

import os
import threading
import zlib
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from indexer.engine.interface import ReindexBusyError
from indexer.engine.postgres.migrations import check_migrated, migrate
from indexer.engine.postgres.nodes import Nodes, address_of, nodes_from_environ

# Held by the reindex of a database for as long as it runs (a session lock: it goes with its connection).
REINDEX_LOCK = 0x5EA2C4A2


class ReindexRunningError(ReindexBusyError):
    """Another reindex holds the database; the message says what to do."""


@dataclass(frozen=True)
class PublishedState:
    """The published state's number, when it was published, and its document count."""

    state: int
    published_at: float
    documents: int


_nodes: dict[tuple, Nodes] = {}
_nodes_lock = threading.Lock()


def nodes_for(url: str, replicas: tuple[str, ...] | None = None) -> Nodes:
    """The process's nodes of a primary URL: its replicas are SEARCHAPP_REPLICAS unless given."""
    if replicas is None:
        environ = dict(os.environ, SEARCHAPP_BACKEND=url)
        key = (os.getpid(), url, environ.get("SEARCHAPP_REPLICAS", ""), environ.get("SEARCHAPP_REPLICA_MAX_LAG", ""))
    else:
        environ = None
        key = (os.getpid(), url, ",".join(replicas))
    with _nodes_lock:
        nodes = _nodes.get(key)
        if nodes is None:
            nodes = _nodes[key] = nodes_from_environ(environ) if environ else Nodes(url, list(replicas))
        return nodes


def describe(url: str) -> str:
    """host:port/database of a URL, without user or password, for messages."""
    return f"{address_of(url)}/{psycopg.conninfo.conninfo_to_dict(url).get('dbname', '')}"


@contextmanager
def reindex_lock(nodes: Nodes, *, wait: bool = True):
    """Hold the database's reindex lock on a connection of its own; raise ReindexRunningError when busy."""
    url = nodes.primary_node.url
    with nodes.primary() as probe:  # a primary that does not answer fails here, with its message
        probe.execute("SELECT 1")
    conn = psycopg.connect(url, autocommit=True, connect_timeout=5)
    try:
        if wait:
            conn.execute("SELECT pg_advisory_lock(%s)", [REINDEX_LOCK])
        elif not conn.execute("SELECT pg_try_advisory_lock(%s)", [REINDEX_LOCK]).fetchone()[0]:
            raise ReindexRunningError(
                f"The index at {describe(url)} is being rebuilt by another reindex: wait for it to finish, "
                "or run again without --no-wait to wait"
            )
        yield conn
    finally:
        conn.close()


def prepare(nodes: Nodes) -> None:
    """Apply the migrations the database lacks (on the primary)."""
    with nodes.primary() as conn:
        migrate(conn)


def published(conn) -> PublishedState | None:
    """The published state on a connection, or None before the first reindex."""
    row = conn.execute(
        "SELECT p.state, extract(epoch FROM p.published_at)::float8, s.doc_count"
        " FROM published p JOIN states s ON s.id = p.state"
    ).fetchone()
    return None if row is None else PublishedState(int(row[0]), float(row[1]), int(row[2]))


def published_state(nodes: Nodes, *, where: str) -> PublishedState | None:
    """The published state as a healthy node has it; SchemaOutdatedError on a database never migrated."""

    def read(conn):
        check_migrated(conn, where)
        with conn.transaction():
            return published(conn)

    found = nodes.read(read, min_state=nodes.newest_state)
    _saw(nodes, None if found is None else found.state)
    return found


def published_number(nodes: Nodes) -> int | None:
    """The published state's number as a healthy node has it, in one query; None before the first reindex."""

    def read(conn):
        try:
            with conn.transaction():
                row = conn.execute("SELECT state FROM published").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
        return None if row is None else int(row[0])

    state = nodes.read(read, min_state=nodes.newest_state)
    _saw(nodes, state)
    return state


def _saw(nodes: Nodes, state: int | None) -> None:
    """Remember the newest published state read through the nodes, for the next read to ask for."""
    if state is not None and (nodes.newest_state is None or state > nodes.newest_state):
        nodes.newest_state = state


def state_segments(conn, state: int) -> tuple[list[int], bytes, int]:
    """A state's segments, its deleted bitmap and its document count."""
    row = conn.execute("SELECT segments, deleted, doc_count FROM states WHERE id = %s", [state]).fetchone()
    return list(row[0]), bytes(row[1]), int(row[2])


def load_file_state(conn, state: int) -> str | None:
    """The reindex's record of the page files in a state, as JSON, or None."""
    row = conn.execute("SELECT data FROM file_states WHERE state = %s", [state]).fetchone()
    return None if row is None else zlib.decompress(row[0]).decode("utf-8")


def save_file_state(conn, state: int, text: str) -> None:
    """Keep the reindex's record of the page files of a state."""
    conn.execute(
        "INSERT INTO file_states (state, data) VALUES (%s, %s) ON CONFLICT (state) DO UPDATE SET data = EXCLUDED.data",
        [state, zlib.compress(text.encode("utf-8"), 3)],
    )


def add_state(conn, segments: list[int], deleted: bytes, doc_count: int, schema_version: int) -> int:
    """Record a state (not yet published) and return its number."""
    return conn.execute(
        "INSERT INTO states (segments, deleted, doc_count, schema_version) VALUES (%s, %s, %s, %s) RETURNING id",
        [segments, deleted, doc_count, schema_version],
    ).fetchone()[0]


def publish(conn, state: int) -> None:
    """Make a state the published one, remembering the one it replaces."""
    conn.execute(
        "INSERT INTO published (only_row, state, previous) VALUES (true, %s, NULL)"
        " ON CONFLICT (only_row) DO UPDATE SET previous = published.state, state = EXCLUDED.state,"
        " published_at = now()",
        [state],
    )


def remove_unused(nodes: Nodes) -> int:
    """Delete the states and segments that neither the published state nor the one before it needs; return segments."""
    with nodes.primary() as conn:
        row = conn.execute("SELECT state, previous FROM published").fetchone()
        keep = [s for s in (row or ()) if s is not None]
        conn.execute("DELETE FROM states WHERE NOT (id = ANY(%s))", [keep])
        unused = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM segments WHERE NOT (id = ANY(SELECT unnest(segments) FROM states))"
            ).fetchall()
        ]
        if unused:
            conn.execute("DELETE FROM postings WHERE segment = ANY(%s)", [unused])
            conn.execute("DELETE FROM documents WHERE segment = ANY(%s)", [unused])
            conn.execute("DELETE FROM segments WHERE id = ANY(%s)", [unused])
    return len(unused)


def next_numbers(conn) -> tuple[int, int]:
    """The next segment number and the next document number, past every segment written so far."""
    row = conn.execute("SELECT coalesce(max(id), 0) + 1, coalesce(max(base + count), 0) FROM segments").fetchone()
    return int(row[0]), int(row[1])


def database_bytes(nodes: Nodes) -> int:
    """The size of the database on the primary, in bytes."""
    with nodes.primary() as conn:
        return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])


def close_nodes(url: str) -> None:
    """Close this process's pools for a primary URL (a database about to be dropped, say)."""
    with _nodes_lock:
        found = [key for key in _nodes if key[0] == os.getpid() and key[1] == url]
        closing = [_nodes.pop(key) for key in found]
    for nodes in closing:
        nodes.close()
