"""The index on disk: generation folders behind a CURRENT pointer, opened safely while a reindex runs.

Layout of an index folder such as var/index:

    CURRENT          names the live generation ("gen-000002"); replaced atomically
    gen-000002/      a Whoosh index, plus the per-file state of its last commit
    reindex.lock     present while a reindex runs; names its holder

Every reindex that changes something writes a new generation and swaps CURRENT once the new
state has passed its check, so a reader sees either the old index or the new one, never a
half-built or unchecked one. A full rebuild starts the new generation empty; an incremental one
starts from the live generation's files, linked rather than copied (Whoosh never rewrites a
file: a commit adds segment files and a new table of contents). The generation a swap replaced
is kept until the next reindex, for searches that started on it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from whoosh.fields import Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex
from whoosh.searching import Searcher

from indexer.engine.view import IndexView

POINTER_NAME = "CURRENT"
GENERATION_PREFIX = "gen-"
# A reader that loses a race with a swap (the generation it read vanished) tries again.
OPEN_ATTEMPTS = 5
# Whoosh's write lock of an index named MAIN is the file MAIN_WRITELOCK.
WRITE_LOCK_SUFFIX = "_WRITELOCK"


class IndexMissingError(Exception):
    """There is no usable index at a path; the message names the command that builds one."""


def missing_message(index: Path) -> str:
    """Return what to tell a user who has no index yet."""
    return f"No index at {index}: run `searchapp reindex`"


def current_generation(index: Path) -> Path | None:
    """Return the live generation folder of an index, or None when there is none."""
    try:
        name = (Path(index) / POINTER_NAME).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    # The pointer only ever names a sibling folder; anything else is not ours to open.
    if not name.startswith(GENERATION_PREFIX) or "/" in name or "\\" in name:
        return None
    generation = Path(index) / name
    return generation if generation.is_dir() else None


def generations(index: Path) -> list[Path]:
    """Return every generation folder of an index, live or not, oldest first."""
    if not Path(index).is_dir():
        return []
    return sorted(p for p in Path(index).iterdir() if p.is_dir() and p.name.startswith(GENERATION_PREFIX))


def new_generation(index: Path) -> Path:
    """Create and return an empty generation folder numbered after every existing one."""
    numbers = [_number(p) for p in generations(index)]
    folder = Path(index) / f"{GENERATION_PREFIX}{max(numbers, default=0) + 1:06d}"
    folder.mkdir(parents=True)
    return folder


def publish(index: Path, generation: Path) -> None:
    """Make `generation` the live one, atomically: readers see the old pointer or the new."""
    write_atomically(Path(index) / POINTER_NAME, generation.name + "\n")


def remove_stale_generations(index: Path, *, keep_previous: bool = True) -> None:
    """Delete generations that are not live: replaced ones and half-built ones of a killed or failed reindex.

    With keep_previous, the newest generation older than the live one (the one the last swap
    replaced) stays, for searches still reading it.
    """
    live = current_generation(index)
    older = [folder for folder in generations(index) if live is not None and _number(folder) < _number(live)]
    kept = {live, older[-1] if keep_previous and older else None}
    for folder in generations(index):
        if folder not in kept:
            # Files a reader still has open stay readable on POSIX; elsewhere, a later run retries.
            shutil.rmtree(folder, ignore_errors=True)


def remove_generation(folder: Path) -> None:
    """Delete one generation folder that was never published."""
    shutil.rmtree(folder, ignore_errors=True)


def fork_generation(index: Path, live: Path) -> Path:
    """Create a new generation holding the live one's index files, linked where the file system allows."""
    folder = new_generation(index)
    for path in live.iterdir():
        # The writer's lock, the file state of the live commit and half-written files stay behind.
        if (
            not path.is_file()
            or path.name.startswith(".")
            or path.name.endswith(WRITE_LOCK_SUFFIX)
            or path.suffix == ".json"
        ):
            continue
        try:
            os.link(path, folder / path.name)
        except OSError:
            shutil.copy2(path, folder / path.name)
    return folder


