"""What the rest of the product asks of a search engine: the contract a second backend must meet too.

Queries are opaque to callers: they come from `parse` and go back to the same index. Sets of
documents are bitmaps of document numbers (bitmaps.py), numbered 0..size-1 with deleted ones
included; `live` holds the documents that exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class ReindexBusyError(Exception):
    """Another reindex holds the index, and this one was told not to wait; the message names what to do."""


class Budget(Protocol):
    """The time one search may take; matching and ranking cut their work short to keep to it."""

    def notice(self) -> str | None: ...  # what was cut short, for the user


class ParsedQuery(Protocol):
    """A user's query as an engine will run it."""

    query: object
    notice: str | None  # what to tell the user about how the query was read
    everything: bool  # an empty search: every document, in no order of relevance
    budget: Budget  # started by parse; matched and top keep to it
    fuzzed: tuple[str, ...]  # words no release has, as typed, searched through their spelling variants


class QueryParts(Protocol):
    """The parts (words, phrases) a query requires, as typed, and the documents each matches."""

    labels: list[str]
    matched: list[int]  # live documents, exclusions applied
    any_part: ParsedQuery  # ranks documents that match some of the parts


class SearchIndex(Protocol):
    """One state of the index, open for searching."""

    generation: Path
    version: str  # changes with every reindex that commits: ETags key on it
    size: int
    live: int
    memo: dict  # what callers derive from this state and keep while it lives

    def doc_count(self) -> int: ...
    def column(self, name: str) -> dict[int, Any]: ...
    def stored(self, docnum: int) -> dict: ...
    def stored_many(self, docnums: list[int]) -> list[dict]: ...
    def docnum(self, doc_id: str) -> int | None: ...
    def similar(self, docnum: int, count: int) -> list[dict]: ...
    def resolve_sources(self, wanted: str) -> list[str]: ...
    def parse(self, text: str) -> ParsedQuery: ...
    def matched(self, parsed: ParsedQuery) -> int: ...
    def parts(self, parsed: ParsedQuery, text: str) -> QueryParts | None: ...
    def top(self, parsed: ParsedQuery, selected: int, limit: int, *, approximate: bool = False) -> list[int]: ...
    def highlight_terms(self, parsed: ParsedQuery) -> set[str]: ...
    def suggest(self, text: str) -> str | None: ...
    def close(self) -> None: ...


class IndexWriter(Protocol):
    """The one writer of a new index state: documents written and deleted, then one commit."""

    def write(self, fields: dict) -> None: ...
    def delete(self, doc_id: str) -> None: ...
    def commit(self) -> None: ...
    def cancel(self) -> None: ...
