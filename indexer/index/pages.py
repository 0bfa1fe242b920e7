"""The pages of a corpus as a reindex sees them: found with a cheap signature, then a first look at each.

The first look hashes a page and decides what it needs: nothing (unchanged since the last
commit), its cleaned document from the cache, or cleaning (see cleaning.py).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import NamedTuple

from indexer.extract.clean import NOT_PAGES, PAGE_SUFFIXES
from indexer.extract.metadata_files import MANIFEST_NAMES, MAX_MANIFEST_DEPTH, SIDECAR_SUFFIX, is_metadata_name
from indexer.index.clean_cache import CleanCache, cache_key
from indexer.index.manifest_digests import ManifestDigests

HASH_CHUNK_BYTES = 1 << 20


class Page(NamedTuple):
    """A page file: where it is, the metadata row that describes it, and its signature."""

    relpath: str
    path: str
    metadata_digest: str
    signature: str
    # The later modification time of the page and its sidecar.
    modified_ns: int


def scan_corpus(corpus: Path, manifests: ManifestDigests | None = None, scan_started_ns: int = 0) -> list[Page]:
    """Return the corpus's page files in path order, each with its cheap signature.

    The same pages as extract.clean.iter_pages, found without pathlib: a no-op reindex of a
    large corpus spends most of its time here. A sidecar is looked for among its folder's names
    rather than by a stat that fails for most pages; manifests' row digests come from `manifests`.
    """
    manifests = manifests or ManifestDigests(None)
    found = _ManifestFinder(manifests, scan_started_ns)
    root = str(corpus)
    prefix = root.rstrip(os.sep) + os.sep
    pages = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        collection_prefix, rows = found.collection_of(dirpath)
        names = set(filenames)
        folder = dirpath.rstrip(os.sep) + os.sep
        for name in sorted(filenames):
            # os.path.splitext's split for the names left: no leading dot, so the stem is all before the last.
            stem, dot, extension = name.rpartition(".")
            if (
                not dot
                or name.startswith(".")
                or "." + extension.lower() not in PAGE_SUFFIXES
                or is_metadata_name(name)
                or stem.lower() in NOT_PAGES
            ):
                continue
            page = folder + name
            digest = ""
            if rows is not None:
                inside = page[len(collection_prefix) :] if page.startswith(collection_prefix) else page
                digest = rows.get(inside.replace(os.sep, "/"))
                if digest is None:
                    continue
            relpath = page[len(prefix) :] if page.startswith(prefix) else os.path.relpath(page, corpus)
            sidecar = stem + SIDECAR_SUFFIX
            pages.append(
                Page(
                    relpath.replace(os.sep, "/"),
                    page,
                    digest,
                    *_signature_and_time(page, folder + sidecar if sidecar in names else None, digest),
                )
            )
    return pages


class _ManifestFinder:
    """Find each folder's collection as MetadataFiles.collection_of_folder does, with strings and stat."""

    def __init__(self, manifests: ManifestDigests, scan_started_ns: int):
        self.manifests, self.scan_started_ns = manifests, scan_started_ns
        self._own: dict[str, tuple[str, dict[str, str]] | None] = {}

    def collection_of(self, folder: str) -> tuple[str, dict[str, str] | None]:
        """Return the nearest manifest's folder (with a separator) and row digests, or ("", None)."""
        for _ in range(MAX_MANIFEST_DEPTH + 1):
            if folder not in self._own:
                self._own[folder] = self._manifest_in(folder)
            if self._own[folder] is not None:
                return self._own[folder]
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
        return "", None

    def _manifest_in(self, folder: str) -> tuple[str, dict[str, str]] | None:
        """Return a folder's own manifest as (folder prefix, row digests), or None when it has none."""
        for name in MANIFEST_NAMES:
            path = os.path.join(folder, name)
            try:
                stat = os.stat(path)
            except OSError:
                continue
            if S_ISREG(stat.st_mode):
                return folder.rstrip(os.sep) + os.sep, self.manifests.rows(path, stat, self.scan_started_ns)
        return None


def page_signature(path: str, digest: str) -> str:
    """Return what a reindex compares first: size and mtime of the page and its sidecar, and its row.

    An unreadable page gets an empty signature, which never matches, so it is looked at again.
    """
    return _signature_and_time(path, sidecar_of(path), digest)[0]


def _signature_and_time(path: str, sidecar: str | None, digest: str) -> tuple[str, int]:
    """Return a page's signature and the later modification time of the page and its sidecar (None: none)."""
    try:
        page = os.stat(path)
    except OSError:
        return "", 0
    if sidecar is not None:
        try:
            side = os.stat(sidecar)
        except OSError:
            pass
        else:
            signature = f"{page.st_size}:{page.st_mtime_ns}:{side.st_size}:{side.st_mtime_ns}:{digest}"
            return signature, max(page.st_mtime_ns, side.st_mtime_ns)
    return f"{page.st_size}:{page.st_mtime_ns}:-:{digest}", page.st_mtime_ns


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
