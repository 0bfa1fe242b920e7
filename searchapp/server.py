"""The production server: gunicorn's pre-forked workers, each serving the app from its own warmed live index."""

from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager

from gunicorn.app.base import BaseApplication

from indexer.engine.backends import unavailable_errors
from indexer.engine.storage import IndexMissingError

# How often each worker looks for a new generation to warm and switch to.
WATCH_SECONDS = 1.0
# Seconds a worker may take over one request before the master replaces it, and to finish on SIGTERM.
TIMEOUT = 30
GRACEFUL_TIMEOUT = 20
# Combined Log Format (Apache's and nginx's standard), plus the time taken in microseconds.
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s'


def default_workers() -> int:
    """Return one worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


class SearchServer(BaseApplication):
    """gunicorn running the app, configured from the command line instead of a config file."""

    def __init__(self, app, options: dict):
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


@contextmanager
def heartbeat(worker, every: float):
    """Tell gunicorn's master every `every` seconds that the worker lives, while the block runs."""
    stop = threading.Event()

    def beat():
        while not stop.wait(every):
            worker.notify()

    thread = threading.Thread(target=beat, name="searchapp-warm-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def warm_worker(worker) -> None:
    """Open and warm the index in a new worker before it accepts requests, so no visitor pays for it."""
    from searchapp.index_access import live_index

    app = worker.wsgi
    # The engine's and the app's own messages (a warmed generation, a failed switch) go to gunicorn's error log.
    for name in ("indexer", "searchapp"):
        logger = logging.getLogger(name)
        logger.handlers = list(worker.log.error_log.handlers)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    live = live_index(app)
    try:
        # The master's timeout runs from the worker's start, and it is meant for stuck requests: opening a
        # large index (15 s and more at a million releases on PostgreSQL) would be killed and restarted forever.
        with heartbeat(worker, worker.timeout / 2):
            live.refresh()
        status = live.status()
        worker.log.info("Worker %s serves %s (%s documents)", worker.pid, status["generation"], status["documents"])
    except (IndexMissingError, *unavailable_errors()) as error:
        # Requests answer 503 with the same message until a reindex makes an index; the watcher opens it then.
        worker.log.warning("%s", error)


def close_worker(server, worker) -> None:
    """Let go of the worker's view of the index, so its generation can be deleted once replaced."""
    from searchapp.index_access import live_index

    live_index(worker.wsgi).close()


def serve(app, *, bind: list[str], workers: int, threads: int, access_log: str | None, timeout: int = TIMEOUT) -> None:
    """Run the app under gunicorn until SIGTERM or SIGINT (requests in progress finish first)."""
    options = {
        "bind": bind,
        "workers": workers,
        # Threads overlap the network waits of clients; the searching itself runs one at a time per worker.
        "worker_class": "gthread",
        "threads": threads,
        "timeout": timeout,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        # One request per connection, and no more connections per worker than it has threads: the kernel's
        # queue of connections then gives each request to a worker with a free thread. With keep-alive, or
        # more connections than threads, one worker kept 17 of 18 clients and queued them behind its lock
        # while the other idled (bench/load_bench.py). Keeping clients' connections is the reverse proxy's job.
        "keepalive": 0,
        "worker_connections": threads,
        # Room for the longest query the API accepts (500 characters of 4-byte UTF-8, percent-encoded, and filters).
        "limit_request_line": 8190,
        "accesslog": access_log,
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        # The app and its imports are loaded once and shared by the workers' memory; each worker opens the index.
        "preload_app": True,
        "post_worker_init": warm_worker,
        "worker_exit": close_worker,
        "proc_name": "searchapp",
        # No runtime control socket: one fixed path per user would clash between servers.
        "control_socket_disable": True,
    }
    SearchServer(app, options).run()
