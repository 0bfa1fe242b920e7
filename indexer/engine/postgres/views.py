"""Opening a state of a PostgreSQL index as the same IndexView the Whoosh backend serves."""

from __future__ import annotations

from pathlib import PurePosixPath

from whoosh.searching import Searcher

from indexer.engine.postgres import store
from indexer.engine.postgres.migrations import SchemaOutdatedError
from indexer.engine.postgres.nodes import Nodes
from indexer.engine.postgres.reading import PostgresReader, load_state
from indexer.engine.storage import IndexMissingError
from indexer.engine.view import IndexView

# What a PostgreSQL view's `generation` is named: its version is "pg.<state>".
GENERATION = PurePosixPath("pg")


class _Published:
    """What Whoosh's Searcher.up_to_date() asks of an index: the latest state's number."""

    def __init__(self, nodes: Nodes, where: str):
        self.nodes, self.where = nodes, where

    def latest_generation(self) -> int | None:
        found = store.published_state(self.nodes, where=self.where)
        return None if found is None else found.state


def missing_message(where: str) -> str:
    """What to tell a user whose database holds no index yet."""
    return f"No index in the PostgreSQL database at {where}: run `searchapp reindex --backend URL` with its URL"


def view_of_state(nodes: Nodes, state: int, where: str, **settings) -> IndexView:
    """Open one state (published or about to be) for searching, on nodes that have it; close the view after."""

    def read(function):
        return nodes.read(function, min_state=state)

    data = read(lambda conn: load_state(conn, state))
    reader = PostgresReader(data, read)
    searcher = Searcher(reader, fromindex=_Published(nodes, where))
    view = IndexView(searcher, GENERATION, **settings)
    view.state = state
    return view


def open_published_view(nodes: Nodes, where: str, **settings) -> IndexView:
    """Open the published state; raise IndexMissingError naming the command to run."""
    try:
        found = store.published_state(nodes, where=where)
    except SchemaOutdatedError as error:
        raise IndexMissingError(str(error)) from error
    if found is None:
        raise IndexMissingError(missing_message(where))
    view = view_of_state(nodes, found.state, where, **settings)
    view.published_at = found.published_at
    return view
