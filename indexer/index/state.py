"""What the index knew about each page file at its last commit, so a reindex skips unchanged files cheaply.

The state of a commit is written to state-<N>.json in the generation folder just before the
commit numbered N. A reader takes the state whose N matches the generation's latest commit, so
a reindex killed between the two writes leaves a state that still describes the index. When
none matches, the next reindex rebuilds the index in full.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from indexer.engine.storage import latest_commit, write_atomically

STATE_FORMAT = 1
STATE_PATTERN = re.compile(r"^state-(\d+)\.json$")
# What store.write_atomically leaves behind when killed mid-write.
STATE_TEMP_PATTERN = re.compile(r"^\.state-\d+\.json\.\d+\.tmp$")
# Coarser than any file system's timestamps (FAT's are 2 s): a file or manifest modified within this of a
# scan may change again unseen, so the scan after hashes it (or reads it) again.
RACY_MARGIN_NS = 3_000_000_000


class FileState(NamedTuple):
    """One indexed page file: its cheap signature, its content hash and its document's id."""

    signature: str
    source_hash: str
    doc_id: str


@dataclass
class IndexState:
    """Every indexed page file by corpus-relative path, and when the index was built."""

    files: dict[str, FileState] = field(default_factory=dict)
    schema_version: int | None = None
    corpus: str | None = None
    built_at: str | None = None
    full_built_at: str | None = None
    # When a reindex last learned something of the files: a run that finds each as recorded writes no new state.
    checked_at: str | None = None
    # When the commit's scan of the corpus began (ns since the epoch). A file modified since shortly
    # before it may have changed again within the file system's timestamp granularity, keeping its
    # size and mtime: its signature cannot be trusted, so the next reindex hashes it.
    scanned_ns: int | None = None

    def to_json(self) -> str:
        """Return the state as compact JSON."""
        return json.dumps(
            {
                "format": STATE_FORMAT,
                "schema_version": self.schema_version,
                "corpus": self.corpus,
                "built_at": self.built_at,
                "full_built_at": self.full_built_at,
                "checked_at": self.checked_at,
                "scanned_ns": self.scanned_ns,
                "files": dict(sorted(self.files.items())),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> IndexState:
        """Read a state written by to_json."""
        data = json.loads(text)
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown state format {data.get('format')!r}")
        return cls(
            files={path: FileState._make(entry) for path, entry in data["files"].items()},
            schema_version=data.get("schema_version"),
            corpus=data.get("corpus"),
            built_at=data.get("built_at"),
            full_built_at=data.get("full_built_at"),
            checked_at=data.get("checked_at"),
            scanned_ns=data.get("scanned_ns"),
        )


def state_path(generation: Path, toc_generation: int) -> Path:
    """Return where the state of one commit lives."""
    return generation / f"state-{toc_generation}.json"


def save_state(generation: Path, toc_generation: int, state: IndexState) -> None:
    """Write the state of a commit atomically."""
    write_atomically(state_path(generation, toc_generation), state.to_json())


def load_state(generation: Path, toc_generation: int) -> IndexState | None:
    """Return the state of a commit, or None when it is missing or unreadable."""
    try:
        return IndexState.from_json(state_path(generation, toc_generation).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_live_state(generation: Path) -> IndexState | None:
    """Return the state of a generation's latest commit, or None when it has none or cannot be read."""
    try:
        return load_state(generation, latest_commit(generation))
    except Exception:  # whatever an unreadable index raises: it has no state to tell
        return None


def remove_other_states(generation: Path, keep: int) -> None:
    """Delete the states of commits other than `keep`, and half-written ones of killed runs."""
    for path in generation.iterdir():
        match = STATE_PATTERN.match(path.name)
        if (match and int(match.group(1)) != keep) or STATE_TEMP_PATTERN.match(path.name):
            path.unlink(missing_ok=True)
