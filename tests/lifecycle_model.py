"""A corpus that changes as users change theirs, and the index it should give, worked out by brute force."""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from indexer.engine.analysis import index_term
from indexer.engine.schema import UNKNOWN_SOURCE, known_source
from indexer.extract.clean import clean_paths, iter_pages
from indexer.extract.metadata_files import MetadataFiles
from searchapp.search import MAX_PER_PAGE, SearchRequest, search

from conftest import CORPUS, SEED

# Real pages of the bundled corpus, one of each kind, copied in without their manifests: the
# cleaner then works from what each page says, as it does for a new organisation's pages.
REAL_PAGES = [
    CORPUS / "doj_opa_press_releases" / "html" / "doj_2009-01-06_12688.html",
    CORPUS / "doj_opa_press_releases" / "text" / "doj_2009-01-15_12655.txt",
    CORPUS / "kremlin_and_president_ua_en_2021_2022" / "text" / "kremlin_0001.txt",
    CORPUS / "ua_president_office_statements_2022" / "text" / "en_2022-02-22_88jGEXGFOBs.txt",
    CORPUS / "belarusians_nl_news_2022_2023" / "md" / "be_25-03-2023.md",
    SEED,
]
# Words no real page holds, each with its own first letter and far from every other word, so that
# spelling variants (same first letter, one or two edits) never join them to another.
MARKERS = ["zorvexa", "quillfent", "jumbrook", "xyloprax", "vontrelle", "kaspivor"]
SOURCES = ["Viasna", "Amnesty Test Office", "Council of Tests"]
FOLDERS = ["loose", "loose/sub", "other"]
COLLECTION = "coll"
WORD = re.compile(r"\w+")


def page_html(
    title: str | None, body: list[str], *, date: str | None = None, source: str | None = None, script: bool = False
) -> str:
    """Return an HTML page with what a generator chose: any of title, date, source may be missing."""
    head = f"<title>{title}</title>" if title else ""
    if date:
        head += f'<meta property="article:published_time" content="{date}">'
    heading = f"<h1>{title}</h1>" if title else ""
    source_line = f"<p>Source: {source}</p>" if source else ""
    payload = '<script>document.title = "pwned"; alert(1)</script>' if script else ""
    paragraphs = "".join(f"<p>{p}</p>" for p in body)
    return (
        f"<!DOCTYPE html><html><head>{head}{payload}</head><body><article>{heading}{source_line}"
        f"{paragraphs}{payload}</article></body></html>"
    )


def page_text(title: str | None, body: list[str], *, source: str | None = None) -> str:
    """Return a plain-text page: headline, an optional source line, paragraphs."""
    parts = ([title] if title else []) + ([f"Source: {source}"] if source else []) + body
    return "\n\n".join(parts) + "\n"


@dataclass(frozen=True)
class ExpectedDoc:
    """A document as the index should hold it."""

    id: str
    relpath: str
    title: str
    source: str | None
    date: str | None
    year: int | None
    url: str | None
    language: str | None
    body: str

    def terms(self) -> tuple[list[str], list[str]]:
        """Return the index terms of the title and of the body, in order."""
        return ([index_term(w) for w in WORD.findall(self.title)], [index_term(w) for w in WORD.findall(self.body)])