def _number(generation: Path) -> int:
    """Return a generation folder's number (-1 for a name that has none)."""
    digits = generation.name[len(GENERATION_PREFIX) :]
    return int(digits) if digits.isdigit() else -1


def write_atomically(path: Path, text: str) -> None:
    """Write a text file so that readers see its old content or its new content, never a part."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def create_index(generation: Path, schema: Schema) -> FileIndex:
    """Create an empty Whoosh index in a new generation folder."""
    return FileStorage(str(generation)).create_index(schema)


def open_generation(generation: Path, *, mmap: bool = True) -> FileIndex:
    """Open the Whoosh index in one generation folder."""
    return FileStorage(str(generation), supports_mmap=mmap).open_index()


def latest_commit(generation: Path) -> int:
    """Return the number of a generation's latest commit, which names the file state written with it."""
    return open_generation(generation).latest_generation()


def open_index(index: Path | str, *, mmap: bool = True) -> FileIndex:
    """Open the live index for reading; raise IndexMissingError naming the command to run.

    mmap=False keeps each process's memory small (files are read on demand) for a little
    more latency: the choice for servers with many worker processes.
    """
    return _with_live_generation(Path(index), lambda generation: open_generation(generation, mmap=mmap))[1]


def open_searcher(index: Path | str, *, mmap: bool = True) -> tuple[Path, Searcher]:
    """Open a searcher on the live index; return it with the generation it reads."""
    return _with_live_generation(Path(index), lambda generation: open_generation(generation, mmap=mmap).searcher())


def _with_live_generation(index: Path, opener):
    """Call opener(generation) on the live generation, retrying when a swap removes it meanwhile."""
    for _ in range(OPEN_ATTEMPTS):
        generation = current_generation(index)
        if generation is None:
            raise IndexMissingError(missing_message(index))
        try:
            return generation, opener(generation)
        except Exception as exc:  # an unreadable or vanished index, whatever Whoosh raises for it
            if current_generation(index) != generation:
                continue
            raise IndexMissingError(
                f"The index at {index} cannot be read ({type(exc).__name__}: {exc}): run `searchapp reindex --full`"
            ) from exc
    raise IndexMissingError(f"The index at {index} kept changing while being opened: try again")


def view_of(generation: Path, *, mmap: bool = True) -> IndexView:
    """Open one generation (live or not) for searching; close the view after."""
    return IndexView(open_generation(generation, mmap=mmap).searcher(), generation)


def open_view(index: Path | str, *, mmap: bool = True) -> IndexView:
    """Open the live index for searching; raise IndexMissingError naming the command to run. Close it after."""
    generation, opened = open_searcher(index, mmap=mmap)
    return IndexView(opened, generation)


class ViewSource:
    """Keep one view of the index open and replace it when a reindex has changed the index.

    Opening a view is the largest fixed cost of a query, and its caches are what make queries
    fast, so a process keeps one. A new one is opened when a swap (or a commit) made it stale;
    `Searcher.refresh()` is avoided because it can return deleted and duplicated documents. Use
    one source per thread: get() closes the view it replaces.
    """

    def __init__(self, index: Path | str, *, mmap: bool = True):
        self.index = Path(index)
        self.mmap = mmap
        self._view: IndexView | None = None

    def get(self) -> IndexView:
        """Return an up-to-date view of the live index."""
        if self._view is None or self._is_stale():
            opened = open_view(self.index, mmap=self.mmap)
            self.close()
            self._view = opened
        return self._view

    def _is_stale(self) -> bool:
        """Return True when a swap or a commit happened since the view was opened."""
        if current_generation(self.index) != self._view.generation:
            return True
        try:
            return not self._view.is_current()
        except OSError:
            return True

    def close(self) -> None:
        """Close the view this source holds, if any."""
        if self._view is not None:
            self._view.close()
            self._view = None
