"""Cleaning a reindex's pages into index fields, in task order: a first look here, cleaning in worker processes.

This process hashes every page and asks the cache first, so unchanged and cached pages never
reach a worker, and workers start only when enough pages need cleaning. Cleaned pages are
asked for a bounded number of batches ahead, so a writer slower than the workers does not
pile the corpus up in memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from pathlib import Path

from indexer.engine.schema import document_fields
from indexer.extract.clean import clean_file
from indexer.extract.errors import CleanError
from indexer.extract.metadata_files import MetadataFiles
from indexer.index.clean_cache import CleanCache
from indexer.index.pages import Outcome, Task, inspect_page
from indexer.processes import exit_with_parent, process_context

# Below this many pages to clean, starting worker processes (about a second) costs more than it saves.
MIN_PAGES_FOR_POOL = 64
PAGES_PER_BATCH = 16
BATCHES_AHEAD_PER_WORKER = 8


def outcomes(
    tasks: list[Task], cache: CleanCache, fingerprint: str, *, workers: int, note: Callable[[str], None]
) -> Iterator[Outcome]:
    """Yield the outcome of every task, in task order."""
    # Manifests are read afresh each run: one may have changed since this process last read it.
    init_worker()
    looked = deque(inspect_page(task, cache, fingerprint) for task in tasks)
    to_clean = [outcome.path for outcome in looked if outcome.needs_cleaning]
    cleaned = _clean_all(to_clean, workers=workers, note=note)
    while looked:
        # Popped, not iterated: an outcome written to the index must not keep its text in memory.
        outcome = looked.popleft()
        if outcome.from_cache:
            result = cache.get(outcome.cache_key)
            if result is None:  # gone since the first look: another reindex pruned it
                outcome.from_cache = False
                result = clean_page(outcome.path)
            outcome.resolve(result)
        elif outcome.needs_cleaning:
            outcome.resolve(next(cleaned))
        yield outcome


def _clean_all(paths: list[str], *, workers: int, note: Callable[[str], None]) -> Iterator[dict]:
    """Yield the cleaning result of each path, in order, from worker processes when worth it."""
    if len(paths) < MIN_PAGES_FOR_POOL or workers <= 1:
        yield from map(clean_page, paths)
        return
    batches = [paths[i : i + PAGES_PER_BATCH] for i in range(0, len(paths), PAGES_PER_BATCH)]
    pool = ProcessPoolExecutor(workers, mp_context=process_context([__name__]), initializer=start_worker)
    done = 0
    try:
        for batch in _bounded_map(pool, clean_pages, batches, ahead=workers * BATCHES_AHEAD_PER_WORKER):
            for result in batch:
                done += 1
                yield result
    except BrokenProcessPool as exc:
        # A worker died (killed, out of memory, or it could not start): finish here instead.
        note(f"Worker processes stopped ({exc}); cleaning the other {len(paths) - done} pages in this process.")
        yield from map(clean_page, paths[done:])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _bounded_map(pool: ProcessPoolExecutor, fn, items: list, *, ahead: int) -> Iterator:
    """Yield fn(item) for each item in order, with at most `ahead` items submitted and not yet taken."""
    pending = deque()
    remaining = iter(items)
    for item in islice(remaining, ahead):
        pending.append(pool.submit(fn, item))
    while pending:
        result = pending.popleft().result()
        for item in islice(remaining, 1):
            pending.append(pool.submit(fn, item))
        yield result


# -- in the worker processes --

# Manifests are read once per process, not once per page.
_metadata: MetadataFiles | None = None


def init_worker() -> None:
    """Prepare this process to clean pages, reading manifests afresh."""
    global _metadata
    _metadata = MetadataFiles()


def start_worker() -> None:
    """Prepare a worker process (a ProcessPoolExecutor initializer) to clean pages and die with its reindex."""
    init_worker()
    exit_with_parent()


def clean_pages(paths: list[str]) -> list[dict]:
    """Clean a batch of pages; batches keep the cost of talking to workers small."""
    return [clean_page(path) for path in paths]


def clean_page(path: str) -> dict:
    """Clean one page; return {"fields": ...} or {"error": reason}, never raise."""
    if _metadata is None:
        init_worker()
    try:
        return {"fields": document_fields(clean_file(Path(path), _metadata))}
    except CleanError as exc:
        return {"error": str(exc)}
    except RecursionError:
        return {"error": "markup nested too deeply to parse"}
    except Exception as exc:  # hostile input must cost one line, not the run
        return {"error": f"could not be cleaned ({type(exc).__name__}: {exc})"}
