"""Where a test's index lives on each backend: a folder for Whoosh, a fresh database for PostgreSQL.

Every test of search behaviour asks for the `search_backend` fixture (through `search_index`, `site_index`,
`index_location` ...), so it runs once per backend, as `test_x[whoosh]` and `test_x[postgresql]`. A test about
Whoosh's own files (generations, CURRENT, segments, writer processes) is marked `whoosh_only` and runs on Whoosh
alone.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

from indexer.engine.backends import is_postgres

BACKENDS = ("whoosh", "postgresql")
WHOOSH_ONLY = "whoosh_only"

Location = Path | str
DATABASE_NUMBERS = itertools.count(1)


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
        name = f"contract_{next(DATABASE_NUMBERS)}"
        # Read on the primary alone, so neither the replicas' copies nor pg_cluster_db's checkpoints (for tests
        # that kill nodes) are waited for: 0.08 s a database instead of 0.9 s.
        with self.cluster.connect(self.cluster.primary) as conn:
            conn.execute(f'CREATE DATABASE "{name}" STRATEGY = FILE_COPY')
        url = self.cluster.primary.url(name)
        self.made.append(url)
        return url

    def remove(self, location: Location) -> None:
        """Close this process's connections to a PostgreSQL location and drop its database; a folder stays."""
        if self.cluster is None:
            return
        from indexer.engine.postgres.store import close_nodes

        if str(location) in self.made:
            self.made.remove(str(location))
        # The engine keeps one set of pools per database for the life of the process: a test run that made
        # dozens of databases would otherwise hold more connections than the primary takes.
        close_nodes(str(location))
        self.cluster.drop_database(database_name(location))

    def remove_made_since(self, count: int) -> None:
        """Remove the databases made after the first `count`."""
        for url in self.made[count:]:
            self.remove(url)

    def __repr__(self) -> str:
        return self.name


def database_name(url: Location) -> str:
    """The database a PostgreSQL location names."""
    return str(url).rsplit("/", 1)[1].split("?", 1)[0]


def index_options(location: Location) -> list[str]:
    """The command line's options that choose the index at a location."""
    return ["--backend", location] if is_postgres(location) else ["--index", str(location)]
