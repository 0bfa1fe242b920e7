"""The pages of a corpus as a reindex sees them: found with a cheap signature, then a first look at each.

The first look hashes a page and decides what it needs: nothing (unchanged since the last
commit), its cleaned document from the cache, or cleaning (see cleaning.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from indexer.extract.clean import iter_pages
from indexer.extract.metadata_files import SIDECAR_SUFFIX, Manifest, MetadataFiles
from indexer.index.clean_cache import CleanCache, cache_key

HASH_CHUNK_BYTES = 1 << 20
# json.dumps(row, sort_keys=True) builds an encoder per call; one kept encoder writes the same text.
_ROW_ENCODER = json.JSONEncoder(sort_keys=True)


@dataclass(frozen=True)
class Page:
    """A page file: where it is, the metadata row that describes it, and its signature."""

    relpath: str
    path: str
    metadata_digest: str
    signature: str
    # The later modification time of the page and its sidecar.
    modified_ns: int


def scan_corpus(corpus: Path) -> list[Page]:
    """Return the corpus's page files in path order, each with its cheap signature."""
    metadata = MetadataFiles()
    rows = ManifestRows(metadata)
    prefix = str(corpus).rstrip(os.sep) + os.sep
    pages = []
    for path in iter_pages(corpus, metadata):
        digest = rows.digest(path)
        page = str(path)
        relpath = page[len(prefix) :] if page.startswith(prefix) else os.path.relpath(page, corpus)
        pages.append(Page(relpath.replace(os.sep, "/"), page, digest, *signature_and_time(page, digest)))
    return pages


class ManifestRows:
    """Hash the manifest row of each page, finding each folder's manifest once.

    A no-op reindex of a large corpus spends its time here: paths are compared as strings,
    not pathlib objects, and rows are hashed on first use.
    """

    def __init__(self, metadata: MetadataFiles):
        self.metadata = metadata
        self._by_folder: dict[Path, tuple[Manifest | None, str]] = {}
        self._digests: dict[int, str] = {}

    def digest(self, path: Path) -> str:
        """Return a hash of the manifest row that describes a page ("" when none does)."""
        folder = path.parent
        if folder not in self._by_folder:
            manifest = self.metadata.collection_of(path)
            self._by_folder[folder] = (manifest, str(manifest.root).rstrip(os.sep) + os.sep if manifest else "")
        manifest, prefix = self._by_folder[folder]
        if manifest is None:
            return ""
        page = str(path)
        relpath = page[len(prefix) :] if page.startswith(prefix) else self.metadata.relpath(manifest, path)
        row = manifest.rows.get(relpath.replace(os.sep, "/"))
        if row is None:
            return ""
        if id(row) not in self._digests:
            self._digests[id(row)] = hashlib.sha1(_ROW_ENCODER.encode(row).encode()).hexdigest()
        return self._digests[id(row)]


def page_signature(path: str, digest: str) -> str:
    """Return what a reindex compares first: size and mtime of the page and its sidecar, and its row.

    An unreadable page gets an empty signature, which never matches, so it is looked at again.
    """
    return signature_and_time(path, digest)[0]


def signature_and_time(path: str, digest: str) -> tuple[str, int]:
    """Return a page's signature and the later modification time of the page and its sidecar."""
    try:
        page = os.stat(path)
    except OSError:
        return "", 0
    try:
        side = os.stat(sidecar_of(path))
        sidecar, modified = f"{side.st_size}:{side.st_mtime_ns}", max(page.st_mtime_ns, side.st_mtime_ns)
    except OSError:
        sidecar, modified = "-", page.st_mtime_ns
    return f"{page.st_size}:{page.st_mtime_ns}:{sidecar}:{digest}", modified


def sidecar_of(path: str) -> str:
    """Return metadata_files.sidecar_path(path) as a string, without pathlib's cost per page."""
    return os.path.splitext(path)[0] + SIDECAR_SUFFIX


def source_hash(path: Path | str, digest: str) -> str:
    """Return a hash of everything a page's document is made from: its bytes, sidecar and row."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK_BYTES):
            h.update(chunk)
    h.update(b"\0" + digest.encode() + b"\0")
    try:
        with open(sidecar_of(str(path)), "rb") as f:
            h.update(f.read())
    except OSError:
        pass
    return h.hexdigest()


@dataclass(frozen=True)
class Task:
    """A page to look at; expected_hash is its last indexed content hash, when it has one."""

    relpath: str
    path: str
    metadata_digest: str
    expected_hash: str | None


@dataclass
class Outcome:
    """What became of a page: unchanged, cleaned (fields), or failed (error).

    Between the first look and the cleaning, an outcome with neither fields nor error is
    still to be cleaned (or read from the cache, when from_cache is set).
    """

    relpath: str
    path: str
    signature: str
    size: int = 0
    mtime_ns: int = 0
    source_hash: str = ""
    fields: dict | None = None
    error: str | None = None
    unchanged: bool = False
    cache_key: str | None = None
    from_cache: bool = False

    @property
    def needs_cleaning(self) -> bool:
        """Return True when only cleaning the page can tell what it holds."""
        return not (self.unchanged or self.from_cache or self.fields is not None or self.error is not None)

    def resolve(self, result: dict) -> None:
        """Take a cleaning result, {"fields": ...} or {"error": ...}."""
        self.fields, self.error = result.get("fields"), result.get("error")


def inspect_page(task: Task, cache: CleanCache, fingerprint: str) -> Outcome:
    """Hash a page and decide what it needs; the cached fields themselves are read later, when written."""
    if not task.relpath.isprintable() or not _is_utf8(task.relpath):
        return Outcome(task.relpath, task.path, "", error="its file name is not printable UTF-8: rename it")
    # Signature before content: a change in between shows as a new signature on the next run.
    signature = page_signature(task.path, task.metadata_digest)
    try:
        stat = os.stat(task.path)
        digest = source_hash(task.path, task.metadata_digest)
    except OSError as exc:
        return Outcome(task.relpath, task.path, signature, error=f"cannot be read ({exc.strerror or exc})")
    outcome = Outcome(task.relpath, task.path, signature, stat.st_size, stat.st_mtime_ns, digest)
    if digest == task.expected_hash:
        outcome.unchanged = True
        return outcome
    outcome.cache_key = cache_key(fingerprint, task.relpath, digest)
    outcome.from_cache = cache.has(outcome.cache_key)
    return outcome


def _is_utf8(text: str) -> bool:
    """Return True when text can be written as UTF-8 (file names that are not decode to lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
