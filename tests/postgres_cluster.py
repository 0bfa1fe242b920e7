"""A real PostgreSQL primary with two streaming replicas in a temporary folder, for tests of replicated reads.

`pg_cluster` (one per test run) starts them; `pg_cluster_db` gives a test a fresh database on the primary, already
replayed by both replicas, after making every node run and replay again whatever the test before did to it;
`pg_nodes` makes `Nodes` on that database and closes them after the test. The servers listen on free TCP ports
of 127.0.0.1 and on a socket folder inside the temporary one, and run as the `postgres` user when the tests run
as root (PostgreSQL refuses to). Without the server binaries the tests skip, and fail in CI (`CI` set).
"""

from __future__ import annotations

import atexit
import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from conftest import unavailable

SUPERUSER = "postgres"
REPLICA_NAMES = ("replica1", "replica2")
START_SECONDS = 60

# Written to the primary's postgresql.conf, which pg_basebackup copies to the replicas.
PRIMARY_SETTINGS = """
listen_addresses = '127.0.0.1'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
# A replica that was down catches up from the primary's WAL without a slot to clean up; a test's downtime is short.
wal_keep_size = '64MB'
# Little WAL kept for reuse, so that there is little to delete at the end.
min_wal_size = '32MB'
hot_standby = on
shared_buffers = '32MB'
max_connections = 50
# Throwaway clusters: a kill loses what a crash loses either way; only an OS crash would need fsync.
fsync = off
# A replica whose primary came back reconnects within a fraction of a second instead of five.
wal_retrieve_retry_interval = '200ms'
wal_receiver_status_interval = '1s'
"""


