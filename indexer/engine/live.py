"""The live index of a server process: one view shared by its threads, replaced by a warmed one after a reindex.

Each request leases the view it starts on and finishes on it, whatever a reindex does
meanwhile. A view that a newer one replaced is closed when its last lease ends, and the
generation it read is deleted once no process reads it (storage.ReaderLock).

Two ways to notice a reindex. By default each lease checks the CURRENT pointer (one stat) and
opens the new generation there and then: the request that follows a reindex sees it, which is
what a developer and the tests expect. With `watch_seconds`, a thread polls the pointer instead,
opens and warms the new view while the old one keeps serving, and only then switches: the first
searches after a reindex are as fast as the others, which is what a public server needs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from indexer.engine.storage import (
    POINTER_NAME,
    IndexMissingError,
    current_generation,
    open_view,
    remove_stale_generations,
)
from indexer.engine.view import DEFAULT_CACHE_BYTES, IndexView

log = logging.getLogger(__name__)
# The share of the postings cache filled with the commonest words before a new view serves.
PREFETCH_SHARE = 0.125


class _Lease:
    """A view and how many requests are reading it."""

    __slots__ = ("view", "stamp", "readers", "retired", "opened_at")

    def __init__(self, view: IndexView, stamp):
        self.view, self.stamp = view, stamp
        self.readers = 0
        self.retired = False
        self.opened_at = time.time()


def pointer_stamp(index: Path):
    """Return what identifies the CURRENT pointer's present content (it is replaced, never rewritten), or None."""
    try:
        st = os.stat(Path(index) / POINTER_NAME)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns


class LiveIndex:
    """The live generation of one index, open once in this process and shared by its threads."""

    def __init__(
        self,
        index: Path | str,
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        time_budget: float | None = None,
        mmap: bool = False,
        warm: Callable[[IndexView], None] | None = None,
        watch_seconds: float | None = None,
    ):
        self.index = self._location(index)
        self.cache_bytes = cache_bytes
        self.time_budget = time_budget
        self.mmap = mmap
        self.warm = warm
        self.watch_seconds = watch_seconds
        self._lock = threading.Lock()
        # Held while a view is opened, so that threads arriving together open it once.
        self._opening = threading.Lock()
        self._lease: _Lease | None = None
        self._closed = False
        self._watcher: threading.Thread | None = None
        self.switches = 0

    # -- leases --

    @contextmanager
    def reading(self) -> Iterator[IndexView]:
        """Lease the live view for one request; raise IndexMissingError when there is no index."""
        lease = self.acquire()
        try:
            yield lease.view
        finally:
            self.release(lease)

    def acquire(self) -> _Lease:
        """Return the lease of the live view, counted as read until release()."""
        if self.watch_seconds is not None:
            self._start_watching()
        lease = self._lease_current()
        if lease is not None:
            return lease
        # No view yet, or (checking on each lease) a reindex published another generation.
        with self._opening:
            # Another thread may have opened it while this one waited.
            lease = self._lease_current()
            if lease is not None:
                return lease
            fresh = self._open(warm=False)
            with self._lock:
                self._install(fresh)
                fresh.readers += 1
                return fresh

    def _lease_current(self) -> _Lease | None:
        """Count a read of the live view and return its lease, or None when it must be (re)opened first."""
        with self._lock:
            lease = self._lease
            if lease is None:
                return None
            # A watcher switches views itself; otherwise the pointer must still name this view's state.
            if self.watch_seconds is None and lease.stamp != self._stamp():
                return None
            lease.readers += 1
            return lease

    def release(self, lease: _Lease) -> None:
        """End one request's read of a view; close the view if it was replaced and this was its last reader."""
        with self._lock:
            lease.readers -= 1
            done = lease.retired and lease.readers == 0
        if done:
            self._retire(lease)

    # -- switching generations --

    def _open(self, *, warm: bool) -> _Lease:
        """Open (and warm, if asked) a view of the live generation."""
        stamp = self._stamp()
        view = self._open_view()
        if warm:
            started = time.perf_counter()
            try:
                # The commonest words first: their postings are the slowest to read and the most used.
                view.prefetch(int(self.cache_bytes * PREFETCH_SHARE))
                if self.warm is not None:
                    self.warm(view)
            except Exception:  # a warm-up that fails leaves a cold view, never no view
                log.exception("Warming the view of %s failed; serving it cold", view.generation)
            log.info("Warmed %s in %.2f s", view.generation.name, time.perf_counter() - started)
        return _Lease(view, stamp)

    def _install(self, fresh: _Lease) -> None:
        """Make a lease the live one (under self._lock); the one it replaces closes after its last reader."""
        old, self._lease = self._lease, fresh
        self.switches += 1
        if old is not None:
            old.retired = True
            if old.readers == 0:
                # Closed outside the lock: deleting a generation's files takes a while.
                threading.Thread(target=self._retire, args=(old,), daemon=True).start()

    def _retire(self, lease: _Lease) -> None:
        """Close a replaced view, then delete the generations no process reads any more."""
        lease.view.close()
        self._cleanup()

    def refresh(self) -> bool:
        """Open, warm and switch to the live generation if it changed; return True when it switched."""
        with self._opening:
            with self._lock:
                lease = self._lease
            stamp = self._stamp()
            if lease is not None and lease.stamp == stamp:
                return False
            if lease is not None and self._same_state(lease):
                # The pointer was rewritten to the same generation: nothing to reopen.
                with self._lock:
                    lease.stamp = stamp
                return False
            fresh = self._open(warm=True)
            with self._lock:
                if self._closed:
                    fresh.view.close()
                    return False
                self._install(fresh)
            return True

    def _start_watching(self) -> None:
        """Start the thread that switches to each new generation once warmed (once per process)."""
        if self._watcher is not None and self._watcher.is_alive():
            return
        with self._lock:
            if self._watcher is not None and self._watcher.is_alive():
                return
            self._watcher = threading.Thread(target=self._watch, name="index-watcher", daemon=True)
            self._watcher.start()

    def _watch(self) -> None:
        """Poll the pointer and switch to new generations, until closed."""
        while not self._closed:
            try:
                self.refresh()
            except IndexMissingError:
                pass  # no index yet, or one being replaced: requests say so until it comes
            except Exception:
                log.exception("Could not open the new generation of %s; still serving the old one", self.index)
            time.sleep(self.watch_seconds)

    # -- what differs between backends --

    @staticmethod
    def _location(index):
        return Path(index)

    def _stamp(self):
        """Return what identifies the published state now (one stat of the pointer)."""
        return pointer_stamp(self.index)

    def _open_view(self) -> IndexView:
        """Open a view of the published state."""
        return open_view(self.index, mmap=self.mmap, cache_bytes=self.cache_bytes, time_budget=self.time_budget)

    def _same_state(self, lease: _Lease) -> bool:
        """Return True when the published state is the one a lease's view reads."""
        return current_generation(self.index) == lease.view.generation

    def _cleanup(self) -> None:
        """Delete what no view reads any more, after a view closed."""
        try:
            remove_stale_generations(self.index, older_only=True)
        except OSError:
            log.exception("Could not delete old generations of %s", self.index)

    # -- status --

    def status(self) -> dict:
        """Return the live view's generation, version, document count, publication time, switches so far and nodes."""
        lease = self.acquire()
        try:
            return {
                "generation": lease.view.generation.name,
                "version": lease.view.version,
                "documents": lease.view.doc_count(),
                "published_at": lease.view.published_at,
                "opened_at": lease.opened_at,
                "switches": self.switches,
                "nodes": self._nodes_health(),
            }
        finally:
            self.release(lease)

    def _nodes_health(self) -> list[dict] | None:
        """Return the health of each server the index is read from, or None for an index in a folder."""
        return None

    def close(self) -> None:
        """Close the live view (once its readers are done) and stop watching."""
        with self._lock:
            self._closed = True
            lease, self._lease = self._lease, None
            if lease is None:
                return
            lease.retired = True
            done = lease.readers == 0
        if done:
            lease.view.close()
