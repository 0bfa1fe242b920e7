"""Clean one saved page into a Document, choosing each field from the best signal."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from indexer.extract.dates import PartialDate, combine, date_from_lead, date_from_url, day_first, parse_date
from indexer.extract.decode import decode, read_bytes
from indexer.extract.document import Document, document_id
from indexer.extract.errors import CleanError
from indexer.extract.html_page import BOT_WALL, BOT_WALL_CHARS, extract_html, is_bot_wall, why_empty
from indexer.extract.language import detect_language
from indexer.extract.metadata_files import MetadataFiles, is_metadata_name
from indexer.extract.sources import source_for_url
from indexer.extract.text_page import extract_text

HTML_SUFFIXES = {".html", ".htm", ".xhtml", ".shtml", ".php", ".asp", ".aspx"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
TEXT_SUFFIXES = {".txt", ".text"}
PAGE_SUFFIXES = HTML_SUFFIXES | MARKDOWN_SUFFIXES | TEXT_SUFFIXES
# Files that describe a collection rather than being one of its pages.
NOT_PAGES = {"readme", "provenance", "license", "licence", "changelog", "notice", "copying", "authors"}
HTML_SNIFF = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml\b[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b",
    re.IGNORECASE | re.DOTALL,
)
FIRST_SENTENCE = re.compile(r"^(.{20,160}?[.!?])(?:\s|$)")
TITLE_FALLBACK_CHARS = 120


def page_kind(path: Path, data: bytes) -> str:
    """Return "html", "markdown" or "text" from the file's name, sniffing HTML saved as text."""
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    return "html" if HTML_SNIFF.match(data[:2048]) else "text"


def fallback_title(paragraphs: list[str]) -> str:
    """Return a title made from the first sentence, for pages that carry none."""
    first = paragraphs[0]
    match = FIRST_SENTENCE.match(first)
    if match:
        return match.group(1)
    if len(first) <= TITLE_FALLBACK_CHARS:
        return first
    return first[:TITLE_FALLBACK_CHARS].rsplit(" ", 1)[0] + "…"


def document_key(given: dict[str, str], url: str | None, collection: str, relpath: str) -> str:
    """Return what identifies a page across runs: its collection id, its URL, or its collection path."""
    if "id" in given:
        return f"{collection}#{given['id']}"
    if url:
        return url
    return f"{collection}/{relpath}"


def clean_file(
    path: Path | str,
    metadata: MetadataFiles | None = None,
    *,
    use_metadata_files: bool = True,
    max_bytes: int | None = None,
) -> Document:
    """Clean one page file into a Document; raise CleanError when it cannot be."""
    path = Path(path)
    metadata = metadata or MetadataFiles()
    given, origins, manifest = ({}, {}, None)
    if use_metadata_files:
        try:
            given, origins, manifest = metadata.metadata_for(path)
        except ValueError as exc:
            raise CleanError(str(exc)) from exc
    data = read_bytes(path) if max_bytes is None else read_bytes(path, max_bytes=max_bytes)
    kind = page_kind(path, data)
    text = decode(data, declared=given.get("charset"), is_html=kind == "html")
    provenance: dict[str, str] = {}

    if kind == "html":
        page = extract_html(text, url=given.get("final_url") or given.get("url"))
        paragraphs, title, page_url, page_source = page.paragraphs, page.title, page.url, page.source
        page_date, lang_hint, source_line = page.date, page.lang, page.source_line
        headline_date, date_shown = page.headline_date, page.date_shown
        title_from, source_from = "html", "html"
    else:
        tpage = extract_text(text, markdown=kind == "markdown", given_title=given.get("title"))
        paragraphs, title, source_line = tpage.paragraphs, tpage.title, tpage.source_line
        page_url = tpage.fields.get("url")
        page_source = tpage.fields.get("source") or tpage.fields.get("publisher")
        fm_date = tpage.fields.get("date")
        page_date = parse_date(fm_date, "front-matter") if fm_date else None
        headline_date, date_shown = None, True
        lang_hint = tpage.fields.get("lang") or tpage.fields.get("language")
        title_from = "front-matter" if "title" in tpage.fields else "text"
        source_from = "front-matter"
    if kind == "html" and sum(map(len, paragraphs)) < BOT_WALL_CHARS and is_bot_wall(text, title=page.title_tag):
        raise CleanError(f"no release text found: {BOT_WALL}")
    if not paragraphs:
        reason = why_empty(text) if kind == "html" else "the page has no text"
        raise CleanError(f"no release text found: {reason}")

    url = given.get("url") or page_url
    provenance["url"] = origins.get("url", "page") if url else "none"

    if "title" in given:
        title, provenance["title"] = given["title"], origins["title"]
    elif title:
        provenance["title"] = title_from
    else:
        title, provenance["title"] = fallback_title(paragraphs), "first-sentence"

    source = given.get("source")
    provenance["source"] = origins.get("source", "")
    if not source and page_source:
        source, provenance["source"] = page_source, source_from
    if not source and source_line:
        source, provenance["source"] = source_line, "source-line"
    if not source:
        source = source_for_url(given.get("final_url") or url)
        provenance["source"] = "domain-map" if source else "none"

    dates = PageDates(page_date, headline_date, date_shown, day_first(lang_hint))
    date = _choose_date(given, origins, dates, url, paragraphs)
    provenance["date"] = date.source if date else "none"

    if "language" in given:
        language, provenance["language"] = given["language"].split("-")[0].lower(), origins["language"]
    else:
        language = detect_language(title + "\n" + "\n".join(paragraphs), hint=lang_hint)
        provenance["language"] = "detected" if language else "none"

    collection, relpath = _collection_path(path, manifest, metadata)
    return Document(
        id=document_id(document_key(given, url, collection, relpath)),
        path=str(path),
        url=url,
        source=source,
        title=title,
        date=date,
        language=language,
        paragraphs=paragraphs,
        provenance=provenance,
        final_url=given.get("final_url"),
    )


