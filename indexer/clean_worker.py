"""Cleaning pages into index fields, in worker processes (or in the reindex's own when few)."""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path

from indexer.clean import clean_file
from indexer.errors import CleanError
from indexer.metadata_files import MetadataFiles
from indexer.schema import document_fields

# Manifests are read once per process, not once per page.
_metadata: MetadataFiles | None = None


def init_worker() -> None:
    """Prepare this process to clean pages, reading manifests afresh."""
    global _metadata
    _metadata = MetadataFiles()


def start_worker() -> None:
    """Prepare a worker process (a ProcessPoolExecutor initializer) to clean pages and die with its reindex."""
    init_worker()
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), name="exit-with-reindex", daemon=True).start()


def _exit_with(parent) -> None:
    """Exit as soon as the reindex that started this worker ends, even by SIGKILL.

    Pool workers do not notice on their own: orphans would live on, holding the dead
    reindex's stdout and stderr open, so whatever reads them would never see their end.
    """
    parent.join()
    os._exit(1)


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
