"""The index schema, defined once, and how a cleaned document fills it."""

from __future__ import annotations

from whoosh.fields import ID, NUMERIC, STORED, TEXT, Schema

from indexer.engine.analysis import TermFrequency, TermPositions, name_analyzer, search_analyzer
from indexer.extract.document import Document

# Bump when fields or analysis change: the next `searchapp reindex` then rebuilds in full.
SCHEMA_VERSION = 9

# Sentinels, so documents without a source, a date, a year or a language can still be found and
# counted: `year:0` finds every document whose year is unknown, `date_precision:none` those with no
# date. Every column gets a value in every document: Whoosh's column readers fail on a segment whose
# last documents lack one.
UNKNOWN_SOURCE = "Unknown source"
UNKNOWN_YEAR = 0
UNKNOWN_MONTH = 0
NO_DATE = "none"
UNKNOWN_LANGUAGE = "und"  # BCP 47 for "undetermined"
# What a document lacking a column's value (in an index of an older schema) counts as.
COLUMN_DEFAULTS = {
    "source": UNKNOWN_SOURCE,
    "year": UNKNOWN_YEAR,
    "month": UNKNOWN_MONTH,
    "date": 0,
    "date_precision": NO_DATE,
    "language": UNKNOWN_LANGUAGE,
}

_TEXT = search_analyzer()


def _text() -> TEXT:
    """Return a searchable, stored text field whose postings are written without token objects."""
    field = TEXT(analyzer=_TEXT, stored=True)
    field.format = TermPositions(field_boost=field.format.field_boost)
    return field


def _names() -> TEXT:
    """Return the names field: keys without positions, whose postings are written without token objects."""
    field = TEXT(analyzer=name_analyzer(), phrase=False)
    field.format = TermFrequency(field_boost=field.format.field_boost)
    return field


SCHEMA = Schema(
    id=ID(stored=True, unique=True),
    url=ID(stored=True),
    # Stored because highlighting reads the text back.
    title=_text(),
    body=_text(),
    # The names of title and text by their sound in any script (analysis.name_key): a query for a
    # name finds its other spellings, ranked below the spelling typed. No positions: no phrase reads them.
    names=_names(),
    source=ID(stored=True, sortable=True),
    # YYYYMMDD with 00 for an unknown month or day and 0000 for an unknown year: sorts by date.
    # Fewer precision tiers than the default 8 terms a value: each term costs index time.
    date=NUMERIC(int, stored=True, sortable=True, shift_step=8),
    date_iso=STORED(),
    # Precomputed for date facets: a column read is far cheaper than a date-range facet. A few
    # hundred distinct values need no precision tiers at all for range queries.
    year=NUMERIC(int, bits=16, stored=True, sortable=True, shift_step=0),
    month=NUMERIC(int, bits=16, stored=True, sortable=True, shift_step=0),
    date_precision=ID(stored=True, sortable=True),
    language=ID(stored=True, sortable=True),
    content_hash=ID(stored=True),
    # The page file this document came from (relative to the corpus) and what a reindex checks.
    path=ID(stored=True),
    file_size=STORED(),
    file_mtime_ns=STORED(),
    source_hash=STORED(),
)


def document_fields(doc: Document) -> dict:
    """Return the index fields of a cleaned document, without the ones that describe its file."""
    date = doc.date
    year = date.year if date and date.year is not None else UNKNOWN_YEAR
    month = date.month if date and date.month is not None else UNKNOWN_MONTH
    day = date.day if date and date.day is not None else 0
    fields = {
        "id": doc.id,
        "title": doc.title,
        "source": doc.source or UNKNOWN_SOURCE,
        "body": doc.body,
        "names": f"{doc.title}\n{doc.body}",
        "date": year * 10_000 + month * 100 + day,
        "year": year,
        "month": month,
        "date_precision": date.precision if date else NO_DATE,
        "language": doc.language or UNKNOWN_LANGUAGE,
        "content_hash": doc.content_hash,
    }
    # Whoosh indexes an empty string as a term: leave unknown values of fields without a column out.
    if doc.url:
        fields["url"] = doc.url
    if doc.date_iso:
        fields["date_iso"] = doc.date_iso
    return fields


def file_fields(relpath: str, size: int, mtime_ns: int, source_hash: str) -> dict:
    """Return the index fields that tie a document to its page file."""
    return {"path": relpath, "file_size": size, "file_mtime_ns": mtime_ns, "source_hash": source_hash}


def is_current(schema: Schema) -> bool:
    """Return True when an index's schema has the fields this version writes."""
    return sorted(schema.names()) == sorted(SCHEMA.names())


def known_source(stored: str | None) -> str | None:
    """Return a stored source as users see it: None when unknown."""
    return None if not stored or stored == UNKNOWN_SOURCE else stored
