"""The cleaned document: one per page, the unit the index stores."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from indexer.extract.dates import PartialDate


@dataclass
class Document:
    """A press release after cleaning; metadata plus body paragraphs in order."""

    id: str
    path: str
    url: str | None
    source: str | None
    title: str
    date: PartialDate | None
    language: str | None
    paragraphs: list[str]
    # Where each metadata field came from ("manifest", "json-ld", "text", ...): users ask why.
    provenance: dict[str, str] = field(default_factory=dict)
    final_url: str | None = None

    @property
    def body(self) -> str:
        """Return the body text, paragraphs separated by blank lines."""
        return "\n\n".join(self.paragraphs)

    @property
    def content_hash(self) -> str:
        """Return a hash of what the index stores, to detect real changes."""
        h = hashlib.sha256()
        for part in (
            self.url or "",
            self.source or "",
            self.title,
            self.date_iso or "",
            self.language or "",
            self.body,
        ):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()

    @property
    def date_iso(self) -> str | None:
        """Return the date as ISO 8601 ("2023-02-01", "2023-02", "--02-01") or None."""
        return self.date.iso() if self.date else None

    def to_dict(self) -> dict:
        """Return the JSON form `searchapp clean --json` prints."""
        d = self.date
        return {
            "path": self.path,
            "id": self.id,
            "url": self.url,
            "final_url": self.final_url,
            "source": self.source,
            "title": self.title,
            "date": self.date_iso,
            "year": d.year if d else None,
            "month": d.month if d else None,
            "day": d.day if d else None,
            "date_precision": d.precision if d else None,
            "date_source": d.source if d else None,
            "language": self.language,
            "body": self.body,
            "content_hash": self.content_hash,
            "provenance": dict(self.provenance),
        }


def document_id(key: str) -> str:
    """Return a stable id for a page from its identifying key (URL or collection path)."""
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]
