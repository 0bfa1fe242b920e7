"""Load-test the production server beside Datasette serving SQLite FTS5, in the same run.

Usage: python bench/load_bench.py [--sizes 10000,100000] [--workdir DIR] [--source DIR] [--clients 1,8,32]
                                  [--workers N] [--threads T] [--queries 300] [--passes 3] [--client-procs 1]
                                  [--no-peer] [--no-heavy] [--no-reindex]
                                  [--backend postgresql://... [--replicas URL,...]] [--cache-mb MB]

For each size, takes bench/search_bench.py's corpus, Whoosh index and FTS5 database (building what is
missing, reusing what --workdir holds) and its queries of 12 kinds, then:

1. Sends the queries at 1, 8 and 32 concurrent clients to `searchapp serve` (gunicorn's pre-forked
   workers) and then to `datasette serve`, one server at a time, each after the same warm-up queries.
   A run sends a fixed number of requests: --passes passes over the query set (3 x 300 = 900), each
   pass in its own seeded order, one after another in one sequence (the same for both engines and
   every client count). The clients share that sequence as a queue: each, over one keep-alive
   http.client connection, takes the next request as soon as its previous answer has arrived, until
   the sequence is used up. A connection stays with the worker that accepted it, so the clients of a
   worker holding fewer connections take fewer of the requests instead of finishing first and leaving
   it idle: every client is busy to the end of the run but for its last request. With --client-procs N,
   the sequence is dealt out to the processes interleaved (process i takes requests i, i + N, i + 2N,
   ...) and the clients of each process share its slice as a queue.
   Reported per engine and client count: throughput, p50/p95/p99 latency, errors (non-200 answers,
   connection errors, and timeouts at 30 s), and answers cut short (ours: its time budget per search;
   Datasette: a count or a facet past its time limit, which the settings below make unreachable).
2. Runs ours twice more with 8 ordinary clients on the same sequence while 10 other clients send only
   expensive queries, one after another, taking them in turn from a queue that cycles until the
   ordinary clients are through. First, the kinds the time budget caps: the patterns a*, s*, t*, ukr*,
   pre*, *tion and c?n*, four misspelled words (searched through their spelling variants), the last
   relevance page (page 100) of the two commonest words, and three ORs of 20 words each, the 60
   commonest of search_bench.load_vocabulary's "common" list (4 letters or more, no stop words, by
   document frequency). Then the phrases of common words "of the", "in the" and "the president", each
   in most releases, whose positions are checked release by release. Reported for each: the ordinary
   clients' throughput, p50/p95/p99 and errors; the heavy clients'
   p50/p95/max latency, errors and answers cut short, over the heavy requests started while the
   ordinary clients ran, and each heavy query's p50, max and cut-short count. Cut short is what our API
   marks with Cache-Control: no-store (it sets it exactly when the time budget cut the search short,
   with a notice saying what was left out); an answer marked so without a notice is counted apart.
   With --client-procs, the heavy clients of each process cycle over all the heavy queries, each process
   from a point of its own. The heavy queries are not warmed up: the first rounds read their postings.
   Datasette is left out of this run: it has no time budget that answers with what it has found (its
   sql_time_limit_ms cancels the query with an error, and is set past the client's timeout here).
3. Samples the server's process tree every 0.2 s: the sum of PSS (/proc/PID/smaps_rollup) over the
   master and its workers, the RSS of each worker, and their CPU time.
4. On a copy of the corpus and index in a temporary folder, runs an 8-client load through
   `searchapp reindex` after 1 % of the files changed (index_bench.change_files), then through
   `searchapp reindex --full` after another 1 % changed, each until the reindex has ended and every
   worker reports the new index_version on /healthz: these runs start the sequence again as often as
   they need to. Every answer must name the old or the new version (in X-Index-Version and in its body
   alike). Five probe queries, one before every fifth query of the sequence, must give the total of the
   version they name: four match the sentence change_files appends, so their totals differ between the
   versions; the fifth is from the query mix.
With --backend URL, the same corpus is also built into that PostgreSQL database (`searchapp reindex
--full --index URL`, timed), and `searchapp serve --index URL` with $SEARCHAPP_REPLICAS set to
--replicas takes the same runs as step 1 after ours on the Whoosh index, as the engine "postgresql":
searches read a replica that has the published state, the primary only when none has.
5. Prints a summary and PASS/FAIL for the targets (set for 100,000 documents, shown for information at
   other sizes).

Like for like: the same stored documents (Datasette's table is built from the rows of search_bench's FTS5
database, its FTS5 index made by sqlite-utils' enable_fts with search_bench's tokenizer), the same queries
in FTS5 syntax (`_searchmode=raw`, as Datasette would otherwise quote the OR and NOT), the same source,
year and date filters, 10 results a page, counts per source and per year with the total, the same client
and the same two cores, one server at a time. Both servers' access logs are off (Datasette's by a
plugin of a few lines, as `datasette serve` has no option for it). Both read their index files through
the kernel's page cache, which PSS does not count: ours reads them on demand (INDEX_MMAP is False by
default), SQLite always does. The PSS is what each server holds in its own memory: for ours, among the
rest, each worker's cache of postings (SEARCH_CACHE_MB); for Datasette, SQLite's page cache per
connection.

Not like for like: Datasette lists the matches in primary-key order (its table view does not rank), and
answers with title, source, year and date, where ours ranks by BM25F, makes a snippet and a highlighted
title per hit, counts months and undated documents, and tries spelling variants (a typo query costs
Datasette one lookup of a word that is not there). Datasette pages by key only, so a browse of page N
asks it for the first page. Datasette runs one process (an event loop and 3 SQLite threads, its
default), ours one worker per core with 2 threads each, one request per connection.
Datasette's settings: default_page_size 10, sql_time_limit_ms and facet_time_limit_ms 30000 (the
client's timeout: no count or facet is cut short first), allow_facet on, suggest_facets off (the
other columns' suggested facets would be extra queries that our page does not make).

The load generator shares the two cores with the server. It is one process (--client-procs for more)
with a thread and a keep-alive http.client connection per client: at 32 clients and 400 q/s against
ours it used 15 % of one core, and two processes gave the same throughput within the run-to-run spread.
Each run prints the CPU the clients used, the server's CPU per worker and the connections each worker
holds (how evenly the workers accepted them), and the CPU other processes of the machine used meanwhile.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import random
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 20240503
HOST = "127.0.0.1"
CLIENT_TIMEOUT = 30
SAMPLE_SECONDS = 0.2
READY_SECONDS = 600
# Seconds of load before a reindex starts, so the window shows the switch and not the start of the load.
LEAD_SECONDS = 2.0
SETTLE_SECONDS = 180
# A probe before every this many queries during a reindex: enough to catch a mixed state, few enough to keep the mix.
PROBE_EVERY = 5
CHANGED_SHARE = 0.01
# Clients of the load that runs through each reindex.
REINDEX_CLIENTS = 8
DATASETTE_TABLE = "documents"
DATASETTE_SETTINGS = {
    "default_page_size": "10",
    "sql_time_limit_ms": str(CLIENT_TIMEOUT * 1000),
    "facet_time_limit_ms": str(CLIENT_TIMEOUT * 1000),
    "allow_facet": "on",
    "suggest_facets": "off",
}
DATASETTE_COLUMNS = ("title", "source", "year", "date")
# uvicorn logs every request and `datasette serve` has no option against it; ours runs with --access-log ''.
QUIET_PLUGIN = '''"""Silence uvicorn's access log once uvicorn has configured its logging."""

import logging

from datasette import hookimpl


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def quiet(scope, receive, send):
            if scope["type"] == "lifespan":
                logging.getLogger("uvicorn.access").disabled = True
            await app(scope, receive, send)

        return quiet

    return wrap
