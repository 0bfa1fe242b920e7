"""Worker processes of a reindex: how they start, and that they die with it."""

from __future__ import annotations

import multiprocessing
import os
import threading


def process_context(preload: list[str]):
    """Return how to start workers: never by plain fork.

    Forked workers would inherit this process's lock file descriptors; after a SIGKILL of
    this process they would keep the index locked for as long as they live.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # Only the first call before the server starts counts; later workers import what they need.
        context.set_forkserver_preload(preload)
        return context
    return multiprocessing.get_context("spawn")


def exit_with_parent() -> None:
    """Make this worker exit as soon as the process that started it ends, even by SIGKILL."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), name="exit-with-reindex", daemon=True).start()


def _exit_with(parent) -> None:
    """Wait for the parent to end, then exit.

    Workers do not notice on their own: orphans would live on, holding the dead reindex's
    stdout and stderr open, so whatever reads them would never see their end.
    """
    parent.join()
    os._exit(1)
