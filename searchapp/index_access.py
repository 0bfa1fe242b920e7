"""The index for a request: one searcher kept per worker thread, reopened after a reindex."""

from __future__ import annotations

import threading

from flask import current_app, g

from indexer.store import SearcherSource

_local = threading.local()


def get_searcher():
    """Return an up-to-date searcher for this request; raise IndexMissingError without an index."""
    if "searcher" not in g:
        sources = getattr(_local, "sources", None)
        if sources is None:
            sources = _local.sources = {}
        path = current_app.config["INDEX"]
        if path not in sources:
            sources[path] = SearcherSource(path)
        g.searcher = sources[path].get()
    return g.searcher


def index_version(searcher) -> str:
    """Return a name for the index state a searcher reads: changes with every reindex that commits."""
    reader = searcher.reader()
    return f"{searcher._ix.storage.folder.rsplit('/', 1)[-1]}.{reader.generation()}" \
        if hasattr(searcher, "_ix") and searcher._ix is not None else str(reader.generation())


def release_searcher(exc=None) -> None:
    """Forget the request's searcher; the thread keeps it open for the next request."""
    g.pop("searcher", None)


def init_app(app) -> None:
    """Register the teardown with the app."""
    app.teardown_appcontext(release_searcher)
