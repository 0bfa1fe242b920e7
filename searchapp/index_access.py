"""The index for a request: searchers kept in a pool and reused, each reopened after a reindex.

A threaded server starts a thread per request, so searchers kept per thread would be opened (and
their caches rebuilt) on every request; a pool keeps them, one request at a time on each.
"""

from __future__ import annotations

import queue
import threading

from flask import current_app, g

from indexer.store import SearcherSource

_pools: dict[str, queue.LifoQueue] = {}
_pools_lock = threading.Lock()


def get_searcher():
    """Return an up-to-date searcher for this request; raise IndexMissingError without an index."""
    if "searcher" not in g:
        path = current_app.config["INDEX"]
        with _pools_lock:
            pool = _pools.setdefault(path, queue.LifoQueue())
        try:
            source = pool.get_nowait()
        except queue.Empty:
            source = SearcherSource(path)
        g.searcher_source = source
        g.searcher = source.get()
    return g.searcher


def index_version(searcher) -> str:
    """Return a name for the index state a searcher reads: changes with every reindex that commits."""
    reader = searcher.reader()
    return f"{searcher._ix.storage.folder.rsplit('/', 1)[-1]}.{reader.generation()}" \
        if hasattr(searcher, "_ix") and searcher._ix is not None else str(reader.generation())


def release_searcher(exc=None) -> None:
    """Give the request's searcher back to the pool, open, for the next request."""
    g.pop("searcher", None)
    source = g.pop("searcher_source", None)
    if source is not None:
        _pools[current_app.config["INDEX"]].put(source)


def init_app(app) -> None:
    """Register the teardown with the app."""
    app.teardown_appcontext(release_searcher)
