"""Where a test's index lives on each backend: a folder for Whoosh, a fresh database for PostgreSQL.

Every test of search behaviour asks for the `search_backend` fixture (through `search_index`, `site_index`,
`index_location` ...), so it runs once per backend, as `test_x[whoosh]` and `test_x[postgresql]`. A test about
Whoosh's own files (generations, CURRENT, segments, writer processes) is marked `whoosh_only` and runs on Whoosh
alone.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BACKENDS = ("whoosh", "postgresql")
WHOOSH_ONLY = "whoosh_only"
# The module that opens either backend's location; until it exists only Whoosh can be tested.
BACKENDS_MODULE = "indexer.engine.backends"

Location = Path | str


def backends_module_missing() -> bool:
    """Whether the engine still lacks the module that opens a PostgreSQL location."""
    return importlib.util.find_spec(BACKENDS_MODULE) is None


def skip_until_postgres_backend() -> None:
    """Skip a PostgreSQL test while the engine cannot open a PostgreSQL location."""
    if backends_module_missing():
        pytest.skip(f"the PostgreSQL backend is not in the engine yet: {BACKENDS_MODULE} is missing")


@dataclass
class Backend:
    """One backend the contract suite runs on, and the PostgreSQL cluster behind it (None for Whoosh)."""

    name: str
    cluster: object | None = None
    # The databases made so far, in order; a test's own are removed after it (tests/conftest.py).
    made: list[str] = field(default_factory=list)

    def new_location(self, folder: Path) -> Location:
        """A fresh, empty index location: folder/index for Whoosh, a new database on the cluster's primary."""
        if self.cluster is None:
            return folder / "index"
        url = self.cluster.primary.url(self.cluster.create_database())
        self.made.append(url)
        return url

    def replica_urls(self, location: Location) -> list[str]:
        """The URLs of a PostgreSQL location's database on each replica."""
        return [replica.url(database_name(location)) for replica in self.cluster.replicas]

    def remove(self, location: Location) -> None:
        """Close this process's connections to a PostgreSQL location and drop its database; a folder stays."""
        if self.cluster is None:
            return
        from indexer.engine.postgres.store import nodes_for

        if str(location) in self.made:
            self.made.remove(str(location))

        # The engine keeps one set of pools per database for the life of the process: a test run that made
        # dozens of databases would otherwise hold more connections than the primary takes.
        nodes_for(str(location)).close()
        self.cluster.drop_database(database_name(location))

    def remove_made_since(self, count: int) -> None:
        """Remove the databases made after the first `count`."""
        for url in self.made[count:]:
            self.remove(url)

    def __repr__(self) -> str:
        return self.name


def is_url(location: Location) -> bool:
    """Whether a location is a PostgreSQL URL rather than a folder."""
    return str(location).startswith(("postgresql://", "postgres://"))


def database_name(url: Location) -> str:
    """The database a PostgreSQL location names."""
    return str(url).rsplit("/", 1)[1].split("?", 1)[0]


def open_view(location: Location, **settings):
    """Open a view of the live index at either backend's location (settings: time_budget=...); close it after."""
    if backends_module_missing():
        # Until the engine opens locations of both kinds, a folder is all there is.
        from indexer.engine.storage import open_view as open_location
    else:
        from indexer.engine.backends import open_view as open_location
    return open_location(location, **settings)


def index_options(location: Location) -> list[str]:
    """The command line's options that choose the index at a location."""
    return ["--backend", str(location)] if is_url(location) else ["--index", str(location)]
