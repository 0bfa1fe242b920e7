"""The nodes of one PostgreSQL deployment: writes go to the primary, reads spread over healthy streaming replicas.

Configuration, from the environment (`nodes_from_environ`) or given to `Nodes` directly:

    SEARCHAPP_BACKEND=postgresql://user@primary.example/searchapp        the primary, where every write goes
    SEARCHAPP_REPLICAS=postgresql://user@r1.example/searchapp,postgresql://user@r2.example/searchapp
                                                                         streaming replicas, one host each,
                                                                         separated by commas; none: all on the primary
    SEARCHAPP_REPLICA_MAX_LAG=5                                          seconds a replica may lag and still serve

Each node has a small pool of connections, opened on first use, which checks a connection before handing it out
and replaces a dead one. `reader()` picks the replicas in turn, skipping one that does not answer, lags more than
the bound, or has not yet replayed the published state a caller asks for (`min_state`), and falls back to the
primary. Health (role, replay lag, published state) is read at most once per `health_seconds` for all nodes
together, so picking a node costs no query. A node that failed is left alone for a back-off (doubling from
`retry_seconds`) and then tried again by one request, with a connection of its own. Replay lag is zero for a
replica that has replayed everything the primary had flushed when last asked (or, with the primary gone,
everything it received); otherwise it is the time since the last check that found the primary no further than
the replica is now, or the age of the last transaction the replica replayed when that is less.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_STATE_QUERY = "SELECT state FROM published"
DEFAULT_MAX_LAG = 5.0
URL_SCHEMES = ("postgresql://", "postgres://")

# One round trip tells a node's role and replay position; LSNs come as byte offsets so they compare as numbers.
# A primary's position is what it has flushed, which is all a replica can have received.
HEALTH_QUERY = """
SELECT pg_is_in_recovery(),
       pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                            ELSE pg_current_wal_flush_lsn() END, '0/0')::bigint,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::bigint,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8
