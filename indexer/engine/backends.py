"""Which engine serves an index: a `postgresql://` URL means PostgreSQL, anything else a Whoosh index folder.

The rest of the product names an index by its location only, and comes here to open, rebuild or
watch it; only indexer/engine/postgres/ knows SQL.
"""

from __future__ import annotations

import os
from pathlib import Path

from indexer.engine.view import IndexView

URL_SCHEMES = ("postgresql://", "postgres://")
BACKEND_ENV = "SEARCHAPP_BACKEND"


def is_postgres(location) -> bool:
    """Return True when an index location names a PostgreSQL database."""
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


def index_location(given: str | os.PathLike | None = None, backend: str | None = None) -> str | Path:
    """Return the index: `backend` (a URL), else `given`, else $SEARCHAPP_BACKEND, else the Whoosh folder."""
    from indexer.config import index_path

    if backend:
        if not is_postgres(backend):
            raise ValueError(f"--backend {backend!r} is not a PostgreSQL URL: give one like postgresql://host/db")
        return backend
    if given is not None and is_postgres(str(given)):
        return str(given)
    if given is None and is_postgres(os.environ.get(BACKEND_ENV, "")):
        return os.environ[BACKEND_ENV]
    return index_path(given)


def describe(location) -> str:
    """Return how messages name an index: its folder, or the database's host:port/name."""
    if is_postgres(location):
        from indexer.engine.postgres.store import describe as describe_url

        return describe_url(location)
    return str(location)


def open_view(location, **settings) -> IndexView:
    """Open the live state of an index for searching; raise IndexMissingError naming the command to run."""
    if is_postgres(location):
        from indexer.engine.postgres.store import describe as describe_url
        from indexer.engine.postgres.store import nodes_for
        from indexer.engine.postgres.views import open_published_view

        settings.pop("mmap", None)
        return open_published_view(nodes_for(location), describe_url(location), **settings)
    from indexer.engine.storage import open_view as open_folder_view

    return open_folder_view(location, **settings)


def live_index(location, **settings):
    """Return the live index of a location (see engine/live.py)."""
    if is_postgres(location):
        from indexer.engine.postgres.live import PostgresLiveIndex

        return PostgresLiveIndex(location, **settings)
    from indexer.engine.live import LiveIndex

    return LiveIndex(location, **settings)


def view_of(target, **settings) -> IndexView:
    """Open a state a reindex wrote (its generation folder, or its PostgreSQL state) before it is published."""
    if isinstance(target, Path):
        from indexer.engine.storage import view_of as view_of_generation

        return view_of_generation(target, **settings)
    return target.view(**settings)


def unavailable_errors() -> tuple[type[Exception], ...]:
    """The errors that mean a backend's servers cannot do what was asked now (their messages say what to do)."""
    from indexer.engine.postgres.migrations import SchemaOutdatedError
    from indexer.engine.postgres.nodes import NodeUnavailableError

    return NodeUnavailableError, SchemaOutdatedError


def stored_facts(location) -> tuple[str | None, int]:
    """The published state's file record (JSON; None without one) and the index's size in bytes, of a database."""
    from indexer.engine.postgres.indexing import PostgresIndex
    from indexer.engine.postgres.store import database_bytes

    database = PostgresIndex(location)
    found = database.previous()
    return (found[1] if found else None), database_bytes(database.nodes)
