"""Cleaned documents cached by what produced them, so a rebuild skips cleaning unchanged pages.

An entry's key covers the page's bytes and metadata, its path in the corpus (document ids
depend on it) and the cleaner's code and settings, so any change to those misses the cache.
The cache is only an optimisation: when it cannot be read or written, pages are cleaned.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import zlib
from importlib import metadata as package_metadata
from pathlib import Path

from indexer import extract
from indexer.engine import schema

CACHE_FILE_NAME = "clean-cache.sqlite"
# Packages whose behaviour shapes a cleaned document.
CLEANER_PACKAGES = ("trafilatura", "lxml", "beautifulsoup4", "py3langid", "charset-normalizer", "PyYAML")
# What decides a cleaned page's index fields: every file of the extraction package, and the schema's
# mapping of a document to fields.
CLEANER_FILES = (Path(extract.__file__).resolve().parent, Path(schema.__file__).resolve())
SOURCES_ENV = "SEARCHAPP_SOURCES"
BUSY_TIMEOUT_SECONDS = 30
# Cleaned documents wait in memory at most this many before going to the database.
FLUSH_EVERY = 200
SCHEMA_SQL = "CREATE TABLE IF NOT EXISTS cleaned (key TEXT PRIMARY KEY, fields BLOB NOT NULL, used INTEGER NOT NULL)"


def cleaner_fingerprint() -> str:
    """Return a hash of everything that decides what cleaning a page gives."""
    h = hashlib.sha256()
    for place in CLEANER_FILES:
        for path in sorted(place.rglob("*")) if place.is_dir() else [place]:
            if path.is_file() and path.suffix in (".py", ".json"):
                h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for name in CLEANER_PACKAGES:
        try:
            h.update(f"{name}={package_metadata.version(name)}\0".encode())
        except package_metadata.PackageNotFoundError:
            h.update(f"{name}=none\0".encode())
    user_sources = os.environ.get(SOURCES_ENV)
    if user_sources:
        try:
            h.update(Path(user_sources).read_bytes())
        except OSError:
            h.update(b"unreadable")
    return h.hexdigest()


def cache_key(fingerprint: str, relpath: str, source_hash: str) -> str:
    """Return the cache key of a page's cleaned document."""
    return hashlib.sha256(f"{fingerprint}\0{relpath}\0{source_hash}".encode()).hexdigest()


class CleanCache:
    """An SQLite table of cleaning results ({"fields": ...} or {"error": ...}), keyed by cache_key."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._broken = False
        self._pending: list[tuple[str, bytes, int]] = []
        self._touched: list[str] = []

    def _connect(self) -> sqlite3.Connection | None:
        """Open the database once; None (no caching) when it cannot be opened."""
        if self._db is None and not self._broken:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS)
                # WAL: reindexes of other indexes sharing this cache read while one writes.
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute(SCHEMA_SQL)
            except (sqlite3.Error, OSError):
                self._db, self._broken = None, True
        return self._db

    def get(self, key: str) -> dict | None:
        """Return the cached value for a key, or None."""
        db = self._connect()
        if db is None:
            return None
        try:
            row = db.execute("SELECT fields FROM cleaned WHERE key = ?", (key,)).fetchone()
            return json.loads(zlib.decompress(row[0])) if row else None
        except (sqlite3.Error, zlib.error, ValueError):
            return None

    def has(self, key: str) -> bool:
        """Return True when the cache holds a value for a key."""
        db = self._connect()
        if db is None:
            return False
        try:
            return db.execute("SELECT 1 FROM cleaned WHERE key = ?", (key,)).fetchone() is not None
        except sqlite3.Error:
            return False

    def put(self, key: str, value: dict, stamp: int) -> None:
        """Queue an entry, writing the queue when it is long."""
        self._pending.append((key, zlib.compress(json.dumps(value, ensure_ascii=False).encode(), 1), stamp))
        if len(self._pending) >= FLUSH_EVERY:
            self.flush(stamp)

    def touch(self, key: str) -> None:
        """Queue marking an entry as used by this run, so prune() keeps it."""
        self._touched.append(key)

    def flush(self, stamp: int) -> None:
        """Write queued entries and marks in one transaction."""
        db = self._connect()
        pending, touched = self._pending, self._touched
        self._pending, self._touched = [], []
        if db is None:
            return
        try:
            with db:
                db.executemany("INSERT OR REPLACE INTO cleaned VALUES (?, ?, ?)", pending)
                db.executemany("UPDATE cleaned SET used = ? WHERE key = ?", [(stamp, k) for k in touched])
        except sqlite3.Error:
            pass

    def prune(self, stamp: int) -> None:
        """Drop entries not used since `stamp`: after a full build, those of pages that are gone."""
        db = self._connect()
        if db is None:
            return
        try:
            with db:
                db.execute("DELETE FROM cleaned WHERE used < ?", (stamp,))
        except sqlite3.Error:
            pass

    def close(self) -> None:
        """Close the database."""
        if self._db is not None:
            self._db.close()
            self._db = None
