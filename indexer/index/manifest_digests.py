"""Each manifest's row digests from an earlier scan, reused while the manifest file is unchanged.

A no-op reindex of a large corpus would otherwise spend most of its time parsing and hashing
manifests. A manifest counts as unchanged when its size, mtime, ctime and inode are, as git
decides for its index: an edit that keeps the size and puts the mtime back still moves the ctime,
and a replacing save moves the inode. Like git's, the test trusts the file system's clock: a
manifest changed within RACY_MARGIN_NS of the scan that would record it is not recorded, so an
edit in the same timestamp tick is read on the next run. What it cannot see is an edit that
restores all four (a file system without ctime, or a clock set back by hand): `searchapp reindex
--full` reads every manifest again.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
from pathlib import Path

from indexer.extract.metadata_files import load_manifest
from indexer.index.state import RACY_MARGIN_NS

CACHE_FILE_NAME = "manifest-digests.marshal"
CACHE_FORMAT = 1
# json.dumps(row, sort_keys=True) builds an encoder per call; one kept encoder writes the same text.
_ROW_ENCODER = json.JSONEncoder(sort_keys=True)

# A manifest's stat as compared between runs: size, mtime_ns, ctime_ns, inode.
StatKey = tuple[int, int, int, int]


def row_digest(row: dict) -> str:
    """Return the hash of a normalised manifest row that page signatures and source hashes include."""
    return hashlib.sha1(_ROW_ENCODER.encode(row).encode()).hexdigest()


def stat_key(stat: os.stat_result) -> StatKey:
    """Return what tells whether a manifest changed since it was last read."""
    return (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


class ManifestDigests:
    """The row digests of the manifests of a corpus, by manifest file, kept in a file between runs.

    `fingerprint` is the cleaner's: a change to how rows are read or normalised drops every entry.
    With `reread`, every manifest is read again (a full reindex), and what it gives is kept.
    """

    def __init__(self, path: Path | None, fingerprint: str = "", *, reread: bool = False):
        self.path, self.fingerprint = path, fingerprint
        self._entries: dict[str, tuple[StatKey, dict[str, str]]] = {} if reread else self._load()
        self._used: set[str] = set()
        self._changed = reread

    def _load(self) -> dict[str, tuple[StatKey, dict[str, str]]]:
        """Return the kept entries, or none when the file is missing, unreadable or of another cleaner."""
        if self.path is None:
            return {}
        try:
            with open(self.path, "rb") as f:
                data = marshal.load(f)
            if data["format"] != CACHE_FORMAT or data["fingerprint"] != self.fingerprint:
                return {}
            return {name: (tuple(key), rows) for name, (key, rows) in data["manifests"].items()}
        except (OSError, EOFError, ValueError, TypeError, KeyError):
            return {}

    def rows(self, manifest_file: str, stat: os.stat_result, scan_started_ns: int) -> dict[str, str]:
        """Return the digest of each row of a manifest by the page path it names, read again when it changed."""
        key = stat_key(stat)
        self._used.add(manifest_file)
        kept = self._entries.get(manifest_file)
        if kept is not None and kept[0] == key:
            return kept[1]
        manifest = load_manifest(Path(manifest_file).parent)
        digests = {relpath: row_digest(row) for relpath, row in manifest.rows.items()} if manifest else {}
        if max(stat.st_mtime_ns, stat.st_ctime_ns) < scan_started_ns - RACY_MARGIN_NS:
            self._entries[manifest_file] = (key, digests)
            self._changed = True
        elif kept is not None:
            del self._entries[manifest_file]
            self._changed = True
        return digests

    def save(self) -> None:
        """Keep the entries of the manifests this scan used, when any changed; best effort."""
        unused = self._entries.keys() - self._used
        if self.path is None or not (self._changed or unused):
            return
        for name in unused:
            del self._entries[name]
        data = {"format": CACHE_FORMAT, "fingerprint": self.fingerprint, "manifests": self._entries}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                marshal.dump(data, f)
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)