"""


# When each pooled connection last went back to its pool after a read that worked.
_RETURNED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# A connection that worked this recently is lent again without the pool's round trip to check it.
FRESH_SECONDS = 1.0
# Set while `read()` checks a connection out: a failure there is read again on another node.
_READ_AGAIN = threading.local()


class NodeUnavailableError(RuntimeError):
    """No node that can do what was asked answers; the message says what to do."""


class PrimaryUnavailableError(NodeUnavailableError):
    """The primary does not answer, so nothing can be written."""


class NoNodeAnswersError(NodeUnavailableError):
    """Neither a replica nor the primary answers, so nothing can be read."""


class _CheckFailed(BaseException):
    """Raised from the pool's check when a connection is dead, to come back from `getconn()` at once.

    A BaseException, because the pool answers any Exception from its check by pausing a second before it tries
    another connection: wasted when the node restarted (a new connection works now) or is gone (none will).
    """

    def __init__(self, gone: bool):
        super().__init__()
        self.gone = gone


class _Unavailable(Exception):
    """A node gave no connection: it is down, or (busy) every connection of its pool is in use."""

    def __init__(self, node: Node, busy: bool = False):
        super().__init__(node.address)
        self.node = node
        self.busy = busy


@dataclass
class NodeHealth:
    """What the last health check saw of a node."""

    up: bool
    in_recovery: bool | None = None
    lsn: int | None = None
    lag_seconds: float | None = None
    state: int | None = None
    error: str | None = None
    checked_at: float = 0.0


def address_of(url: str) -> str:
    """host:port of a connection URL, without user or password, for messages."""
    params = conninfo_to_dict(url)
    host = params.get("host") or params.get("hostaddr") or "local socket"
    return f"{host}:{params.get('port') or 5432}"


class Node:
    """One server of the deployment and its lazily opened pool; `pool is None` means not known to be up."""

    def __init__(self, url: str, role: str, *, pool_size: int, connect_timeout: int, retry_seconds: float):
        self.url = url
        self.role = role
        self.address = address_of(url)
        self.health = NodeHealth(up=False, error="not checked yet")
        self._pool_size = pool_size
        self._connect_timeout = connect_timeout
        self._retry_seconds = retry_seconds
        self._pool: ConnectionPool | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._error: str | None = None
        self._lock = threading.Lock()
        self._opening = threading.Lock()

    @property
    def error(self) -> str | None:
        """Why the node was last found down, or None."""
        return self._error

    def in_backoff(self) -> bool:
        """Whether the node failed and its back-off has not run out."""
        return self._pool is None and time.monotonic() < self._retry_at

    def usable(self, force: bool = False) -> bool:
        """Whether to use the node now, probing it first when it is new or its back-off ran out (or `force`)."""
        if self._pool is not None:
            return True
        if not force and self.in_backoff():
            return False
        # A node never tried, or the primary for a write, is waited for; a node that failed is retried by one
        # caller while the others go elsewhere.
        if not self._opening.acquire(blocking=force or self._failures == 0):
            return False
        try:
            if self._pool is not None:
                return True
            if (not force and self.in_backoff()) or not self.probe():
                return False
            with self._lock:
                self._pool = self._new_pool()
                if self._failures:
                    log.info("PostgreSQL %s %s answers again", self.role, self.address)
                self._failures, self._error = 0, None
            return True
        finally:
            self._opening.release()

    def _new_pool(self) -> ConnectionPool:
        pool = ConnectionPool(
            self.url,
            min_size=1,
            max_size=self._pool_size,
            open=False,
            check=self._check,
            kwargs=self._connection_defaults(),
            name=self.address,
            num_workers=2,
        )
        pool.open(wait=False)
        return pool

    def _connection_defaults(self) -> dict:
        """libpq settings the URL does not make itself: a bounded connect, and keepalives that notice a lost peer."""
        # Without them a query to a node cut off by the network waits for the kernel's TCP timeout (minutes):
        # keepalives end a connection whose peer went silent, the user timeout one whose data goes unacknowledged.
        defaults = {"connect_timeout": self._connect_timeout, "keepalives_idle": 10, "keepalives_interval": 3,
                    "keepalives_count": 3, "tcp_user_timeout": 20_000}  # fmt: skip
        given = conninfo_to_dict(self.url)
        return {key: value for key, value in defaults.items() if key not in given}

    def _check(self, conn: psycopg.Connection) -> None:
        """The pool's check on checkout: a dead connection is dropped, and `checkout()` asks for another."""
        returned = _RETURNED.get(conn)
        fresh = returned is not None and time.monotonic() - returned < FRESH_SECONDS and not conn.broken
        if fresh and self.role == "replica" and getattr(_READ_AGAIN, "on", False):
            # Answered a moment ago: a round trip to check it would double a search's reads. If the replica died
            # since, the read fails on it, and `read()` reads again elsewhere. reader() and writes keep the check.
            return
        try:
            ConnectionPool.check_connection(conn)
        except Exception as error:
            raise _CheckFailed(gone=not self.probe()) from error

    def probe(self) -> bool:
        """Whether the node takes a new connection now; one of its own, since a pool waits out its retries."""
        try:
            with psycopg.connect(self.url, connect_timeout=self._connect_timeout, autocommit=True) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as error:
            self.mark_down(error)
            return False
        return True

    def mark_down(self, error: BaseException | str) -> None:
        """Close the node's pool and leave the node alone for a back-off that doubles with each failure."""
        reason = error if isinstance(error, str) else _reason(error)
        with self._lock:
            pool, self._pool = self._pool, None
            # Callers that find the same failure at once count it once, or one death would mean a long back-off.
            if pool is not None or time.monotonic() >= self._retry_at:
                self._failures += 1
                self._retry_at = time.monotonic() + min(self._retry_seconds * 2 ** (self._failures - 1), 60.0)
            self._error = reason
            self.health = NodeHealth(up=False, error=reason, checked_at=time.monotonic())
        if pool is not None:
            log.warning("PostgreSQL %s %s does not answer (%s)", self.role, self.address, reason)
            # Callers waiting on the pool get PoolClosed and go to another node; connections in use close when
            # returned. The closing waits for the pool's threads, which may be inside a connection attempt.
            threading.Thread(target=pool.close, name=f"close {self.address}", daemon=True).start()

    def failed(self, error: BaseException) -> None:
        """A connection of this node broke: find out whether the node is gone, unless that is already known."""
        if self._pool is not None:
            self.probe()

    def checkout(self, timeout: float) -> tuple[ConnectionPool, psycopg.Connection]:
        """A checked connection and the pool to return it to; `_Unavailable` when the node gives none."""
        deadline = time.monotonic() + timeout
        while True:
            pool = self._pool
            if pool is None:
                raise _Unavailable(self)
            try:
                return pool, pool.getconn(timeout=max(0.0, deadline - time.monotonic()))
            except _CheckFailed as failed:
                # The pool dropped the dead connection; the others it holds are likely dead too, and each is
                # checked in turn until a live or a new one comes.
                if failed.gone:
                    raise _Unavailable(self) from None
            except PoolClosed:
                raise _Unavailable(self) from None
            except PoolTimeout:
                # Every connection is in use, or the node stopped answering while the pool waited to reconnect.
                raise _Unavailable(self, busy=self.probe()) from None

    def forget(self) -> None:
        """In a forked child: drop the parent's pool without closing it, and start as a node never tried."""
        if self._pool is not None:
            _INHERITED.append(self._pool)
        self._pool, self._failures, self._retry_at, self._error = None, 0, 0.0, None
        self.health = NodeHealth(up=False, error="not checked yet")
        self._lock, self._opening = threading.Lock(), threading.Lock()

    def close(self) -> None:
        """Close the pool; the node may be used again, and opens a new one."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._failures, self._retry_at = 0, 0.0
        if pool is not None:
            pool.close()


class Nodes:
    """A primary and its replicas: `primary()` for writes, `reader()` and `read()` for reads, `health()`."""

    def __init__(
        self,
        primary: str,
        replicas: Sequence[str] = (),
        *,
        max_lag: float = DEFAULT_MAX_LAG,
        state_query: str = DEFAULT_STATE_QUERY,
        health_seconds: float = 1.5,
        retry_seconds: float = 2.0,
        pool_size: int = 4,
        connect_timeout: int = 3,
        checkout_timeout: float = 2.0,
        primary_timeout: float = 10.0,
    ):
        options = {"pool_size": pool_size, "connect_timeout": connect_timeout, "retry_seconds": retry_seconds}
        self.primary_node = Node(primary, "primary", **options)
        self.replica_nodes = [Node(url, "replica", **options) for url in replicas]
        self.max_lag = max_lag
        self.state_query = state_query
        self.health_seconds = health_seconds
        self.checkout_timeout = checkout_timeout
        self.primary_timeout = primary_timeout
        self._turn = itertools.count()
        self._checked_at: float | None = None
        # The primary's WAL position at the last checks, (monotonic time, LSN), to tell how far back a replica is.
        self._primary_positions: collections.deque[tuple[float, int]] = collections.deque(maxlen=32)
        self._refreshing = threading.Lock()
        # The newest published state read through these nodes: a replica that has not replayed it yet is
        # skipped when the published state is read again, so a process never goes back to an older state.
        self.newest_state: int | None = None
        _LIVE.add(self)

    @property
    def nodes(self) -> list[Node]:
        """The primary, then the replicas."""
        return [self.primary_node, *self.replica_nodes]

    def _forget_after_fork(self) -> None:
        for node in self.nodes:
            node.forget()
        self._checked_at = None
        self._primary_positions.clear()
        self._refreshing = threading.Lock()

    def close(self) -> None:
        """Close every node's pool."""
        for node in self.nodes:
            node.close()

    def __enter__(self) -> Nodes:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # Writes.

    @contextmanager
    def primary(self) -> Iterator[psycopg.Connection]:
        """A connection to the primary whose block is one transaction, committed at its end; never a replica."""
        node = self.primary_node
        # A write always tries the primary, back-off or not: it may be back, and there is no other place to write.
        if not node.usable(force=True):
            raise PrimaryUnavailableError(self._primary_message(node.error))
        try:
            pool, conn = node.checkout(self.primary_timeout)
        except _Unavailable as unavailable:
            if unavailable.busy:
                raise PrimaryUnavailableError(
                    f"Every connection to the PostgreSQL primary at {node.address} stayed in use for "
                    f"{self.primary_timeout:g} s: let fewer writers run at once; nothing was written."
                ) from None
            raise PrimaryUnavailableError(self._primary_message(node.error)) from None
        # The server reports this on every connection (PostgreSQL 14 on), so asking costs nothing.
        if conn.info.parameter_status("in_hot_standby") == "on":
            pool.putconn(conn)
            raise PrimaryUnavailableError(
                f"The PostgreSQL server at {node.address} that SEARCHAPP_BACKEND names is a replica, which takes no "
                "writes: point SEARCHAPP_BACKEND at the primary (or promote this one); nothing was written."
            )
        try:
            try:
                yield conn
            except BaseException as error:
                if not conn.broken:
                    conn.rollback()
                elif isinstance(error, psycopg.OperationalError):
                    node.failed(error)
                    raise PrimaryUnavailableError(self._primary_message(_reason(error))) from error
                raise
            if conn.broken:
                node.failed(RuntimeError("connection lost"))
                raise PrimaryUnavailableError(self._primary_message("connection lost"))
            try:
                conn.commit()
            except psycopg.OperationalError as error:
                if not conn.broken:
                    raise
                node.failed(error)
                raise PrimaryUnavailableError(
                    f"The PostgreSQL primary at {node.address} stopped answering during a commit ({_reason(error)}): "
                    "whether that transaction was written is unknown; read it back once the primary answers, "
                    "or from the new primary SEARCHAPP_BACKEND points at."
                ) from error
        finally:
            pool.putconn(conn)

    def _primary_message(self, reason: str | None) -> str:
        because = f" ({reason})" if reason else ""
        return (
            f"The PostgreSQL primary at {self.primary_node.address} does not answer{because}: start it or point "
            "SEARCHAPP_BACKEND at the new primary; nothing was written."
        )

    # Reads.

    @contextmanager
    def reader(self, min_state: int | None = None) -> Iterator[psycopg.Connection]:
        """A connection to a healthy replica with `min_state` published, else the primary; `read()` also retries."""
        node, pool, conn = self._checkout_reader(min_state, exclude=())
        with self._lent(node, pool, conn):
            yield conn

    def read(self, function: Callable[[psycopg.Connection], T], min_state: int | None = None) -> T:
        """`function(connection)` on a node as `reader()` picks it, run again on another if that node dies meanwhile."""
        tried: list[Node] = []
        while True:
            _READ_AGAIN.on = True
            try:
                node, pool, conn = self._checkout_reader(min_state, exclude=tried)
            finally:
                _READ_AGAIN.on = False
            try:
                with self._lent(node, pool, conn):
                    return function(conn)
            except psycopg.OperationalError:
                # Reading again is safe; an error of the query itself (the connection still works) is the caller's.
                if not conn.broken:
                    raise
                tried.append(node)

    @contextmanager
    def _lent(self, node: Node, pool: ConnectionPool, conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
        try:
            with conn:
                yield conn
        except psycopg.OperationalError as error:
            if conn.broken:
                node.failed(error)
            raise
        else:
            _RETURNED[conn] = time.monotonic()
        finally:
            pool.putconn(conn)

    def _checkout_reader(
        self, min_state: int | None, exclude: Sequence[Node]
    ) -> tuple[Node, ConnectionPool, psycopg.Connection]:
        self._refresh()
        replicas = self.replica_nodes
        start = next(self._turn) % len(replicas) if replicas else 0
        for node in replicas[start:] + replicas[:start]:
            if node in exclude or not node.usable():
                continue
            if not node.health.up:
                # Back after a back-off: its lag and state are not known yet.
                self._check(node)
            health = node.health
            if not health.up or health.lag_seconds is None or health.lag_seconds > self.max_lag:
                continue
            try:
                pool, conn = node.checkout(self.checkout_timeout)
            except _Unavailable:
                continue
            if min_state is not None and (health.state is None or health.state < min_state):
                # The state seen by the last check is behind: the replica may have replayed the new one since.
                try:
                    state = self._read_state(conn)
                except psycopg.OperationalError as error:
                    pool.putconn(conn)
                    if not conn.broken:
                        raise
                    node.failed(error)
                    continue
                except BaseException:
                    pool.putconn(conn)
                    raise
                if state is None or state < min_state:
                    pool.putconn(conn)
                    continue
                health.state = state
            return node, pool, conn
        primary = self.primary_node
        if primary not in exclude and primary.usable():
            try:
                pool, conn = primary.checkout(self.primary_timeout)
            except _Unavailable:
                pass
            else:
                return primary, pool, conn
        raise NoNodeAnswersError(self._nothing_answers_message())

    def _nothing_answers_message(self) -> str:
        reasons = "; ".join(f"{node.role} {node.address}: {node.error or 'no connection'}" for node in self.nodes)
        return (
            f"No PostgreSQL node answers ({reasons}): start them, or point SEARCHAPP_BACKEND and "
            "SEARCHAPP_REPLICAS at nodes that run; nothing was read."
        )

    # Health.

    def health(self, fresh: bool = False) -> list[dict]:
        """Each node's role, whether it answers and serves reads, its replay lag and published state."""
        self._refresh(force=fresh)
        now = time.monotonic()
        report = []
        for node in self.nodes:
            health = node.health
            lag = health.lag_seconds
            known_lag = lag is not None and lag != float("inf")
            report.append(
                {
                    "node": node.address,
                    "role": node.role,
                    "up": health.up,
                    "in_recovery": health.in_recovery,
                    "lag_seconds": round(lag, 3) if known_lag else None,
                    "state": health.state,
                    "serves_reads": health.up and (node.role == "primary" or (known_lag and lag <= self.max_lag)),
                    "checked_seconds_ago": round(now - health.checked_at, 3) if health.checked_at else None,
                    "error": health.error,
                }
            )
        return report

    def _refresh(self, force: bool = False) -> None:
        """Check every node when the last check is older than `health_seconds`; one thread checks, the rest go on."""
        checked_at = self._checked_at
        if not force and checked_at is not None and time.monotonic() - checked_at < self.health_seconds:
            return
        # Until the first check has been made there is nothing to go on, so everyone waits for it.
        if not self._refreshing.acquire(blocking=checked_at is None or force):
            return
        try:
            if not force and self._checked_at != checked_at:
                return
            # The primary first: a replica has caught up when it has replayed what the primary had flushed before.
            self._check(self.primary_node)
            primary = self.primary_node.health
            if primary.up and primary.lsn is not None:
                self._primary_positions.append((primary.checked_at, primary.lsn))
            for node in self.replica_nodes:
                self._check(node)
            self._checked_at = time.monotonic()
        finally:
            self._refreshing.release()

    def _check(self, node: Node) -> None:
        """Read a node's role, replay position and published state into `node.health`."""
        if not node.usable():
            if node.health.up:
                node.health = NodeHealth(up=False, error=node.error, checked_at=time.monotonic())
            return
        try:
            pool, conn = node.checkout(self.checkout_timeout)
        except _Unavailable as unavailable:
            if not unavailable.busy:
                return
            # Every connection in use: the node answers, so what it said last still stands.
            node.health.checked_at = time.monotonic()
            return
        try:
            in_recovery, lsn, received, replay_age = conn.execute(HEALTH_QUERY).fetchone()
            conn.rollback()
            state = self._read_state(conn)
        except psycopg.OperationalError as error:
            if conn.broken:
                node.failed(error)
            else:
                node.health = NodeHealth(up=False, error=_reason(error), checked_at=time.monotonic())
            return
        finally:
            pool.putconn(conn)
        now = time.monotonic()
        lag = self._lag(lsn, received, replay_age, now) if in_recovery else 0.0
        node.health = NodeHealth(
            up=True, in_recovery=in_recovery, lsn=lsn, lag_seconds=lag, state=state, checked_at=now
        )

    def _lag(self, replayed: int, received: int | None, replay_age: float | None, now: float) -> float:
        """At most how many seconds ago the primary was where a replica is; 0 when it is where the primary was."""
        # Two bounds hold: the age of the last transaction the replica replayed, and the time since a check found
        # the primary no further than the replica is now. The second keeps a replica that keeps up with one long
        # transaction (a bulk load commits once) from counting as lagging by the age of the last commit.
        bound = float("inf") if replay_age is None else max(0.0, float(replay_age))
        if not self.primary_node.health.up:
            # With the primary gone there is nothing newer to have: a replica is current with all it received.
            return 0.0 if received is not None and replayed >= received else bound
        positions = list(self._primary_positions)
        for newest, (checked_at, position) in enumerate(reversed(positions)):
            if replayed >= position:
                return 0.0 if newest == 0 else min(bound, max(0.0, now - checked_at))
        return bound

    def _read_state(self, conn: psycopg.Connection) -> int | None:
        """The published state on a connection, None before the first publication; leaves no transaction open."""
        try:
            with conn.transaction():
                row = conn.execute(self.state_query).fetchone()
        except psycopg.errors.UndefinedTable:
            return None
        return None if row is None or row[0] is None else int(row[0])


# A forked process (gunicorn preloads the app, then forks its workers) must not use its parent's connections, nor
# close them: closing tells the server to end the connection, which is the parent's too. So a child keeps its
# parent's pools unused until it exits, and its nodes start afresh; locks another thread held are made anew.
_LIVE: weakref.WeakSet[Nodes] = weakref.WeakSet()
_INHERITED: list[ConnectionPool] = []


def _after_fork_in_child() -> None:
    for nodes in list(_LIVE):
        nodes._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _reason(error: BaseException) -> str:
    """The gist of an error: "connection to server at ... failed: Connection refused" is "Connection refused"."""
    text = str(error).strip()
    if not text:
        return type(error).__name__
    return text.splitlines()[0].rsplit(" failed: ", 1)[-1].strip()


def nodes_from_environ(environ: Mapping[str, str] | None = None, **options) -> Nodes:
    """The nodes SEARCHAPP_BACKEND, SEARCHAPP_REPLICAS and SEARCHAPP_REPLICA_MAX_LAG name; ValueError when malformed."""
    environ = os.environ if environ is None else environ
    primary = environ.get("SEARCHAPP_BACKEND", "").strip()
    if not primary.startswith(URL_SCHEMES):
        raise ValueError(
            f"SEARCHAPP_BACKEND={primary!r} is not a PostgreSQL URL: set it to the primary's, "
            "e.g. postgresql://searchapp@db.example/searchapp"
        )
    replicas = [url.strip() for url in environ.get("SEARCHAPP_REPLICAS", "").split(",") if url.strip()]
    for url in replicas:
        if not url.startswith(URL_SCHEMES):
            raise ValueError(
                f"SEARCHAPP_REPLICAS names {url!r}, which is not a PostgreSQL URL: list the replicas' URLs, "
                "separated by commas"
            )
    for variable, url in [("SEARCHAPP_BACKEND", primary)] + [("SEARCHAPP_REPLICAS", url) for url in replicas]:
        try:
            conninfo_to_dict(url)
        except psycopg.ProgrammingError as error:
            # Shown from the host on, so that a password in the URL stays out of logs.
            shown = url.split("@")[-1]
            raise ValueError(
                f"{variable} names {shown!r}, which is not a valid PostgreSQL URL: {_reason(error)}"
            ) from None
    if "SEARCHAPP_REPLICA_MAX_LAG" in environ:
        try:
            options.setdefault("max_lag", float(environ["SEARCHAPP_REPLICA_MAX_LAG"]))
        except ValueError:
            raise ValueError(
                f"SEARCHAPP_REPLICA_MAX_LAG={environ['SEARCHAPP_REPLICA_MAX_LAG']!r} is not a number of seconds"
            ) from None
    return Nodes(primary, replicas, **options)
