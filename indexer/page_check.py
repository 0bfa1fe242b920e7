"""A reindex's first look at a page: unchanged since the last commit, cleaned before (cached), or to clean."""

from __future__ import annotations

import os
from dataclasses import dataclass

from indexer.clean_cache import CleanCache, cache_key
from indexer.corpus_scan import page_signature, source_hash


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