class PageDates(NamedTuple):
    """The dates a page gives of itself, and how to read its numeric dates."""

    date: PartialDate | None
    headline_date: PartialDate | None = None
    # Whether the page's text writes its date; a timestamp it never shows may be an edit's or a UTC day.
    shown: bool = True
    dayfirst: bool | None = None


def _choose_date(given, origins, page: PageDates, url, paragraphs) -> PartialDate | None:
    """Pick the date: given metadata, the page's markup, the URL, a dateline, a date below the headline."""
    if "date" in given:
        date = parse_date(given["date"], origins["date"])
        if date:
            return date
    if page.date and page.date.year is not None and page.shown:
        return page.date
    lead_date = date_from_lead(paragraphs, dayfirst=page.dayfirst)
    if page.date and page.date.year is not None:
        # A timestamp the page never writes yields to a dateline with a year.
        return lead_date if lead_date and lead_date.year is not None else page.date
    url_date = date_from_url(url) if url else None
    if url_date and url_date.precision == "day":
        return url_date
    if lead_date and lead_date.year is not None:
        return lead_date
    if page.headline_date:
        return page.headline_date
    # A month-and-day date takes its year from the URL only when the URL names the same month.
    return combine(page.date or lead_date, url_date)


def _collection_path(path: Path, manifest, metadata: MetadataFiles) -> tuple[str, str]:
    """Return the page's collection name and its path inside it, stable wherever the corpus lives."""
    if manifest is not None:
        return manifest.name, metadata.relpath(manifest, path)
    return path.parent.name, path.name


def iter_pages(root: Path, metadata: MetadataFiles) -> Iterator[Path]:
    """Yield the page files under a folder, sorted; a manifest's folder yields only what it lists."""
    # A no-op reindex of a large corpus spends its time here: a folder's manifest is found once, and
    # names and paths are compared as strings, not pathlib objects.
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        folder = Path(dirpath)
        collection = metadata.collection_of_folder(folder)
        prefix = str(collection.root).rstrip(os.sep) + os.sep if collection is not None else ""
        for name in sorted(filenames):
            stem, suffix = os.path.splitext(name)
            if (
                name.startswith(".")
                or suffix.lower() not in PAGE_SUFFIXES
                or is_metadata_name(name)
                or stem.lower() in NOT_PAGES
            ):
                continue
            path = folder / name
            if collection is not None:
                page = str(path)
                relpath = (
                    page[len(prefix) :].replace(os.sep, "/")
                    if page.startswith(prefix)
                    else metadata.relpath(collection, path)
                )
                if relpath not in collection.rows:
                    continue
            yield path


def clean_paths(
    paths: Iterable[str | Path], *, use_metadata_files: bool = True, max_bytes: int | None = None
) -> Iterator[tuple[Path, Document | None, str | None]]:
    """Clean files and folders in input order, yielding (path, document, error) for each page."""
    metadata = MetadataFiles()
    for given_path in paths:
        root = Path(given_path)
        files = iter_pages(root, metadata) if root.is_dir() else [root]
        for path in files:
            try:
                yield path, clean_file(path, metadata, use_metadata_files=use_metadata_files, max_bytes=max_bytes), None
            except CleanError as exc:
                yield path, None, str(exc)
            except RecursionError:
                yield path, None, "markup nested too deeply to parse"
            except Exception as exc:  # hostile input must cost one line, not the run
                yield path, None, f"could not be cleaned ({type(exc).__name__}: {exc})"