def server_bindir() -> Path | None:
    """The folder of initdb, pg_ctl and pg_basebackup: `pg_config --bindir`, else the newest Debian server."""
    candidates = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(found.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    candidates += [p for p in versions if p.parent.name.isdigit()]
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "pg_basebackup", "postgres")):
            return bindir
    return None


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """One postgres of the cluster: its data folder, port and log."""

    name: str
    datadir: Path
    port: int
    log: Path
    role: str

    def url(self, dbname: str = "postgres") -> str:
        """The URL a client connects with, over TCP."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log, for failure messages."""
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class Cluster:
    """A primary and its replicas, started with `start()` and stopped with `stop()`."""

    bindir: Path
    root: Path
    primary: Server = field(init=False)
    replicas: list[Server] = field(init=False)

    def __post_init__(self):
        self.socket_dir = self.root / "sockets"
        self.primary = self._server("primary", "primary")
        self.replicas = [self._server(name, "replica") for name in REPLICA_NAMES]
        self._databases = itertools.count(1)

    def _server(self, name: str, role: str) -> Server:
        return Server(name, self.root / name, free_port(), self.root / f"{name}.log", role)

    @property
    def servers(self) -> list[Server]:
        return [self.primary, *self.replicas]

    def run(self, tool: str, *args: str, timeout: float = START_SECONDS) -> str:
        """Run a server tool as the user that owns the cluster; its output, or AssertionError with it."""
        command = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        done = subprocess.run(
            command, cwd=self.root, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> None:
        """Create the primary, copy the replicas from it, start them all and wait until both replicas stream."""
        self.socket_dir.mkdir()
        owner = self.root.stat()
        os.chown(self.socket_dir, owner.st_uid, owner.st_gid)
        primary = self.primary
        self.run("initdb", "-D", str(primary.datadir), "-U", SUPERUSER, "--auth=trust", "--no-locale", "-E", "UTF8",
                 "--no-sync", "--no-instructions")  # fmt: skip
        with open(primary.datadir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(PRIMARY_SETTINGS)
        self.start_server(primary)
        for replica in self.replicas:
            # -R writes primary_conninfo and standby.signal; the application name tells the replicas apart there.
            source = f"host=127.0.0.1 port={primary.port} user={SUPERUSER} application_name={replica.name}"
            self.run("pg_basebackup", "-D", str(replica.datadir), "-d", source, "-R", "-X", "stream", "-c", "fast",
                     "--no-sync")  # fmt: skip
            self.start_server(replica)
        for replica in self.replicas:
            self.wait_streaming(replica)

    def start_server(self, server: Server) -> None:
        """Start a server and wait until it accepts connections (a replica: once it is consistent)."""
        options = f"-p {server.port} -k {self.socket_dir}"
        self.run("pg_ctl", "start", "-D", str(server.datadir), "-l", str(server.log), "-w", "-t", str(START_SECONDS),
                 "-o", options)  # fmt: skip

    def running(self, server: Server) -> bool:
        """Whether the server's postmaster is alive."""
        pid = self._postmaster_pid(server)
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
            # A killed postmaster stays a zombie until whoever inherited it reaps it.
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (ProcessLookupError, FileNotFoundError):
            return False
        except OSError:
            return True

    def _postmaster_pid(self, server: Server) -> int | None:
        try:
            return int((server.datadir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def kill(self, server: Server, hard: bool = False) -> None:
        """Stop a server at once, as a crash would: `pg_ctl stop -m immediate`, or SIGKILL of all its processes."""
        if hard:
            pid = self._postmaster_pid(server)
            if pid is not None:
                # pg_ctl starts the postmaster with setsid(), so its process group holds every backend.
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                deadline = time.monotonic() + 10
                while _group_alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.02)
                # The killed processes stay zombies until whoever inherited them reaps them, and a postmaster
                # refuses to start while the PID in a lock file exists; after a reboot it would not.
                if not _group_alive(pid):
                    (server.datadir / "postmaster.pid").unlink(missing_ok=True)
                    (self.socket_dir / f".s.PGSQL.{server.port}.lock").unlink(missing_ok=True)
        elif self.running(server):
            self.run("pg_ctl", "stop", "-D", str(server.datadir), "-m", "immediate", "-w")
        assert not self.running(server), f"{server.name} still runs"

    def restart(self, server: Server) -> None:
        """Start a server that was killed (it recovers from its WAL) and wait until it accepts connections."""
        self.start_server(server)

    def connect(self, server: Server, dbname: str = "postgres") -> psycopg.Connection:
        """An autocommit connection to a server, for the tests' own setup and checks."""
        return psycopg.connect(server.url(dbname), autocommit=True, connect_timeout=5)

    def pause_replay(self, replica: Server) -> None:
        """Stop a replica replaying WAL (it still receives it), so it falls behind the primary."""
        with self.connect(replica) as conn:
            conn.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self, replica: Server) -> None:
        """Let a paused replica replay again."""
        with self.connect(replica) as conn:
            conn.execute("SELECT pg_wal_replay_resume()")

    def wait_streaming(self, replica: Server, timeout: float = 30) -> None:
        """Wait until a replica's WAL receiver streams from the primary."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.connect(replica) as conn:
                    row = conn.execute("SELECT status FROM pg_stat_wal_receiver").fetchone()
                if row and row[0] == "streaming":
                    return
            except psycopg.OperationalError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{replica.name} does not stream:\n{replica.log_tail()}")
            time.sleep(0.05)

    def wait_caught_up(self, replicas: list[Server] | None = None, timeout: float = 30) -> None:
        """Wait until replicas have replayed everything the primary has written by now."""
        with self.connect(self.primary) as conn:
            (target,) = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
        for replica in self.replicas if replicas is None else replicas:
            deadline = time.monotonic() + timeout
            while True:
                with self.connect(replica) as conn:
                    (done,) = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()
                if done:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"{replica.name} did not replay up to {target}:\n{replica.log_tail()}")
                time.sleep(0.02)

    def heal(self) -> None:
        """Make every server run, every replica replay and stream, and the replicas catch up."""
        for server in self.servers:
            if not self.running(server):
                self.restart(server)
        for replica in self.replicas:
            with self.connect(replica) as conn:
                conn.execute("SELECT pg_wal_replay_resume() WHERE pg_is_wal_replay_paused()")
        for replica in self.replicas:
            self.wait_streaming(replica)
        self.wait_caught_up()

    def create_database(self) -> str:
        """A new empty database on the primary, once both replicas have it too; its name."""
        name = f"test_{next(self._databases)}"
        with self.connect(self.primary) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
            # A node the test kills then recovers from here, not by replaying every earlier test's WAL.
            conn.execute("CHECKPOINT")
        self.wait_caught_up()
        for replica in self.replicas:
            with self.connect(replica) as conn:
                conn.execute("CHECKPOINT")
        return name

    def drop_database(self, name: str) -> None:
        """Drop a test's database, ending its connections."""
        with self.connect(self.primary) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        """Stop every server still running and delete the cluster's folder."""
        for server in self.servers:
            if self.running(server):
                try:
                    self.run("pg_ctl", "stop", "-D", str(server.datadir), "-m", "immediate", "-w", timeout=30)
                except (AssertionError, subprocess.SubprocessError):
                    self.kill(server, hard=True)
        shutil.rmtree(self.root, ignore_errors=True)


def _group_alive(pgid: int) -> bool:
    """Whether a process of a process group still runs (zombies do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


@dataclass
class ClusterDatabase:
    """A test's database on the cluster: its URLs on the primary and on each replica."""

    cluster: Cluster
    name: str

    @property
    def primary_url(self) -> str:
        return self.cluster.primary.url(self.name)

    @property
    def replica_urls(self) -> list[str]:
        return [replica.url(self.name) for replica in self.cluster.replicas]

    def connect(self, server: Server) -> psycopg.Connection:
        """An autocommit connection to this database on one server."""
        return self.cluster.connect(server, self.name)


def new_cluster() -> Cluster:
    """A cluster in a new temporary folder the server user owns (not started)."""
    bindir = server_bindir()
    if bindir is None:
        unavailable(
            "the PostgreSQL server binaries are missing (no initdb under `pg_config --bindir` or "
            "/usr/lib/postgresql/*/bin): `apt-get install postgresql` (.ci/run does it)"
        )
    root = Path(tempfile.mkdtemp(prefix="searchapp-pg-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(SUPERUSER)
        except KeyError:
            unavailable(f"there is no {SUPERUSER} user to run the PostgreSQL servers as: `apt-get install postgresql`")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    return Cluster(bindir, root)


@pytest.fixture(scope="session")
def pg_cluster():
    """A running primary and two streaming replicas for the whole test run; stopped at its end."""
    cluster = new_cluster()
    # Also when the run is interrupted before the fixture's teardown: no server outlives the tests.
    atexit.register(cluster.stop)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        atexit.unregister(cluster.stop)


@pytest.fixture
def pg_cluster_db(pg_cluster):
    """A fresh database on the healed cluster, replayed by both replicas; dropped after the test."""
    pg_cluster.heal()
    name = pg_cluster.create_database()
    yield ClusterDatabase(pg_cluster, name)
    pg_cluster.heal()
    pg_cluster.drop_database(name)


@pytest.fixture
def pg_nodes(pg_cluster_db):
    """Make `Nodes` of the test's database on the primary and both replicas; each is closed after the test."""
    from indexer.engine.postgres.nodes import Nodes

    made = []

    def make(**options) -> Nodes:
        nodes = Nodes(pg_cluster_db.primary_url, pg_cluster_db.replica_urls, **options)
        made.append(nodes)
        return nodes

    yield make
    for nodes in made:
        nodes.close()
