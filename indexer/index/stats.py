"""What an index holds: documents per source and language, its date range, its size and age."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from indexer.engine.backends import describe, is_postgres, open_view, stored_facts
from indexer.engine.schema import NO_DATE, UNKNOWN_SOURCE, UNKNOWN_YEAR
from indexer.index.state import IndexState, load_live_state


def index_stats(index: Path | str) -> dict:
    """Return the statistics `searchapp stats` prints; raise IndexMissingError without an index."""
    index = index if is_postgres(index) else Path(index)
    with open_view(index) as view:
        generation = view.generation
        columns = {name: view.column(name) for name in ("source", "language", "date", "year", "date_precision")}
        sources, languages = Counter(columns["source"].values()), Counter(columns["language"].values())
        dated, no_date, no_year = [], 0, 0
        for docnum, precision in columns["date_precision"].items():
            if precision == NO_DATE:
                no_date += 1
            elif columns["year"][docnum] == UNKNOWN_YEAR:
                no_year += 1
            else:
                dated.append(columns["date"][docnum])
        documents = view.doc_count()
        published_at = view.published_at
    if is_postgres(index):
        text, size = stored_facts(index)
        state = IndexState.from_json(text) if text else None
    else:
        state = load_live_state(generation)
        size = sum(p.stat().st_size for p in generation.iterdir() if p.is_file())
    return {
        "index": describe(index),
        "generation": generation.name,
        "corpus": state.corpus if state else None,
        "documents": documents,
        "sources": {name: n for name, n in sources.most_common() if name and name != UNKNOWN_SOURCE},
        "no_source": sources[UNKNOWN_SOURCE] + sources[""],
        "languages": dict(languages.most_common()),
        "first_date": date_text(min(dated)) if dated else None,
        "last_date": date_text(max(dated)) if dated else None,
        "no_date": no_date,
        "no_year": no_year,
        "size_bytes": size,
        "built_at": state.built_at if state else None,
        # When searches began to see this state: the end of the reindex that built it.
        "published_at": iso_time(published_at) if published_at is not None else None,
        "full_built_at": state.full_built_at if state else None,
        "checked_at": state.checked_at if state else None,
    }


def iso_time(seconds: float) -> str:
    """Return a time since the epoch as ISO 8601 in UTC, to the second."""
    return datetime.fromtimestamp(int(seconds), timezone.utc).isoformat()


def date_text(number: int) -> str:
    """Return the ISO form of a YYYYMMDD sort key whose month or day may be 00."""
    year, month, day = number // 10_000, number // 100 % 100, number % 100
    if not month:
        return f"{year:04d}"
    return f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day else "")
