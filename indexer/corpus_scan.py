"""Find the page files of a corpus, with the cheap signature and the content hash a reindex compares."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from indexer.clean import iter_pages
from indexer.metadata_files import MetadataFiles, sidecar_path

HASH_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Page:
    """A page file: where it is, the metadata row that describes it, and its signature."""

    relpath: str
    path: str
    metadata_digest: str
    signature: str


def scan_corpus(corpus: Path) -> list[Page]:
    """Return the corpus's page files in path order, each with its cheap signature."""
    metadata = MetadataFiles()
    pages = []
    for path in iter_pages(corpus, metadata):
        digest = metadata_digest(metadata, path)
        relpath = Path(os.path.relpath(path, corpus)).as_posix()
        pages.append(Page(relpath, str(path), digest, page_signature(path, digest)))
    return pages


def metadata_digest(metadata: MetadataFiles, path: Path) -> str:
    """Return a hash of the manifest row that describes a page ("" when none does)."""
    manifest = metadata.manifest_for(path)
    if manifest is None:
        return ""
    row = manifest.rows[metadata.relpath(manifest, path)]
    return hashlib.sha1(json.dumps(row, sort_keys=True).encode()).hexdigest()


def page_signature(path: Path | str, digest: str) -> str:
    """Return what a reindex compares first: size and mtime of the page and its sidecar, and its row.

    An unreadable page gets an empty signature, which never matches, so it is looked at again.
    """
    try:
        page = os.stat(path)
    except OSError:
        return ""
    try:
        side = os.stat(sidecar_path(Path(path)))
        sidecar = f"{side.st_size}:{side.st_mtime_ns}"
    except OSError:
        sidecar = "-"
    return f"{page.st_size}:{page.st_mtime_ns}:{sidecar}:{digest}"


def source_hash(path: Path | str, digest: str) -> str:
    """Return a hash of everything a page's document is made from: its bytes, sidecar and row."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK_BYTES):
            h.update(chunk)
    h.update(b"\0" + digest.encode() + b"\0")
    try:
        h.update(sidecar_path(Path(path)).read_bytes())
    except OSError:
        pass
    return h.hexdigest()
