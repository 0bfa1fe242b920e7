"""Metadata given beside the pages: a collection's manifest (CSV or JSON) and per-page sidecars."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST_NAMES = ("manifest.csv", "manifest.json")
SIDECAR_SUFFIX = ".meta.json"
# Columns that name the page file, most specific first: the first one a row fills is the document.
FILE_COLUMNS = ("path", "file", "html_file", "source_file", "md_file", "text_file")
# Our field -> the column names collections use for it.
FIELD_COLUMNS = {
    "id": ("doc_id", "id"),
    "url": ("url", "canonical_url", "link"),
    "final_url": ("final_url",),
    "source": ("source", "source_org", "organisation", "organization", "publisher", "site_name"),
    "title": ("title", "headline"),
    "date": ("date", "published", "published_time", "datetime"),
    "language": ("language", "lang"),
    "charset": ("charset",),
}
# Fields whose values recur from row to row: each distinct value is held once.
SHARED_FIELDS = ("source", "date", "language", "charset")
# Values that spreadsheets and R exports write for "nothing".
EMPTY_VALUES = {"", "na", "n/a", "none", "null", "nan"}
# How far up from a page to look for its collection's manifest.
MAX_MANIFEST_DEPTH = 3


class Rows(Mapping):
    """A manifest's normalised rows by file, each a tuple of our fields: a dict per row held 1.5 GB a million."""

    def __init__(self):
        self._rows: dict[str, tuple] = {}
        self._shared: dict[str, str] = {}

    def add(self, relpath: str, row: dict[str, str]) -> None:
        shared = self._shared
        for name in SHARED_FIELDS:
            if name in row:
                row[name] = shared.setdefault(row[name], row[name])
        self._rows[relpath] = tuple(row.get(name) for name in FIELD_COLUMNS)

    def __getitem__(self, relpath: str) -> dict[str, str]:
        return {name: value for name, value in zip(FIELD_COLUMNS, self._rows[relpath]) if value is not None}

    def __contains__(self, relpath) -> bool:
        return relpath in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


@dataclass
class Manifest:
    """A collection: its folder and the metadata row of each listed file."""

    root: Path
    rows: Rows = field(default_factory=Rows)

    @property
    def name(self) -> str:
        """Return the collection's name: its folder's name."""
        return self.root.name


def _value(row: dict, names: tuple[str, ...]) -> str | None:
    """Return the first non-empty value among a row's columns `names`."""
    for name in names:
        value = row.get(name)
        if value is None:
            continue
        # Spreadsheet cells carry stray line breaks and padding ("Hosts \r\nMortgage Fraud").
        value = " ".join(str(value).split())
        if value.lower() not in EMPTY_VALUES:
            return value
    return None


def normalise_row(row: dict) -> dict[str, str]:
    """Map a manifest row or sidecar to our field names, dropping empty values."""
    out = {}
    for ours, names in FIELD_COLUMNS.items():
        value = _value(row, names)
        if value is not None:
            out[ours] = value
    return out


def _read_rows(path: Path) -> Iterator[dict]:
    """Read a manifest's rows from CSV or JSON (a list, or {"documents": [...]})."""
    if path.suffix == ".csv":
        # One row at a time: a list of every row's dict doubled what loading a large manifest held at its peak.
        with open(path, newline="", encoding="utf-8-sig") as f:
            yield from csv.DictReader(f)
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = data.get("documents", [])
    yield from (row for row in data if isinstance(row, dict))


def _posix(relpath: str) -> str:
    """Return Path(relpath).as_posix(), without building a Path for the plain paths most rows hold."""
    if "//" in relpath or relpath.startswith("./") or "/./" in relpath or relpath.endswith(("/", "/.")):
        return Path(relpath).as_posix()
    return relpath


def load_manifest(folder: Path) -> Manifest | None:
    """Load the manifest in `folder`, or return None when it has none."""
    for name in MANIFEST_NAMES:
        path = folder / name
        if path.is_file():
            manifest = Manifest(root=folder)
            for row in _read_rows(path):
                relpath = _value(row, FILE_COLUMNS)
                if relpath:
                    manifest.rows.add(_posix(relpath), normalise_row(row))
            return manifest
    return None


class MetadataFiles:
    """Finds the manifest and sidecar for each page, reading each manifest once."""

    def __init__(self):
        self._manifests: dict[Path, Manifest | None] = {}

    def collection_of(self, page: Path) -> Manifest | None:
        """Return the nearest manifest above `page`, whether or not it lists the page."""
        return self.collection_of_folder(page.parent)

    def collection_of_folder(self, folder: Path) -> Manifest | None:
        """Return the nearest manifest of a folder or above it, whether or not it lists the folder's pages."""
        for _ in range(MAX_MANIFEST_DEPTH + 1):
            if folder not in self._manifests:
                self._manifests[folder] = load_manifest(folder)
            if self._manifests[folder] is not None:
                return self._manifests[folder]
            if folder.parent == folder:
                break
            folder = folder.parent
        return None

    def manifest_for(self, page: Path) -> Manifest | None:
        """Return the nearest manifest above `page` if it lists the page."""
        manifest = self.collection_of(page)
        return manifest if manifest and self.relpath(manifest, page) in manifest.rows else None

    @staticmethod
    def relpath(manifest: Manifest, page: Path) -> str:
        """Return the page's path inside its collection, as the manifest writes it."""
        return Path(os.path.relpath(page, manifest.root)).as_posix()

    def metadata_for(self, page: Path) -> tuple[dict[str, str], dict[str, str], Manifest | None]:
        """Return a page's given metadata (sidecar over manifest), where each field came from, and its manifest."""
        manifest = self.manifest_for(page)
        meta = dict(manifest.rows[self.relpath(manifest, page)]) if manifest else {}
        origins = {key: "manifest" for key in meta}
        sidecar = sidecar_path(page)
        if sidecar.is_file():
            try:
                data = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ValueError(f"unreadable sidecar {sidecar.name}: {exc}") from exc
            if isinstance(data, dict):
                given = normalise_row(data)
                meta.update(given)
                origins.update({key: "sidecar" for key in given})
        return meta, origins, manifest


def sidecar_path(page: Path) -> Path:
    """Return where the sidecar of `page` lives: NAME.meta.json beside NAME.html."""
    return page.with_name(page.stem + SIDECAR_SUFFIX)


def is_metadata_name(name: str) -> bool:
    """Return True for the names of files that describe pages rather than being pages."""
    return name in MANIFEST_NAMES or name.endswith(SIDECAR_SUFFIX)
