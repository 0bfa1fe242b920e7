"""One reindex at a time per index: a lock file that names its holder.

The lock is an fcntl.flock on var/index/reindex.lock, which the kernel releases when its
holder dies, even by SIGKILL. The file also records the holder (pid, host, start time) so
that a waiting reindex can say who it waits for, and so that a lock still held by a dead
holder's orphaned children can be recognised by the holder's pid and broken.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from indexer.engine.interface import ReindexBusyError

LOCK_NAME = "reindex.lock"
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Holder:
    """Who holds the reindex lock."""

    pid: int | None
    host: str | None
    started: str | None

    @classmethod
    def me(cls) -> Holder:
        """Return a holder record for this process."""
        started = dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")
        return cls(os.getpid(), socket.gethostname(), started)

    def describe(self) -> str:
        """Return "pid 123 on host, started 2024-05-01T10:00:00+02:00"."""
        if self.pid is None:
            return "another process (its lock file names no holder yet)"
        return f"pid {self.pid} on {self.host}, started {self.started}"

    def is_dead(self) -> bool:
        """Return True when the holder certainly no longer runs (same host, pid gone)."""
        return self.pid is not None and self.host == socket.gethostname() and not pid_alive(self.pid)


class IndexBusyError(ReindexBusyError):
    """Another reindex holds the index; the message names it."""

    def __init__(self, index: Path, holder: Holder):
        super().__init__(
            f"The index at {index} is being rebuilt by {holder.describe()}: "
            "wait for it to finish, or run again without --no-wait to wait"
        )
        self.holder = holder


def pid_alive(pid: int) -> bool:
    """Return True when a process with this pid runs (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # The state letter follows the parenthesised command name.
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def read_holder(path: Path) -> Holder:
    """Return the holder a lock file names, with unknown fields when it is empty or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(int(data["pid"]), str(data["host"]), str(data["started"]))
    except (OSError, ValueError, KeyError, TypeError):
        return Holder(None, None, None)


@contextmanager
def reindex_lock(index: Path, *, wait: bool = True, on_wait=None, on_break=None):
    """Hold the reindex lock of an index for the duration of the block.

    When another reindex holds it: with wait, call on_wait(holder) once and wait; without,
    raise IndexBusyError. A lock whose recorded holder is dead is broken (on_break(holder)).
    """
    path = Path(index) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    told = False
    while True:
        fd = _try_lock(path)
        if fd is not None:
            break
        holder = read_holder(path)
        if holder.is_dead():
            if on_break:
                on_break(holder)
            _break(path, holder)
            continue
        if not wait:
            raise IndexBusyError(index, holder)
        if not told and on_wait:
            on_wait(holder)
            told = True
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        # Unlink before unlocking: a waiter that then locks the old file sees it is gone and retries.
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _try_lock(path: Path) -> int | None:
    """Lock the file at `path` and record this process in it; return its fd, or None if held."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    # Between our open and our lock, the holder may have released and unlinked this file.
    try:
        same_file = os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        same_file = False
    if not same_file:
        os.close(fd)
        return _try_lock(path)
    holder = Holder.me()
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps({"pid": holder.pid, "host": holder.host, "started": holder.started}).encode())
    return fd


def _break(path: Path, holder: Holder) -> None:
    """Remove a lock file still locked by a dead holder's children, if it is still that holder's."""
    if read_holder(path) == holder:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
