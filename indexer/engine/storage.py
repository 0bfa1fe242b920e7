"""The index on disk: generation folders behind a CURRENT pointer, opened safely while a reindex runs.

Layout of an index folder such as var/index:

    CURRENT          names the live generation ("gen-000002"); replaced atomically
    gen-000002/      a Whoosh index, plus the per-file state of its last commit
      .readers       locked (shared) by every process that has a view of this generation open
    reindex.lock     present while a reindex runs; names its holder

Every reindex that changes something writes a new generation and swaps CURRENT once the new
state has passed its check, so a reader sees either the old index or the new one, never a
half-built or unchecked one. A full rebuild starts the new generation empty; an incremental one
starts from the live generation's files, linked rather than copied (Whoosh never rewrites a
file: a commit adds segment files and a new table of contents). A generation that is no longer
live is deleted once no process has a view of it open: each view holds a shared lock on the
generation's .readers file, and only an exclusive lock, which no reader holds, lets it go.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from pathlib import Path

from whoosh.fields import Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.index import FileIndex
from whoosh.searching import Searcher

from indexer.engine.view import IndexView

log = logging.getLogger(__name__)

POINTER_NAME = "CURRENT"
GENERATION_PREFIX = "gen-"
READERS_NAME = ".readers"
# A generation being deleted is first renamed to this prefix, so no reader can open it any more.
REMOVING_PREFIX = ".removing-"
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


def remove_stale_generations(index: Path, *, older_only: bool = False) -> list[Path]:
    """Delete the generations that are not live and that no process reads; return those deleted.

    That is replaced generations, and half-built ones of a killed or failed reindex. A reindex
    (which holds the index's lock) deletes both; a server, older_only, deletes only those older
    than the live one, since a newer one may be a reindex's work in progress.
    """
    index = Path(index)
    live = current_generation(index)
    removed = []
    for folder in generations(index):
        if folder == live or (older_only and (live is None or _number(folder) > _number(live))):
            continue
        if _remove_unread(index, folder):
            removed.append(folder)
    if index.is_dir():
        # Left by a process killed while deleting.
        for leftover in index.glob(REMOVING_PREFIX + "*"):
            shutil.rmtree(leftover, ignore_errors=True)
    return removed


def _remove_unread(index: Path, folder: Path) -> bool:
    """Delete a generation unless a process holds its reader lock; return True when deleted."""
    try:
        fd = os.open(folder / READERS_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        # Renamed while locked: a reader that was waiting for the lock finds its path gone.
        doomed = index / f"{REMOVING_PREFIX}{folder.name}.{os.getpid()}"
        try:
            os.rename(folder, doomed)
        except OSError:
            return False
    finally:
        os.close(fd)
    shutil.rmtree(doomed, ignore_errors=True)
    return True


class ReaderLock:
    """A shared lock on a generation for as long as a view reads it, so that no process deletes it meanwhile."""

    def __init__(self, generation: Path):
        path = Path(generation) / READERS_NAME
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except PermissionError:
            # An index the server may read but not write: no lock to take, and none to respect.
            log.warning("Cannot lock %s for reading (no write permission); reading it unlocked", generation)
            self._fd = None
            return
        fcntl.flock(self._fd, fcntl.LOCK_SH)
        held = os.fstat(self._fd)
        try:
            now = os.stat(path)
        except FileNotFoundError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
            self.release()
            raise FileNotFoundError(f"{generation} was deleted while being opened")

    def release(self) -> None:
        """Let the generation go (once every other reader has too)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


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


def open_generation(generation: Path, *, mmap: bool = False) -> FileIndex:
    """Open the Whoosh index in one generation folder; its files are read on demand unless mmap.

    Whoosh's mmap path copies each file it opens out of the map into memory (a BytesIO over the
    mapped bytes): at 100,000 documents, 560 MB per process before the first search, where reads
    on demand hold under 10 MB and answer as fast (the kernel's page cache is shared by every process).
    """
    return FileStorage(str(generation), supports_mmap=mmap).open_index()


def latest_commit(generation: Path) -> int:
    """Return the number of a generation's latest commit, which names the file state written with it."""
    return open_generation(generation).latest_generation()


def open_index(index: Path | str, *, mmap: bool = False) -> FileIndex:
    """Open the live index for reading; raise IndexMissingError naming the command to run."""
    return _with_live_generation(Path(index), lambda generation: open_generation(generation, mmap=mmap))[1]


def open_searcher(index: Path | str, *, mmap: bool = False) -> tuple[Path, Searcher]:
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


def view_of(generation: Path, *, mmap: bool = False, **settings) -> IndexView:
    """Open one generation (live or not) for searching, holding its reader lock; close the view after.

    `settings` are IndexView's: cache_bytes, time_budget.
    """
    lock = ReaderLock(generation)
    try:
        searcher = open_generation(generation, mmap=mmap).searcher()
        return IndexView(searcher, generation, on_close=lock.release, **settings)
    except BaseException:
        lock.release()
        raise


def open_view(index: Path | str, *, mmap: bool = False, **settings) -> IndexView:
    """Open the live index for searching; raise IndexMissingError naming the command to run. Close it after."""
    generation, view = _with_live_generation(Path(index), lambda found: view_of(found, mmap=mmap, **settings))
    view.published_at = published_time(Path(index), generation)
    return view


def published_time(index: Path, generation: Path) -> float | None:
    """Return when `generation` went live: the time of the pointer naming it (replaced, never rewritten), or None."""
    pointer = index / POINTER_NAME
    try:
        before = os.stat(pointer)
        named = current_generation(index)
        after = os.stat(pointer)
    except OSError:
        return None
    # A swap in between: the time is of another generation's pointer.
    same = (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns) and named == generation
    return before.st_mtime_ns / 1e9 if same else None
