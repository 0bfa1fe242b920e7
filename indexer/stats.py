"""What an index holds: documents per source and language, its date range, its size and age."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from indexer.schema import NO_DATE, UNKNOWN_LANGUAGE, UNKNOWN_SOURCE, UNKNOWN_YEAR
from indexer.state import load_state
from indexer.store import column_values, open_generation, open_searcher

# Each column, and what a document lacking it (in an index of an older schema) counts as.
COLUMNS = {"source": UNKNOWN_SOURCE, "language": UNKNOWN_LANGUAGE, "date": 0, "year": UNKNOWN_YEAR,
           "date_precision": NO_DATE}


def index_stats(index: Path | str) -> dict:
    """Return the statistics `searchapp stats` prints; raise store.IndexMissingError without an index."""
    index = Path(index)
    generation, searcher = open_searcher(index)
    with searcher:
        reader = searcher.reader()
        doc_ids = list(reader.all_doc_ids())
        columns = {name: column_values(reader, name, doc_ids, default) for name, default in COLUMNS.items()}
        sources, languages = Counter(), Counter()
        dated, no_date, no_year = [], 0, 0
        for docnum in doc_ids:
            sources[columns["source"][docnum]] += 1
            languages[columns["language"][docnum]] += 1
            if columns["date_precision"][docnum] == NO_DATE:
                no_date += 1
            elif columns["year"][docnum] == UNKNOWN_YEAR:
                no_year += 1
            else:
                dated.append(columns["date"][docnum])
        toc_generation = reader.generation()
    if toc_generation is None:  # an index with no segments yet
        toc_generation = open_generation(generation).latest_generation()
    state = load_state(generation, toc_generation)
    return {
        "index": str(index),
        "generation": generation.name,
        "corpus": state.corpus if state else None,
        "documents": len(doc_ids),
        "sources": {name: n for name, n in sources.most_common() if name and name != UNKNOWN_SOURCE},
        "no_source": sources[UNKNOWN_SOURCE] + sources[""],
        "languages": dict(languages.most_common()),
        "first_date": date_text(min(dated)) if dated else None,
        "last_date": date_text(max(dated)) if dated else None,
        "no_date": no_date,
        "no_year": no_year,
        "size_bytes": sum(p.stat().st_size for p in generation.iterdir() if p.is_file()),
        "built_at": state.built_at if state else None,
        "full_built_at": state.full_built_at if state else None,
        "checked_at": state.checked_at if state else None,
    }


def date_text(number: int) -> str:
    """Return the ISO form of a YYYYMMDD sort key whose month or day may be 00."""
    year, month, day = number // 10_000, number // 100 % 100, number % 100
    if not month:
        return f"{year:04d}"
    return f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day else "")