class Corpus:
    """A corpus folder that rules change, and what cleaning each of its files gives."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True)
        (root / COLLECTION).mkdir()
        self.rows: dict[str, dict] = {}
        self._cleaned: dict[tuple, tuple] = {}
        self.owners: dict[str, str] = {}  # document id -> the file the last reindex took it from
        self.write_manifest()

    # -- changes --

    def files(self) -> list[str]:
        """Return the corpus-relative paths of the page files, sorted."""
        return sorted(
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if p.is_file() and p.name != "manifest.csv"
        )

    def write(self, relpath: str, content: str | bytes) -> None:
        """Write a page file (bytes as given, text as UTF-8)."""
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    def copy_real(self, source: Path, relpath: str) -> None:
        """Copy one of the bundled corpus's pages in."""
        (self.root / relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, self.root / relpath)

    def append(self, relpath: str, text: str) -> None:
        """Add a paragraph to a page, as a correction does: inside the article for HTML."""
        path = self.root / relpath
        data = path.read_bytes()
        if b"</article>" in data:
            data = data.replace(b"</article>", f"<p>{text}</p></article>".encode(), 1)
        elif b"</body>" in data:
            data = data.replace(b"</body>", f"<p>{text}</p></body>".encode(), 1)
        else:
            data += f"\n\n{text}\n".encode()
        path.write_bytes(data)

    def move(self, relpath: str, folder: str) -> str:
        """Move a page to another folder (its manifest row, if any, stays behind); return its new path."""
        new = f"{folder}/{Path(relpath).name}"
        if new == relpath or (self.root / new).exists():
            return relpath
        (self.root / new).parent.mkdir(parents=True, exist_ok=True)
        (self.root / relpath).rename(self.root / new)
        return new

    def delete(self, relpath: str) -> None:
        """Take a page down."""
        (self.root / relpath).unlink()

    def set_row(self, name: str, row: dict | None) -> None:
        """Add, change or (with None) remove the manifest row of a page of the collection."""
        if row is None:
            self.rows.pop(name, None)
        else:
            self.rows[name] = row
        self.write_manifest()

    def write_manifest(self) -> None:
        """Write the collection's manifest.csv from its rows."""
        with open(self.root / COLLECTION / "manifest.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["path", "title", "source", "date", "url"])
            writer.writeheader()
            for name, row in sorted(self.rows.items()):
                writer.writerow({"path": name, **row})

    # -- the model --

    def expected(self) -> tuple[dict[str, ExpectedDoc], int]:
        """Return the documents the index should hold by id, and how many pages a reindex reports failed.

        Cleaning is what `searchapp clean` does to the folder; of pages giving the same document id,
        the index keeps the one it took it from last time, else the first in path order.
        """
        manifest = (self.root / COLLECTION / "manifest.csv").read_bytes()
        by_id: dict[str, list[ExpectedDoc]] = {}
        failed = 0
        for _, doc, _ in self._clean_all(manifest):
            if doc is None:
                failed += 1
                continue
            by_id.setdefault(doc.id, []).append(doc)
        kept = {}
        for doc_id, docs in by_id.items():
            owner = self.owners.get(doc_id)
            kept[doc_id] = next((d for d in docs if d.relpath == owner), docs[0])
            failed += len(docs) - 1
        self.owners = {doc_id: doc.relpath for doc_id, doc in kept.items()}
        return kept, failed

    def _clean_all(self, manifest: bytes):
        """Yield (relpath, ExpectedDoc or None, error) per page as `searchapp clean` gives them, in path order.

        Results are reused for files whose bytes and manifest are as they were when last cleaned.
        """
        for path in iter_pages(self.root, MetadataFiles()):
            relpath = path.relative_to(self.root).as_posix()
            key = (relpath, hashlib.sha256(path.read_bytes()).hexdigest(), hashlib.sha256(manifest).hexdigest())
            if key not in self._cleaned:
                [(_, doc, error)] = clean_paths([path])
                if doc is not None:
                    doc = ExpectedDoc(
                        doc.id,
                        relpath,
                        doc.title,
                        doc.source,
                        doc.date_iso,
                        doc.date.year if doc.date else None,
                        doc.url,
                        doc.language,
                        doc.body,
                    )
                self._cleaned[key] = (relpath, doc, error)
            yield self._cleaned[key]


def all_hits(searcher, **request) -> list[dict]:
    """Return every hit with all the words of a search, page by page, through the product's search function."""
    hits, page = [], 1
    while True:
        result = search(searcher, SearchRequest(page=page, per_page=MAX_PER_PAGE, **request))
        # Releases with only some of the words follow those with all of them: the model matches all.
        hits += [hit for hit in result.hits if not hit["missing"]]
        if page >= result.pages:
            return hits
        page += 1


def matching(docs: dict[str, ExpectedDoc], query: tuple) -> set[str]:
    """Return the ids of the documents a model query matches, word by word, as the query language means it."""
    return {doc_id for doc_id, doc in docs.items() if _matches(doc.terms(), query)}


def _matches(terms: tuple[list[str], list[str]], query: tuple) -> bool:
    """Evaluate a model query, ("word", w) | ("phrase", [w...]) | ("title", w) | ("and"|"or", q...) | ("not", q)."""
    kind = query[0]
    title, body = terms
    if kind == "word":
        return index_term(query[1]) in title or index_term(query[1]) in body
    if kind == "title":
        return index_term(query[1]) in title
    if kind == "phrase":
        wanted = [index_term(w) for w in query[1]]
        return any(field[i : i + len(wanted)] == wanted for field in (title, body) for i in range(len(field)))
    if kind == "and":
        return all(_matches(terms, q) for q in query[1:])
    if kind == "or":
        return any(_matches(terms, q) for q in query[1:])
    if kind == "not":
        return not _matches(terms, query[1])
    raise ValueError(kind)


def model_queries() -> list[tuple[str, tuple]]:
    """Return user queries over the markers with what each means, every operator of the query language."""
    a, b, c = MARKERS[0], MARKERS[1], MARKERS[2]
    queries = [(m, ("word", m)) for m in MARKERS]
    queries += [
        (f"{a} {b}", ("and", ("word", a), ("word", b))),
        (f"{a} OR {c}", ("or", ("word", a), ("word", c))),
        (f"{a} -{b}", ("and", ("word", a), ("not", ("word", b)))),
        (f"{b} NOT {c}", ("and", ("word", b), ("not", ("word", c)))),
        (f'"{a} {b}"', ("phrase", [a, b])),
        (f'"{b} {a}"', ("phrase", [b, a])),
        (f"title:{c}", ("title", c)),
        (f"({a} OR {b}) {c}", ("and", ("or", ("word", a), ("word", b)), ("word", c))),
    ]
    return queries


def facet_counts(docs: dict[str, ExpectedDoc]) -> tuple[Counter, Counter, int]:
    """Return the model's releases per source (unknown ones under UNKNOWN_SOURCE), per year, and undated."""
    sources = Counter(doc.source or UNKNOWN_SOURCE for doc in docs.values())
    years = Counter(doc.year for doc in docs.values() if doc.year)
    return sources, years, sum(1 for doc in docs.values() if not doc.year)


def hit_fields(hit: dict) -> tuple:
    """Return the fields of a hit that the model predicts."""
    return hit["title"], hit["source"], hit["date"], hit["url"], hit["language"]


def doc_fields(doc: ExpectedDoc) -> tuple:
    """Return a model document's fields in the order hit_fields gives them."""
    return doc.title, known_source(doc.source), doc.date, doc.url, doc.language