'''
# Size: (8-client q/s at least, 8-client p95 ms at most, 32-client p95 ms at most, whole-server PSS MB at most).
TARGETS = {100_000: (50, 300, 1000, 2048)}
# The heavy-query runs: ordinary clients, and beside them clients sending only one set of these, cycling.
HEAVY_BESIDE = 8
HEAVY_CLIENTS = 10
HEAVY_PATTERNS = ("a*", "s*", "t*", "ukr*", "pre*", "*tion", "c?n*")
# Misspelled words: each is searched for through its spelling variants.
HEAVY_MISSPELLED = ("goverment", "presidnet", "sanctoins", "ukrane")
# The last relevance page (MAX_RESULT_WINDOW of 1,000 results, 10 a page) of the commonest words.
HEAVY_DEEP_PAGE = 100
HEAVY_DEEP_WORDS = 2
HEAVY_PHRASES = ('"of the"', '"in the"', '"the president"')
# ORs of this many words, each OR the next words of the vocabulary's commonest.
HEAVY_OR_WORDS = 20
HEAVY_ORS = 3
# Size: (ordinary clients' p95 ms at most, heavy clients' p95 ms at most), errors 0 on both sides.
HEAVY_TARGETS = {100_000: (300, 1000)}


def load_search_bench():
    """Import bench/search_bench.py, which prepares the corpora and draws the queries."""
    spec = importlib.util.spec_from_file_location("search_bench", ROOT / "bench" / "search_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


search_bench = load_search_bench()
index_bench = search_bench.load_index_bench()


# -- the load generator: client processes of keep-alive threads ---------------------------------------


def client_main() -> None:
    """Run one client process: read the job, connect, wait for "go", send until "stop", print the records.

    The job holds groups of clients, each group with its paths and its slice of a sequence, which the
    group's clients take from as one queue. "done" goes out once every group that is not background is
    through its slice (a looping group once it has handed all of it out); the "stop" that follows ends
    the looping and background groups after the request each client has under way.
    """
    job = json.loads(sys.stdin.readline())
    groups, ours = job["groups"], job["engine"] != "datasette"
    go, stop = threading.Event(), threading.Event()
    connected = threading.Barrier(sum(group["clients"] for group in groups) + 1)
    feeds = [Feed(group["sequence"], group["loop"], stop) for group in groups]
    records = [[[] for _ in range(group["clients"])] for group in groups]
    threads = [
        [
            threading.Thread(
                target=client_thread, args=(job["port"], ours, group["paths"], feed, out, connected, go), daemon=True
            )
            for out in outs
        ]
        for group, feed, outs in zip(groups, feeds, records)
    ]
    for thread in (t for group_threads in threads for t in group_threads):
        thread.start()
    connected.wait()
    print("ready", flush=True)
    sys.stdin.readline()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    go.set()
    for group, feed, group_threads in zip(groups, feeds, threads):
        if group["background"]:
            continue
        if group["loop"]:
            feed.passed.wait()
        else:
            for thread in group_threads:
                thread.join()
    print("done", flush=True)
    sys.stdin.readline()
    stop.set()
    for thread in (t for group_threads in threads for t in group_threads):
        thread.join()
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime
    merged = [[r for out in outs for r in out] for outs in records]
    print(json.dumps({"records": merged, "cpu": cpu, "seconds": seconds}), flush=True)


class Feed:
    """A sequence of query numbers that a group's clients take from in turn, once or round and round."""

    def __init__(self, sequence: list[int], loop: bool, stop: threading.Event):
        self.sequence, self.loop, self.stop = sequence, loop, stop
        self.taken = 0
        self.lock = threading.Lock()
        # Set once every number has been handed out at least once.
        self.passed = threading.Event()
        if not sequence:
            self.passed.set()

    def take(self) -> int | None:
        """Return the next query number, or None once stopped or (when not looping) used up."""
        with self.lock:
            if self.stop.is_set() or not self.sequence or (self.taken >= len(self.sequence) and not self.loop):
                return None
            idx = self.sequence[self.taken % len(self.sequence)]
            self.taken += 1
            if self.taken == len(self.sequence):
                self.passed.set()
            return idx


def client_thread(port: int, ours: bool, paths: list[str], feed: Feed, out: list, connected, go) -> None:
    """Send the paths of the numbers taken from `feed`, one after another until it gives none, recording each answer."""
    conn = http.client.HTTPConnection(HOST, port, timeout=CLIENT_TIMEOUT)
    try:
        conn.connect()
    except OSError:
        pass  # the first request connects again, and records the error if it fails
    connected.wait()
    go.wait()
    while (idx := feed.take()) is not None:
        out.append(one_request(conn, paths[idx], idx, ours))
        if not isinstance(out[-1][3], int):
            # A failed connection is not reused: the next request opens a new one.
            conn.close()
    conn.close()


def one_request(conn: http.client.HTTPConnection, path: str, idx: int, ours: bool) -> list:
    """Return [query, start, ms, status, index version, total, cut short, versions differ, notice] of one GET."""
    started = time.monotonic()
    version = total = None
    cut = mismatch = notice = False
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        status = response.status
        version = response.getheader("X-Index-Version")
        no_store = response.getheader("Cache-Control") == "no-store"
    except TimeoutError:
        status = "timeout"
    except (OSError, http.client.HTTPException):
        status = "connection"
    ms = (time.monotonic() - started) * 1000
    if status == 200:
        try:
            data = json.loads(body)
        except ValueError:
            status = "bad json"
        else:
            if ours:
                # Our API says no-store exactly when the time budget cut the search short.
                total, cut = data.get("total"), no_store
                mismatch = data.get("index_version") != version
                notice = data.get("notice") is not None
            else:
                total = data.get("filtered_table_rows_count")
                cut = total is None or set(data.get("facet_results") or ()) != {"source", "year"}
    return [idx, started, ms, status, version, total, cut, mismatch, notice]


def client_group(paths: list[str], sequence: list[int], clients: int, background: bool = False) -> dict:
    """Return a group of clients for run_load: they share `sequence`, numbers of `paths`, as one queue."""
    return {"paths": paths, "sequence": sequence, "clients": clients, "background": background}


def run_load(server, engine: str, groups: list[dict], procs: int, during=None) -> dict:
    """Run the client groups in `procs` processes while sampling the server; return what they recorded.

    A group's clients take its sequence one request after another until it is used up; with `during`,
    they start it again as often as needed until `during()` has returned too. A background group cycles
    through its sequence until every other group is through. Each process gets its share of the clients
    and an interleaved slice of each group's sequence, or of a background group's the whole sequence.
    """
    procs = max(1, min([procs] + [g["clients"] for g in groups] + [len(g["sequence"]) for g in groups]))
    clients = [
        subprocess.Popen(
            [sys.executable, __file__, "--client"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(procs)
    ]
    try:
        for i, client in enumerate(clients):
            parts = [
                {
                    "paths": g["paths"],
                    "sequence": process_sequence(g, i, procs),
                    "clients": len(range(i, g["clients"], procs)),
                    "loop": g["background"] or during is not None,
                    "background": g["background"],
                }
                for g in groups
            ]
            client.stdin.write(json.dumps({"port": server.port, "engine": engine, "groups": parts}) + "\n")
            client.stdin.flush()
        for client in clients:
            if client.stdout.readline().strip() != "ready":
                raise SystemExit("a client process did not start")
        with Sampler(server.process.pid, server.port) as memory:
            for client in clients:
                client.stdin.write("go\n")
                client.stdin.flush()
            extra = during() if during else None
            for client in clients:
                if client.stdout.readline().strip() != "done":
                    raise SystemExit("a client process failed")
            for client in clients:
                client.stdin.write("stop\n")
                client.stdin.close()
            outputs = [json.loads(client.stdout.read()) for client in clients]
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
            client.wait()
    wall = memory.ended - memory.started
    # What neither the server, the clients nor this process used: other work on the machine, which skews the run.
    others = memory.busy - memory.cores() * wall - sum(out["cpu"] for out in outputs) - memory.own
    recorded = [[r for out in outputs for r in out["records"][g]] for g in range(len(groups))]
    return {
        "records": recorded[0],
        "groups": recorded,
        "client_cpu": [out["cpu"] / out["seconds"] if out["seconds"] else 0.0 for out in outputs],
        "other_cores": max(0.0, others / wall) if wall else 0.0,
        "memory": memory,
        "extra": extra,
    }


def process_sequence(group: dict, i: int, procs: int) -> list[int]:
    """Return process i's part of a group's sequence: its interleaved slice, or a background group's whole cycle.

    A background group cycles in every process over all its queries (from a point of its own, so that the
    processes do not send the same ones at once): a slice would make each process's clients repeat
    some queries only, at the pace those queries allow.
    """
    sequence = group["sequence"]
    if not group["background"]:
        return sequence[i::procs]
    start = i * len(sequence) // procs
    return sequence[start:] + sequence[:start]


def shared_sequence(count: int, passes: int, seed: str) -> list[int]:
    """Return `passes` passes over the query numbers, each in its own seeded order, one after another."""
    sequence = []
    for n in range(passes):
        order = list(range(count))
        random.Random(f"{seed}-pass-{n}").shuffle(order)
        sequence += order
    return sequence


# -- the servers ---------------------------------------------------------------------------------------


def free_port() -> int:
    """Return a port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def get_json(port: int, path: str, timeout: float = CLIENT_TIMEOUT) -> tuple[int, dict, dict | None]:
    """Return (status, headers, parsed body or None) of one GET on a new connection."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        return response.status, dict(response.getheaders()), data
    finally:
        conn.close()


class Served:
    """A server process on a free port, with its output in a log file, stopped when the block ends."""

    name = ""

    def start(self, command: list[str], logdir: Path, env: dict | None = None) -> None:
        """Start the command; its output goes to a log that a failure prints the end of."""
        self.port = free_port()
        self.log_path = logdir / f"{self.name}-{self.port}.log"
        self.log = open(self.log_path, "w", encoding="utf-8")
        command = [part.replace("{port}", str(self.port)) for part in command]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)

    def fail(self, message: str):
        """Stop with the message and the end of the server's log."""
        self.stop()
        tail = self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{message}\n--- end of {self.log_path} ---\n{tail}")

    def wait_until(self, ready, what: str) -> None:
        """Poll `ready()` until it is true; fail if the process ends or READY_SECONDS pass."""
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.fail(f"the {self.name} server exited with status {self.process.returncode}")
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.fail(f"the {self.name} server was not {what} within {READY_SECONDS} s")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and close its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class OurServer(Served):
    """`searchapp serve` on one index, ready once every worker answers /healthz."""

    name = "ours"

    def __init__(
        self,
        index: Path | str,
        workers: int | None,
        threads: int,
        logdir: Path,
        env: dict | None = None,
        cache_mb: int | None = None,
    ):
        self.workers = workers or len(os.sched_getaffinity(0))
        command = [sys.executable, "-m", "searchapp", "serve", "--index", str(index), "--bind", f"{HOST}:{{port}}"]
        command += ["--workers", str(self.workers), "--threads", str(threads), "--access-log", ""]
        command += ["--cache-mb", str(cache_mb)] if cache_mb else []
        # An empty instance folder: the defaults apply, whatever config.py this checkout keeps.
        instance = logdir / "instance"
        instance.mkdir(exist_ok=True)
        self.start(command, logdir, dict(os.environ, SEARCHAPP_INSTANCE=str(instance), **(env or {})))
        self.versions: dict[int, str] = {}
        # A worker answers only once warm: it is ready when each has answered.
        self.wait_until(lambda: len(self.poll_health()) >= self.workers, "ready")

    def poll_health(self) -> dict[int, str]:
        """Ask /healthz once on a new connection, so any worker may answer; return the version each pid gave."""
        status, _, data = get_json(self.port, "/healthz", timeout=5)
        if status == 200 and data:
            self.versions[data["pid"]] = data["index_version"]
        live = set(worker_pids(self.process.pid))
        return {pid: v for pid, v in self.versions.items() if pid in live}


class DatasetteServer(Served):
    """`datasette serve` on the Datasette-ready database, with the settings of the module docstring."""

    name = "datasette"

    def __init__(self, database: Path, logdir: Path):
        plugins = logdir / "datasette-plugins"
        plugins.mkdir(exist_ok=True)
        (plugins / "quiet_access_log.py").write_text(QUIET_PLUGIN, encoding="utf-8")
        command = [str(Path(sys.executable).parent / "datasette"), "serve", str(database)]
        command += ["--port", "{port}", "--host", HOST, "--plugins-dir", str(plugins)]
        for key, value in DATASETTE_SETTINGS.items():
            command += ["--setting", key, value]
        self.start(command, logdir)
        self.table = f"/{urllib.parse.quote(database.stem)}/{DATASETTE_TABLE}.json"
        self.wait_until(lambda: get_json(self.port, "/-/versions.json", timeout=5)[0] == 200, "ready")


def datasette_path(table: str, r: dict) -> str:
    """Return Datasette's request for one of our queries: FTS5 text, filters, facets and the page's columns."""
    args = [("_search", r["fts"]), ("_searchmode", "raw")] if r["fts"] else []
    args += [("_facet", "source"), ("_facet", "year")] + [("_col", c) for c in DATASETTE_COLUMNS]
    if r["source"]:
        args.append(("source", r["source"]))
    if r["year"]:
        args.append(("year", str(r["year"])))
    if r["from"]:
        args += [("date__gte", r["from"].isoformat()), ("date__lte", r["to"].isoformat())]
    if r["kind"] == "browse":
        args.append(("_sort_desc", "date"))
    return f"{table}?{urllib.parse.urlencode(args)}"


def build_datasette_db(fts5: Path, database: Path, tokenizer: str) -> None:
    """Write a Datasette-ready copy of the FTS5 database's documents, its FTS5 index made by sqlite-utils."""
    import sqlite_utils

    partial = database.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(f"file:{fts5}?mode=ro", uri=True)
    db = sqlite_utils.Database(partial)
    # Unknown years and dates are NULL, which Datasette's facets and range filters leave out, as ours do;
    # a date without a year ("--05-12") sorts below every full date and outside every range.
    rows = (
        {"id": doc_id, "title": title, "body": body, "source": src, "year": year or None, "date": date}
        for doc_id, title, body, src, year, date in source.execute(
            "SELECT doc_id, title, body, source, year, date_iso FROM docs ORDER BY id"
        )
    )
    table = db[DATASETTE_TABLE]
    columns = {"id": str, "title": str, "body": str, "source": str, "year": int, "date": str}
    table.insert_all(rows, pk="id", columns=columns, batch_size=1000)
    table.enable_fts(["title", "body"], fts_version="FTS5", tokenize=tokenizer)
    db[f"{DATASETTE_TABLE}_fts"].optimize()
    # The same indexes as search_bench's database, for the filters and the sort by date.
    for index in (["date"], ["source", "date"], ["year", "date"]):
        table.create_index(index)
    db.analyze()
    db.close()
    source.close()
    partial.rename(database)


def check_datasette_search(server: DatasetteServer, fts: str) -> None:
    """Fail unless Datasette found the FTS table: without one it ignores _search and lists every row."""
    _, _, everything = get_json(server.port, f"{server.table}?_size=1&_nofacet=1")
    _, _, matched = get_json(server.port, f"{server.table}?_size=1&_nofacet=1&_searchmode=raw&_search={fts}")
    if not matched or matched["filtered_table_rows_count"] >= everything["filtered_table_rows_count"]:
        server.fail(f"Datasette does not search {DATASETTE_TABLE}: is its FTS table detected?")


# -- memory and CPU of the server's process tree -----------------------------------------------------


def worker_pids(root: int) -> list[int]:
    """Return the pids below a server's master: its workers (none for a single-process server)."""
    return index_bench.descendants(root)


def read_proc(pid: int, name: str) -> str:
    """Return /proc/PID/NAME, or "" when the process is gone."""
    try:
        return Path(f"/proc/{pid}/{name}").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ""


def pss_kb(pid: int) -> int:
    """Return a process's proportional set size in KiB (shared pages divided among their sharers)."""
    for line in read_proc(pid, "smaps_rollup").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def rss_kb(pid: int) -> int:
    """Return a process's resident set size in KiB."""
    for line in read_proc(pid, "status").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float | None:
    """Return the user and system CPU time a process has used, None when it is gone."""
    stat = read_proc(pid, "stat")
    if not stat:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sampler:
    """Sample a server's process tree every SAMPLE_SECONDS: peaks of PSS and of each worker's RSS, and CPU time."""

    def __init__(self, root: int, port: int):
        self.root, self.port = root, port
        self.peak_connections: dict[int, int] = {}
        self.peak_pss_mb = 0.0
        self.peak_rss_mb: dict[int, float] = {}
        self.cpu_start: dict[int, float] = {}
        self.cpu_last: dict[int, float] = {}
        self.started = self.ended = 0.0
        self.busy = self.own = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.started, self.busy, self.own = time.monotonic(), machine_busy(), own_cpu()
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()
        self.ended, self.busy, self.own = time.monotonic(), machine_busy() - self.busy, own_cpu() - self.own

    def _run(self) -> None:
        """Sample until stopped."""
        while not self._stop.wait(SAMPLE_SECONDS):
            self.sample()

    def sample(self) -> None:
        """Read PSS, RSS and CPU time of the master and every worker once."""
        workers = worker_pids(self.root)
        pids = [self.root] + workers
        self.peak_pss_mb = max(self.peak_pss_mb, sum(pss_kb(pid) for pid in pids) / 1024)
        for pid in workers or [self.root]:
            self.peak_rss_mb[pid] = max(self.peak_rss_mb.get(pid, 0.0), rss_kb(pid) / 1024)
        for pid, count in connections(workers or [self.root], self.port).items():
            self.peak_connections[pid] = max(self.peak_connections.get(pid, 0), count)
        for pid in pids:
            used = cpu_seconds(pid)
            if used is not None:
                self.cpu_start.setdefault(pid, used)
                self.cpu_last[pid] = used

    def cores(self, pid: int | None = None) -> float:
        """Return the CPU time of the server (or of one of its processes) over the wall time, in cores."""
        pids = [pid] if pid else list(self.cpu_last)
        used = sum(self.cpu_last[p] - self.cpu_start[p] for p in pids)
        return used / (self.ended - self.started) if self.ended > self.started else 0.0

    def line(self) -> str:
        """Return the peaks and CPU use as one line."""
        rss = ", ".join(f"{mb:.0f}" for _, mb in sorted(self.peak_rss_mb.items()))
        workers = [pid for pid in sorted(self.cpu_last) if pid != self.root]
        each = f" ({' + '.join(f'{self.cores(pid):.2f}' for pid in workers)} by the workers)" if workers else ""
        held = " + ".join(str(n) for _, n in sorted(self.peak_connections.items()))
        whose = "each worker" if workers else "its one process"
        return (
            f"PSS {self.peak_pss_mb:.0f} MB (whole server), RSS {rss} MB ({whose}), "
            f"CPU {self.cores():.2f} cores{each}, client connections held at most {held}"
        )


def connections(pids: list[int], port: int) -> dict[int, int]:
    """Return how many established connections to `port` each process holds (keep-alive stays with one worker)."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local address "0100007F:1F90", state 01 = ESTABLISHED, then the socket's inode.
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                established.add(f"socket:[{fields[9]}]")
    held = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        count = 0
        for fd in fds:
            try:
                count += os.readlink(f"/proc/{pid}/fd/{fd}") in established
            except OSError:
                pass
        held[pid] = count
    return held


def machine_busy() -> float:
    """Return the CPU seconds every process of the machine has used (/proc/stat), to tell what others took."""
    fields = [int(v) for v in Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """Return the CPU seconds this process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- measuring ---------------------------------------------------------------------------------------


def stats(records: list, start: float | None = None, end: float | None = None) -> dict:
    """Return count, throughput, latency percentiles, errors and cut-short answers of the records."""
    if start is not None:
        records = [r for r in records if start <= r[1] <= end]
    ok = [r for r in records if r[3] == 200]
    latencies = [r[2] for r in ok]
    if start is None:
        start = min((r[1] for r in records), default=0.0)
        end = max((r[1] + r[2] / 1000 for r in records), default=0.0)
    kinds = Counter("non-200" if isinstance(r[3], int) else r[3] for r in records if r[3] != 200)
    return {
        "n": len(records),
        "qps": len(ok) / (end - start) if end > start else 0.0,
        "p50": search_bench.percentile(latencies, 0.5),
        "p95": search_bench.percentile(latencies, 0.95),
        "p99": search_bench.percentile(latencies, 0.99),
        "max": max(latencies, default=float("nan")),
        "errors": sum(kinds.values()),
        "error_kinds": kinds,
        "statuses": Counter(r[3] for r in records if isinstance(r[3], int) and r[3] != 200),
        "cut": sum(1 for r in ok if r[6]),
    }


def error_text(s: dict) -> str:
    """Return the errors of a stats dict with their kinds."""
    if not s["errors"]:
        return "0"
    kinds = dict(s["error_kinds"])
    if s["statuses"]:
        kinds["non-200"] = ", ".join(f"{n} x {status}" for status, n in sorted(s["statuses"].items()))
    return f"{s['errors']} ({'; '.join(f'{k}: {v}' for k, v in kinds.items())})"


def run_line(engine: str, clients: int, s: dict, result: dict) -> str:
    """Return the printed line of one load run."""
    cpu = ", ".join(f"{share * 100:.0f}%" for share in result["client_cpu"])
    return (
        f"{engine:<9} {clients:>3} clients {s['n']:>6} requests {s['qps']:7.1f} q/s  p50 {s['p50']:7.1f}  "
        f"p95 {s['p95']:7.1f}  p99 {s['p99']:7.1f} ms  errors {error_text(s)}  cut short {s['cut']}\n"
        f"{'':<14}server: {result['memory'].line()}; "
        f"load generator: {len(result['client_cpu'])} process(es) at {cpu} of a core; "
        f"other processes {result['other_cores']:.2f} cores"
    )


def bench_engine(server, engine: str, paths: list[str], warmup: list[str], args) -> dict:
    """Warm a server up, then run the load at each client count; return the stats and totals of each run."""
    if warmup:
        run_load(server, engine, [client_group(warmup, list(range(len(warmup))), 1)], 1)
    runs = {}
    sequence = shared_sequence(len(paths), args.passes, SEED)
    for clients in args.clients:
        result = run_load(server, engine, [client_group(paths, sequence, clients)], args.client_procs or 1)
        s = stats(result["records"])
        s["pss_mb"] = result["memory"].peak_pss_mb
        s["totals"] = {r[0]: r[5] for r in result["records"] if r[3] == 200}
        runs[clients] = s
        print(run_line(engine, clients, s, result), flush=True)
    both = [runs[c]["pss_mb"] for c in (8, 32) if c in runs]
    if both:
        print(f"{engine}: whole-server PSS peak over the 8- and 32-client runs: {max(both):.0f} MB", flush=True)
    return runs


def probe_queries(queries: list[dict], vocabulary: dict) -> list[dict]:
    """Return the probe queries: four on the sentence that change_files appends, one from the mix."""
    base = {"kind": "probe", "q": "", "fts": "", "source": None, "year": None, "from": None, "to": None, "page": 1}
    probes = [
        dict(base, q="revision"),
        dict(base, q="corrected revision"),
        dict(base, q='"corrected on revision"'),
        dict(base, q="revision", source=vocabulary["sources"][0]),
    ]
    probes.append(next(dict(r) for r in queries if r["kind"] == "and2"))
    return probes


def api_path(r: dict) -> str:
    """Return our API's request for one query."""
    return f"/api/search?{urllib.parse.urlencode(search_bench.api_args(r))}"


def probe_totals(server: OurServer, probe_paths: list[str]) -> tuple[str, list[int]]:
    """Return the version the server serves and each probe's total, asked on new connections until stable."""
    seen = set()
    for _ in range(3):
        answers = []
        for path in probe_paths:
            status, headers, data = get_json(server.port, path)
            if status != 200 or headers.get("Cache-Control") == "no-store":
                raise SystemExit(f"probe {path} answered {status} {headers.get('Cache-Control')}: cannot take totals")
            answers.append((data["index_version"], data["total"]))
        versions = {v for v, _ in answers}
        seen.add((tuple(versions), tuple(t for _, t in answers)))
    if len(seen) != 1 or len(next(iter(seen))[0]) != 1:
        raise SystemExit(f"the probes do not give one version and one total each: {seen}")
    versions, totals = next(iter(seen))
    return versions[0], list(totals)


def reindex_and_settle(server: OurServer, corpus: Path, index: Path, full: bool, old: str, logdir: Path) -> dict:
    """Run `searchapp reindex` under the running load; return once it has ended and every worker serves a new version.

    /healthz is asked all along, on new connections so that every worker answers in turn, to see when each
    worker switches.
    """
    time.sleep(LEAD_SECONDS)
    command = [sys.executable, "-m", "searchapp", "reindex", "--corpus", str(corpus), "--index", str(index)]
    log = logdir / f"reindex-{'full' if full else 'incremental'}.log"
    switched: dict[int, float] = {}
    ended = settled = None
    with open(log, "w", encoding="utf-8") as out:
        started = time.monotonic()
        process = subprocess.Popen(
            command + (["--full"] if full else []), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )
        while settled is None:
            if ended is None and process.poll() is not None:
                ended = time.monotonic()
                if process.returncode != 0:
                    break
            if ended is not None and time.monotonic() > ended + SETTLE_SECONDS:
                break
            try:
                versions = server.poll_health()
            except OSError:
                versions = {}
            now = time.monotonic()
            for pid, version in versions.items():
                if version != old:
                    switched.setdefault(pid, now)
            live = worker_pids(server.process.pid)
            if ended is not None and live and all(pid in switched for pid in live):
                settled = now
            time.sleep(0.1)
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return {
        "start": started,
        "end": ended,
        "settled": settled,
        "switched": sorted(t - ended for t in switched.values()),
        "code": process.returncode,
        "summary": lines[-1] if lines else "",
        "log": log,
    }


def bench_reindex(kind: str, server: OurServer, corpus: Path, index: Path, size: int, share: float, load: dict):
    """Measure the load of REINDEX_CLIENTS clients through one reindex and check that every answer is consistent."""
    paths, probe_paths, sequence, logdir = load["paths"], load["probe_paths"], load["sequence"], load["logdir"]
    old, old_totals = probe_totals(server, probe_paths)
    changed = index_bench.change_files(corpus, size, share)
    full = kind == "full"
    result = run_load(
        server,
        "ours",
        [client_group(paths + probe_paths, sequence, REINDEX_CLIENTS)],
        load["procs"],
        during=lambda: reindex_and_settle(server, corpus, index, full, old, logdir),
    )
    done = result["extra"]
    label = f"{'--full rebuild' if full else 'incremental reindex'} ({changed} files changed)"
    if done["code"] != 0 or done["settled"] is None:
        tail = done["log"].read_text(encoding="utf-8", errors="replace")[-2000:]
        why = f"exit status {done['code']}" if done["code"] else f"no new version within {SETTLE_SECONDS} s"
        print(f"{label}: FAILED, {why}\n{tail}", flush=True)
        return {"label": label, "failed": why, "errors": None, "inconsistent": None}
    new, new_totals = probe_totals(server, probe_paths)
    totals = {old: old_totals, new: new_totals}
    records = result["records"]
    window = stats(records, done["start"], done["settled"])
    whole = stats(records)
    first_probe = len(paths)
    inconsistent, cut_probes, checked = Counter(), 0, Counter()
    for r in records:
        if r[3] != 200:
            continue
        if r[4] not in totals:
            inconsistent["version neither old nor new"] += 1
        elif r[7]:
            inconsistent["body and header versions differ"] += 1
        elif r[0] >= first_probe:
            if r[6]:
                cut_probes += 1  # cut short by the time budget: a smaller total is what it says it is
            elif r[5] != totals[r[4]][r[0] - first_probe]:
                inconsistent["probe total not its version's"] += 1
            else:
                checked["old" if r[4] == old else "new"] += 1
    versions = Counter("old" if r[4] == old else "new" if r[4] == new else "other" for r in records if r[3] == 200)
    totals_text = ", ".join(f"{p!r} {a} -> {b}" for p, a, b in zip(load["probe_names"], old_totals, new_totals))
    lines = [
        f"{label}: reindex {done['end'] - done['start']:.1f} s [{done['summary']}]; /healthz showed the workers "
        f"on the new version {', '.join(f'{t:.1f}' for t in done['switched'])} s after it ended",
        f"  during it: {window['n']} requests {window['qps']:.1f} q/s  p50 {window['p50']:.1f}  "
        f"p95 {window['p95']:.1f}  p99 {window['p99']:.1f} ms  errors {error_text(window)}  cut short {window['cut']}",
        f"  whole load ({whole['n']} requests, from {LEAD_SECONDS:.0f} s before): errors {error_text(whole)}; "
        f"answers on the old version {versions['old']}, on the new {versions['new']}, other {versions['other']}",
        f"  probes agreeing with their version's total: {checked['old']} old, {checked['new']} new; "
        f"cut short (not compared) {cut_probes}; inconsistent responses {sum(inconsistent.values())}"
        + (f" {dict(inconsistent)}" if inconsistent else ""),
        f"  probe totals old -> new: {totals_text}",
        f"  server: {result['memory'].line()}; other processes (the reindex among them) "
        f"{result['other_cores']:.2f} cores",
    ]
    print("\n".join(lines), flush=True)
    return {
        "label": label,
        "failed": None,
        "seconds": done["end"] - done["start"],
        "settle": done["settled"] - done["end"],
        "qps": window["qps"],
        "p95": window["p95"],
        "errors": whole["errors"],
        "inconsistent": sum(inconsistent.values()),
        "pss_mb": result["memory"].peak_pss_mb,
    }


def bench_size(size: int, prepared: tuple, args, logdir: Path) -> dict:
    """Measure both engines at one size, then ours through the reindexes; return what the summary needs."""
    corpus, index, database = prepared
    vocabulary = search_bench.load_vocabulary(corpus)
    queries = search_bench.make_queries(vocabulary, args.queries, f"{search_bench.SEED}-queries")
    keys = {(r["q"], r["source"], r["year"], r["from"], r["page"]) for r in queries}
    warmup = [
        r
        for r in search_bench.make_queries(vocabulary, search_bench.WARMUP, f"{search_bench.SEED}-warmup")
        if (r["q"], r["source"], r["year"], r["from"], r["page"]) not in keys
    ]
    print(
        f"\n== {size:,} documents, {len(queries)} queries x {args.passes} passes: "
        f"{len(queries) * args.passes} requests a run, shared by its clients",
        flush=True,
    )
    out = {"size": size, "runs": {}, "heavy": {}, "reindex": []}
    with OurServer(index, args.workers, args.threads, logdir, cache_mb=args.cache_mb) as ours:
        print(f"ours: searchapp serve, {ours.workers} workers x {args.threads} threads", flush=True)
        out["runs"]["ours"] = bench_engine(ours, "ours", map_paths(queries), map_paths(warmup), args)
        if not args.no_heavy:
            for label, heavy in heavy_queries(vocabulary).items():
                out["heavy"][label] = bench_heavy(ours, map_paths(queries), heavy, label, args)
    if args.backend:
        out["runs"]["postgresql"] = bench_postgres(size, corpus, map_paths(queries), map_paths(warmup), args, logdir)
        print_totals_differ(queries, out["runs"], "postgresql")
    if not args.no_peer:
        peer_db = database.with_name(f"datasette-{size}.sqlite")
        if not peer_db.is_file():
            started = time.perf_counter()
            build_datasette_db(database, peer_db, search_bench.FTS_TOKENIZER)
            print(f"Datasette database built in {time.perf_counter() - started:.0f} s", flush=True)
        with DatasetteServer(peer_db, logdir) as peer:
            check_datasette_search(peer, urllib.parse.quote(f'"{vocabulary["common"][0]}"'))
            settings = " ".join(f"{k}={v}" for k, v in DATASETTE_SETTINGS.items())
            print(f"datasette: datasette serve {peer_db.name} --setting {settings}", flush=True)
            paths = [datasette_path(peer.table, r) for r in queries]
            out["runs"]["datasette"] = bench_engine(
                peer, "datasette", paths, [datasette_path(peer.table, r) for r in warmup], args
            )
        print_totals_differ(queries, out["runs"])
    if not args.no_reindex:
        out["reindex"] = bench_reindexes(size, corpus, index, queries, vocabulary, args, logdir)
    return out


def bench_postgres_only(size: int, workdir: Path, args, logdir: Path) -> dict:
    """Measure the --backend database alone at one size, reusing what an earlier run built into it."""
    corpus = workdir / f"corpus-{size}"
    if not (corpus / "manifest.csv").is_file():
        shutil.rmtree(corpus, ignore_errors=True)
        index_bench.write_corpus(corpus, size, index_bench.load_paragraphs(args.source))
    vocabulary = search_bench.load_vocabulary(corpus)
    queries = search_bench.make_queries(vocabulary, args.queries, f"{search_bench.SEED}-queries")
    warmup = search_bench.make_queries(vocabulary, search_bench.WARMUP, f"{search_bench.SEED}-warmup")
    print(f"\n== {size:,} documents on PostgreSQL, {len(queries)} queries x {args.passes} passes", flush=True)
    runs = {"postgresql": bench_postgres(size, corpus, map_paths(queries), map_paths(warmup), args, logdir, full=False)}
    return {"size": size, "runs": runs, "heavy": {}, "reindex": []}


def bench_postgres(
    size: int, corpus: Path, paths: list[str], warmup: list[str], args, logdir: Path, full: bool = True
) -> dict:
    """Build the corpus into the --backend database, then load `searchapp serve` reading it from --replicas."""
    command = [sys.executable, "-m", "searchapp", "reindex", "--corpus", str(corpus), "--index", args.backend]
    command += ["--full"] if full else []
    # The database's clean cache goes beside $SEARCHAPP_INDEX: in the bench's folder, not this checkout's var/.
    env = dict(os.environ, SEARCHAPP_INDEX=str(corpus.parent / f"var-postgresql-{size}" / "index"))
    started = time.perf_counter()
    subprocess.run(command, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    built = time.perf_counter() - started
    done = "built" if full else "brought up to date (a reindex without --full)"
    print(f"postgresql: {size:,} documents {done} in {built:.1f} s ({size / built:.0f} documents/s)", flush=True)
    waited = wait_for_replicas(args.backend, args.replicas)
    if waited is not None:
        print(f"postgresql: the replicas had replayed the published state {waited:.1f} s later", flush=True)
    env = {"SEARCHAPP_REPLICAS": args.replicas or ""}
    with OurServer(args.backend, args.workers, args.threads, logdir, env, args.cache_mb) as server:
        replicas = len([url for url in (args.replicas or "").split(",") if url])
        cache = f", {args.cache_mb} MB of postings each" if args.cache_mb else ""
        shape = f"{server.workers} workers x {args.threads} threads{cache}"
        print(f"postgresql: searchapp serve, {shape}, {replicas} replica(s)")
        return bench_engine(server, "postgresql", paths, warmup, args)


def wait_for_replicas(primary: str, replicas: str | None, timeout: float = 900.0) -> float | None:
    """Wait until every replica has replayed the primary's published state; return the seconds waited.

    A replica behind it would have the server search the primary instead, and the run measure that.
    """
    import psycopg

    from indexer.engine.postgres.nodes import DEFAULT_STATE_QUERY

    urls = [url for url in (replicas or "").split(",") if url]
    if not urls:
        return None
    with psycopg.connect(primary, autocommit=True) as conn:
        wanted = conn.execute(DEFAULT_STATE_QUERY).fetchone()[0]
    started = time.perf_counter()
    for url in urls:
        with psycopg.connect(url, autocommit=True) as conn:
            while True:
                try:
                    if conn.execute(DEFAULT_STATE_QUERY).fetchone()[0] == wanted:
                        break
                except psycopg.errors.UndefinedTable:
                    pass  # the replica has not replayed the schema yet
                if time.perf_counter() - started > timeout:
                    raise SystemExit(f"The replica {url} has not replayed state {wanted} in {timeout:.0f} s")
                time.sleep(0.5)
    return time.perf_counter() - started


def heavy_queries(vocabulary: dict) -> dict[str, list[dict]]:
    """Return the heavy runs' queries: the expensive kinds the time budget caps, and phrases of common words."""
    base = {"kind": "heavy", "q": "", "fts": "", "source": None, "year": None, "from": None, "to": None, "page": 1}
    common = vocabulary["common"]
    ors = [" OR ".join(common[k * HEAVY_OR_WORDS : (k + 1) * HEAVY_OR_WORDS]) for k in range(HEAVY_ORS)]
    expensive = (
        [dict(base, q=q) for q in HEAVY_PATTERNS + HEAVY_MISSPELLED]
        + [dict(base, q=q, page=HEAVY_DEEP_PAGE) for q in common[:HEAVY_DEEP_WORDS]]
        + [dict(base, q=q) for q in ors if q]
    )
    return {"expensive": expensive, "phrases": [dict(base, q=q) for q in HEAVY_PHRASES]}


def heavy_label(q: str) -> str:
    """Return a short name of a heavy query: an OR by its word count and first word."""
    words = q.split(" OR ")
    return f"OR of {len(words)} from {words[0]!r}" if len(words) > 2 else q


def heavy_name(r: dict) -> str:
    """Return a heavy request's name: its query, and its page past the first."""
    return heavy_label(r["q"]) + (f" page {r['page']}" if r["page"] > 1 else "")


def bench_heavy(server: OurServer, paths: list[str], heavy: list[dict], label: str, args) -> dict:
    """Run HEAVY_BESIDE clients on the query sequence beside HEAVY_CLIENTS of expensive queries; print both sides."""
    groups = [
        client_group(paths, shared_sequence(len(paths), args.passes, SEED), HEAVY_BESIDE),
        client_group(map_paths(heavy), list(range(len(heavy))), HEAVY_CLIENTS, background=True),
    ]
    result = run_load(server, "ours", groups, args.client_procs or 1)
    ordinary, heavy_records = result["groups"]
    s = stats(ordinary)
    # Only what was sent while the ordinary clients ran: the last heavy requests meet less load.
    start = min((r[1] for r in ordinary), default=0.0)
    end = max((r[1] + r[2] / 1000 for r in ordinary), default=0.0)
    during = [r for r in heavy_records if start <= r[1] <= end]
    h = stats(during, start, end)
    # Our API says no-store exactly when the time budget cut a search short, and then gives a notice.
    h["silent_cut"] = sum(1 for r in during if r[3] == 200 and r[6] and not r[8])
    per_query = []
    for idx, r in enumerate(heavy):
        mine = [x for x in during if x[0] == idx]
        q = stats(mine, start, end)
        total = next((x[5] for x in mine if x[3] == 200 and not x[6]), None)
        shown = f"{q['p50']:.0f}/{q['max']:.0f} ms" if q["n"] > q["errors"] else "no answer"
        per_query.append(
            f"{heavy_name(r)}: {q['n']} x {shown}"
            + (f", {q['cut']} cut short" if q["cut"] else "")
            + (f", {q['errors']} errors" if q["errors"] else "")
            + (f", total {total:,}" if total is not None else "")
        )
    cpu = ", ".join(f"{share * 100:.0f}%" for share in result["client_cpu"])
    lines = [
        f"ours      {HEAVY_BESIDE:>3} clients {s['n']:>6} requests {s['qps']:7.1f} q/s  p50 {s['p50']:7.1f}  "
        f"p95 {s['p95']:7.1f}  p99 {s['p99']:7.1f} ms  errors {error_text(s)}  cut short {s['cut']}  "
        f"(beside {HEAVY_CLIENTS} clients of {label})",
        f"{'':<10}{HEAVY_CLIENTS:>3} heavy   {h['n']:>6} requests {h['qps']:7.1f} q/s  p50 {h['p50']:7.1f}  "
        f"p95 {h['p95']:7.1f}  max {h['max']:7.1f} ms  errors {error_text(h)}  cut short {h['cut']}"
        + (f" ({h['silent_cut']} of them without a notice)" if h["silent_cut"] else ""),
        f"{'':<14}per heavy query (answers x p50/max): " + "; ".join(per_query),
        f"{'':<14}server: {result['memory'].line()}; "
        f"load generator: {len(result['client_cpu'])} process(es) at {cpu} of a core; "
        f"other processes {result['other_cores']:.2f} cores",
    ]
    print("\n".join(lines), flush=True)
    return {"ordinary": s, "heavy": h, "pss_mb": result["memory"].peak_pss_mb}


def map_paths(queries: list[dict]) -> list[str]:
    """Return our API's requests for the queries."""
    return [api_path(r) for r in queries]


def print_totals_differ(queries: list[dict], runs: dict, other: str = "datasette") -> None:
    """Print how many queries' totals differ by more than 5 % between ours and another engine, per kind (first run)."""
    if not runs.get("ours") or not runs.get(other):
        return
    first = min(runs["ours"])
    ours, peer = runs["ours"][first]["totals"], runs[other][first]["totals"]
    differ = Counter(
        r["kind"]
        for i, r in enumerate(queries)
        if i in ours and i in peer and peer[i] is not None and abs(ours[i] - peer[i]) > max(2, 0.05 * peer[i])
    )
    shown = ", ".join(f"{kind} {n}" for kind, n in sorted(differ.items())) or "none"
    print(f"totals differing by more than 5 % between ours and {other}: {sum(differ.values())} ({shown})", flush=True)


def bench_reindexes(size: int, corpus: Path, index: Path, queries, vocabulary, args, logdir: Path) -> list[dict]:
    """Copy the corpus and index, serve the copy, and measure the load through both kinds of reindex."""
    scratch = Path(tempfile.mkdtemp(prefix="load-bench-reindex-"))
    try:
        started = time.perf_counter()
        corpus_copy, var_copy = scratch / "corpus", scratch / "var"
        shutil.copytree(corpus, corpus_copy)
        # The whole var folder: the clean cache beside the index keeps a rebuild from cleaning every page again.
        shutil.copytree(index.parent, var_copy)
        print(f"\ncorpus and index copied to {scratch} in {time.perf_counter() - started:.0f} s", flush=True)
        probes = probe_queries(queries, vocabulary)
        paths = map_paths(queries)
        probe_paths = map_paths(probes)
        sequence = []
        for k, idx in enumerate(shared_sequence(len(paths), args.passes, f"{SEED}-reindex")):
            if k % PROBE_EVERY == 0:
                sequence.append(len(paths) + (k // PROBE_EVERY) % len(probes))
            sequence.append(idx)
        load = {
            "paths": paths,
            "probe_paths": probe_paths,
            "probe_names": [p["q"] + (f" source:{p['source']}" if p["source"] else "") for p in probes],
            "sequence": sequence,
            "procs": args.client_procs or 1,
            "logdir": logdir,
        }
        results = []
        with OurServer(var_copy / "index", args.workers, args.threads, logdir, cache_mb=args.cache_mb) as server:
            run_load(server, "ours", [client_group(paths, list(range(min(len(paths), 20))), 1)], 1)
            results.append(
                bench_reindex("incremental", server, corpus_copy, var_copy / "index", size, CHANGED_SHARE, load)
            )
            # Twice the share: the same files and as many again, so the probes' totals change once more.
            results.append(
                bench_reindex("full", server, corpus_copy, var_copy / "index", size, 2 * CHANGED_SHARE, load)
            )
        return results
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- the report ----------------------------------------------------------------------------------------


def machine_lines() -> list[str]:
    """Return the machine's cores, memory and CPU model, and the versions that matter."""
    cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    meminfo = Path("/proc/meminfo").read_text(encoding="utf-8", errors="replace").splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "unknown")
    memory_kb = next((int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:")), 0)
    return [
        f"machine: {os.cpu_count()} cores ({len(os.sched_getaffinity(0))} usable), "
        f"{memory_kb / 1024**2:.1f} GiB RAM, CPU {model}",
        f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {package_versions()}",
    ]


def package_versions() -> str:
    """Return the versions of the servers' packages."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("gunicorn", "whoosh3", "datasette", "sqlite-utils"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} not installed")
    return ", ".join(found)


def folder_mb(path: Path) -> float:
    """Return the size of a file or of the files under a folder, in MB."""
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


# Searches of the PostgreSQL backend, facets and snippets included, at a million releases.
POSTGRES_TARGET_SIZE, POSTGRES_P95_MS = 1_000_000, 500


def print_summary(results: list[dict]) -> None:
    """Print the table of every run and reindex, then PASS/FAIL for each target."""
    print("\n== summary")
    header = ("docs", "engine", "clients", "q/s", "p50 ms", "p95 ms", "p99 ms", "errors", "PSS MB")
    print("{:>8} {:<10} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>7}".format(*header))
    for out in results:
        for engine, runs in out["runs"].items():
            for clients, s in runs.items():
                print(
                    f"{out['size']:>8,} {engine:<10} {clients:>7} {s['qps']:>7.1f} {s['p50']:>7.1f} {s['p95']:>7.1f} "
                    f"{s['p99']:>7.1f} {s['errors']:>6} {s['pss_mb']:>7.0f}"
                )
        for label, run in out["heavy"].items():
            o, h = run["ordinary"], run["heavy"]
            print(
                f"{out['size']:>8,} ours, {HEAVY_BESIDE} clients beside {HEAVY_CLIENTS} of {label}: {o['qps']:.1f} "
                f"q/s, p50 {o['p50']:.1f}, p95 {o['p95']:.1f}, p99 {o['p99']:.1f} ms, errors {o['errors']}; heavy "
                f"p50 {h['p50']:.1f}, p95 {h['p95']:.1f}, max {h['max']:.1f} ms, errors {h['errors']}, cut short "
                f"{h['cut']} of {h['n']}; PSS {run['pss_mb']:.0f} MB"
            )
        for r in out["reindex"]:
            if r["failed"]:
                print(
                    f"{out['size']:>8,} ours, {REINDEX_CLIENTS} clients through the {r['label']}: "
                    f"FAILED ({r['failed']})"
                )
            else:
                print(
                    f"{out['size']:>8,} ours, {REINDEX_CLIENTS} clients through the {r['label']}: {r['qps']:.1f} q/s, "
                    f"p95 {r['p95']:.1f} ms, errors {r['errors']}, inconsistent {r['inconsistent']}, "
                    f"reindex {r['seconds']:.1f} s + {r['settle']:.2f} s to switch, PSS {r['pss_mb']:.0f} MB"
                )
    print("\n== targets (set for 100,000 documents; other sizes for information)")
    for out in results:
        size = out["size"]
        low, high, loaded, pss = TARGETS.get(100_000)
        tag = "" if size in TARGETS else " (for information)"
        ours = out["runs"].get("ours", {})
        checks = []
        if 8 in ours:
            s = ours[8]
            checks.append(
                (
                    f"8 clients >= {low} q/s and p95 <= {high} ms: {s['qps']:.1f} q/s, p95 {s['p95']:.1f} ms",
                    s["qps"] >= low and s["p95"] <= high,
                )
            )
        if 32 in ours:
            s = ours[32]
            checks.append(
                (
                    f"32 clients 0 errors and p95 <= {loaded} ms: {s['errors']} errors, p95 {s['p95']:.1f} ms",
                    s["errors"] == 0 and s["p95"] <= loaded,
                )
            )
        if 8 in ours and 32 in ours:
            peak = max(ours[8]["pss_mb"], ours[32]["pss_mb"])
            checks.append((f"whole-server PSS <= {pss} MB over the 8- and 32-client runs: {peak:.0f} MB", peak <= pss))
        for label, run in out["heavy"].items():
            o, h = run["ordinary"], run["heavy"]
            ordinary_p95, heavy_p95 = HEAVY_TARGETS[100_000]
            checks.append(
                (
                    f"beside {HEAVY_CLIENTS} clients of {label}, {HEAVY_BESIDE} clients 0 errors and p95 <= "
                    f"{ordinary_p95} ms, heavy all 200 and p95 <= {heavy_p95} ms: "
                    f"{o['errors']} errors, p95 {o['p95']:.1f} ms; "
                    f"heavy {h['errors']} errors, p95 {h['p95']:.1f} ms",
                    o["errors"] == 0 and o["p95"] <= ordinary_p95 and h["errors"] == 0 and h["p95"] <= heavy_p95,
                )
            )
        for r in out["reindex"]:
            ok = not r["failed"] and r["errors"] == 0 and r["inconsistent"] == 0
            got = r["failed"] or f"{r['errors']} errors, {r['inconsistent']} inconsistent"
            checks.append((f"{r['label']}: 0 errors and 0 inconsistent responses: {got}", ok))
        postgres = out["runs"].get("postgresql", {})
        if 8 in postgres:
            s = postgres[8]
            at = "" if size == POSTGRES_TARGET_SIZE else f" (set for {POSTGRES_TARGET_SIZE:,})"
            checks.append(
                (
                    f"PostgreSQL, 8 clients p95 <= {POSTGRES_P95_MS} ms with facets{at}: p95 {s['p95']:.1f} ms, "
                    f"{s['errors']} errors",
                    s["errors"] == 0 and s["p95"] <= POSTGRES_P95_MS,
                    " (for information)" if at else "",
                )
            )
        if not checks:
            print(f"{size:>8,}: nothing measured that a target covers")
        for text, ok, *own in checks:
            print(f"{size:>8,}: {'PASS' if ok else 'FAIL'}{own[0] if own else tag}  {text}")
    sys.stdout.flush()


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="Comma-separated corpus sizes.")
    parser.add_argument("--workdir", type=Path, help="Keep corpora, indexes and databases here and reuse them.")
    parser.add_argument("--source", type=Path, help="Corpus to take paragraphs from (default: index_bench's).")
    parser.add_argument("--clients", default="1,8,32", help="Comma-separated counts of concurrent clients.")
    parser.add_argument("--workers", type=int, help="Worker processes of our server (default: one per core).")
    parser.add_argument("--threads", type=int, default=2, help="Threads per worker of our server (its default).")
    parser.add_argument("--queries", type=int, default=300, help="Queries in the set.")
    parser.add_argument("--passes", type=int, default=3, help="Passes over the query set a run sends.")
    parser.add_argument("--client-procs", type=int, help="Load-generator processes (default: 1).")
    parser.add_argument("--no-peer", action="store_true", help="Leave Datasette out.")
    parser.add_argument("--no-heavy", action="store_true", help="Leave out the run beside heavy queries.")
    parser.add_argument("--no-reindex", action="store_true", help="Leave out the load through reindexes.")
    parser.add_argument("--backend", help="Also build and serve the corpus from this PostgreSQL database (URL).")
    parser.add_argument("--replicas", help="Comma-separated URLs of the --backend database's streaming replicas.")
    parser.add_argument(
        "--postgres-only",
        action="store_true",
        help="Measure only --backend, brought up to date by a plain reindex (no Whoosh index, peer or reindex load).",
    )
    parser.add_argument("--cache-mb", type=int, help="Postings each worker of ours keeps, in MB (default: serve's).")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main()
        return
    args.clients = [int(c) for c in args.clients.split(",")]
    if args.source is None:
        args.source = index_bench.SHARED_CORPUS if index_bench.SHARED_CORPUS.is_dir() else ROOT / "corpus"
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="load-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    logdir = Path(tempfile.mkdtemp(prefix="load-bench-logs-"))
    started = time.perf_counter()
    try:
        for line in machine_lines():
            print(line)
        sizes = [int(s) for s in args.sizes.split(",")]
        if args.postgres_only:
            if not args.backend:
                parser.error("--postgres-only measures the --backend database: give its URL")
            results = [bench_postgres_only(size, workdir, args, logdir) for size in sizes]
            print_summary(results)
            print(f"\nran in {time.perf_counter() - started:.0f} s")
            return
        prepared = {size: search_bench.prepare(size, workdir, args.source, None) for size in sizes}
        for size, (corpus, index, database) in prepared.items():
            print(
                f"corpus {size:,} documents: {folder_mb(corpus):.0f} MB of text, index {folder_mb(index):.0f} MB, "
                f"FTS5 database {folder_mb(database):.0f} MB ({corpus.parent})"
            )
        print(f"server logs in {logdir}", flush=True)
        results = [bench_size(size, prepared[size], args, logdir) for size in sizes]
        print_summary(results)
        print(f"\nran in {time.perf_counter() - started:.0f} s")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
