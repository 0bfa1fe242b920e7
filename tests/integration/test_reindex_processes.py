"""Reindexes as real processes: searches while one runs, two at once, and SIGKILL at any moment."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer.engine.storage import IndexMissingError, current_generation, generations, open_view
from indexer.index.lock import LOCK_NAME, read_holder
from indexer.index.reindex import reindex
from searchapp.index_check import check_index_state
from searchapp.search import SearchRequest, search

from conftest import ROOT

# Real processes, servers or browsers: `pytest -m "not slow"` leaves them out.
# Whoosh's generations, CURRENT and reader locks under real processes and SIGKILL; PostgreSQL's lost nodes are
# tests/integration/test_postgres_*failover.py's.
pytestmark = [pytest.mark.slow, pytest.mark.whoosh_only]

WORDS = (
    "council statement rights freedom election border minister peace talks sanctions court ruling "
    "government humanitarian aid refugees police protest journalists"
).split()
BASE = 200
# The change that every test reindexes: new pages, revised pages, deleted pages.
ADDED, REVISED, DELETED = 250, 30, 20
AFTER = BASE + ADDED - DELETED
REVISION_WORD = "revised"
# Searches of every kind the product runs; after any kill, each must answer.
QUERIES = [
    "",
    REVISION_WORD,
    "council statement",
    '"peace talks"',
    "border OR refugees",
    "court -ruling",
    "minist*",
    "title:release",
    "source:org",
    "sanctions police",
]
# Random moments to SIGKILL each kind of reindex at; CI looks at more of them.
KILLS = 10 if os.environ.get("CI") else 3


def write_pages(corpus: Path, numbers) -> None:
    """Write small releases with the given numbers and list every page in the manifest."""
    for number in numbers:
        rng = random.Random(number)
        body = " ".join(rng.choice(WORDS) for _ in range(50))
        page = corpus / "text" / f"r{number:04d}.txt"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"Release {number}\n\nThe {body}.\n", encoding="utf-8")
    pages = sorted((corpus / "text").glob("*.txt"))
    with open(corpus / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text_file", "title", "source_org", "date", "lang"])
        for page in pages:
            number = int(page.stem[1:])
            writer.writerow(
                [
                    f"text/{page.name}",
                    f"Release {number}",
                    f"Org {number % 5}",
                    f"2022-{1 + number % 12:02d}-{1 + number % 28:02d}",
                    "en",
                ]
            )


def change_corpus(corpus: Path) -> None:
    """Add, revise and delete pages: the index should then hold AFTER pages, REVISED of them revised."""
    write_pages(corpus, range(BASE, BASE + ADDED))
    for number in range(REVISED):
        with open(corpus / "text" / f"r{number:04d}.txt", "a", encoding="utf-8") as f:
            f.write(f"\nThis release was {REVISION_WORD}.\n")
    for number in range(BASE - DELETED, BASE):
        (corpus / "text" / f"r{number:04d}.txt").unlink()


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A corpus of BASE small releases with a manifest."""
    root = tmp_path / "corpus"
    write_pages(root, range(BASE))
    return root


@pytest.fixture
def index(tmp_path) -> Path:
    """Where the test index lives."""
    return tmp_path / "var" / "index"


def start_reindex(corpus: Path, index: Path, *args: str) -> subprocess.Popen:
    """Start `python -m searchapp reindex` as a process."""
    return subprocess.Popen(
        [sys.executable, "-m", "searchapp", "reindex", "--corpus", str(corpus), "--index", str(index), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def sigkill(process: subprocess.Popen) -> None:
    """SIGKILL a reindex, as a crash or an OOM killer would, and reap it.

    Its cleaning workers may outlive it a moment, holding its output pipes open: if they do,
    they are killed too, so that the test never waits on them.
    """
    process.send_signal(signal.SIGKILL)
    try:
        process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)


def finish(process: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    """Wait for a process and return its status, stdout and stderr."""
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def counts(summary_line: str) -> str:
    """Return a summary line without its time."""
    return summary_line.strip().rsplit(" in ", 1)[0]


def index_state(index: Path) -> tuple[int, int]:
    """Return (documents, revised documents) as the product's search finds them on a fresh searcher."""
    with open_view(index) as s:
        return search(s, SearchRequest()).total, search(s, SearchRequest(q=REVISION_WORD)).total


def every_query_answers(index: Path) -> None:
    """Run each kind of search, a second page and a filter on the live index: none may raise."""
    with open_view(index) as s:
        for q in QUERIES:
            for request in (
                SearchRequest(q=q),
                SearchRequest(q=q, page=2, per_page=5, sort="newest"),
                SearchRequest(q=q, sources=("Org 1",), year=2022),
            ):
                result = search(s, request)
                assert result.total >= len(result.hits)


def wait_for(condition, timeout: float = 20, what: str = "condition") -> None:
    """Poll until condition() is true."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


SEARCH_LOOP = """
import json, sys, time
from pathlib import Path
from indexer.engine.live import LiveIndex
from indexer.engine.storage import open_view
from searchapp.search import SearchRequest, search

index, stop, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
query = SearchRequest(q=sys.argv[4])
kept = LiveIndex(index)
seen = []

def state(s):
    return [search(s, SearchRequest()).total, search(s, query).total]

while True:
    # The last round starts after the stop file appeared, so it sees the final index.
    stopping = stop.exists()
    with kept.reading() as view:
        seen.append(state(view))
    with open_view(index) as fresh:
        seen.append(state(fresh))
    if len(seen) == 2:
        out.with_suffix(".ready").touch()
    if stopping:
        break
    time.sleep(0.005)  # leave the reindexes some CPU
out.write_text(json.dumps(seen))
"""


def test_searches_during_reindexes_see_the_old_or_the_new_index(corpus, index, tmp_path):
    reindex(corpus, index)
    stop, out = tmp_path / "stop", tmp_path / "seen.json"
    loop = subprocess.Popen(
        [sys.executable, "-c", SEARCH_LOOP, str(index), str(stop), str(out), REVISION_WORD],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(out.with_suffix(".ready").exists, what="the search loop")
        change_corpus(corpus)
        status, summary, _ = finish(start_reindex(corpus, index))
        assert (status, counts(summary)) == (
            0,
            f"added {ADDED}, updated {REVISED}, deleted {DELETED}, unchanged {BASE - REVISED - DELETED}, failed 0",
        )
        status, summary, _ = finish(start_reindex(corpus, index, "--full"))
        assert (status, counts(summary)) == (
            0,
            f"rebuilt {AFTER} (added 0, updated 0, deleted 0, unchanged {AFTER}), failed 0",
        )
    finally:
        stop.touch()
        _, errors = loop.communicate(timeout=30)
    assert loop.returncode == 0, errors
    seen = {tuple(pair) for pair in json.loads(out.read_text())}
    assert seen == {(BASE, 0), (AFTER, REVISED)}


def test_a_second_reindex_waits_or_with_no_wait_names_the_holder(tmp_path, index):
    corpus = tmp_path / "corpus"
    write_pages(corpus, range(3 * BASE))
    first = start_reindex(corpus, index)
    wait_for(lambda: read_holder(index / LOCK_NAME).pid == first.pid, what="the first reindex's lock")
    waiting = start_reindex(corpus, index)
    status, out, err = finish(start_reindex(corpus, index, "--no-wait"))
    assert status == 75 and out == ""
    assert f"is being rebuilt by pid {first.pid} on {socket.gethostname()}, started " in err
    assert first.poll() is None, "the first reindex ended too soon for this test"
    status, out, _ = finish(first)
    assert (status, counts(out)) == (0, f"added {3 * BASE}, updated 0, deleted 0, unchanged 0, failed 0")
    status, out, err = finish(waiting)
    assert (status, counts(out)) == (0, f"added 0, updated 0, deleted 0, unchanged {3 * BASE}, failed 0")
    assert f"Waiting for the reindex of pid {first.pid} on {socket.gethostname()}, started " in err


@pytest.mark.parametrize("writers", ["1", "2"], ids=["one-writer", "two-writers"])
@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_sigkill_at_any_moment_leaves_a_working_index_and_the_next_reindex_finishes(corpus, index, full, writers):
    reindex(corpus, index, check=check_index_state)
    change_corpus(corpus)
    moments = random.Random(f"kill-{full}-{writers}")
    for _ in range(KILLS):
        killed = start_reindex(corpus, index, "--writers", writers, *(["--full"] if full else []))
        # From the start-up to the swap: a reindex of this corpus takes about two seconds here.
        time.sleep(moments.uniform(0.1, 2.5))
        sigkill(killed)
        # Before its swap the old index is whole and searchable; after it, the new one.
        assert index_state(index) in {(BASE, 0), (AFTER, REVISED)}
        every_query_answers(index)
    committed = index_state(index) == (AFTER, REVISED)
    status, out, err = finish(start_reindex(corpus, index))
    assert status == 0, err
    if committed:
        assert counts(out) == f"added 0, updated 0, deleted 0, unchanged {AFTER}, failed 0"
    else:
        assert counts(out) == (
            f"added {ADDED}, updated {REVISED}, deleted {DELETED}, unchanged {BASE - REVISED - DELETED}, failed 0"
        )
    assert index_state(index) == (AFTER, REVISED)
    every_query_answers(index)
    # Only the live generation and the one it replaced remain: nothing half-built is left.
    assert current_generation(index) == generations(index)[-1] and len(generations(index)) <= 2
    assert "Waiting" not in err and "Breaking" not in err


def test_a_first_build_killed_leaves_no_index_and_the_next_one_builds_it(corpus, index):
    killed = start_reindex(corpus, index)
    time.sleep(1.0)
    sigkill(killed)
    if current_generation(index) is None:
        with pytest.raises(IndexMissingError, match="run `searchapp reindex`"):
            index_state(index)
    status, out, _ = finish(start_reindex(corpus, index))
    assert status == 0
    assert index_state(index) == (BASE, 0)


HOLD_LOCKS = """
import fcntl, json, os, socket, sys, time
lock, whoosh_lock, dead_pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
held = []
for path in (lock, whoosh_lock):
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    held.append(fd)
os.ftruncate(held[0], 0)
os.write(held[0], json.dumps({"pid": dead_pid, "host": socket.gethostname(), "started": "then"}).encode())
print("ready", flush=True)
time.sleep(120)
"""


def test_locks_still_held_by_a_dead_reindexs_children_are_broken(corpus, index):
    reindex(corpus, index)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    # Stands for the orphaned children of a killed reindex: they keep both lock files locked.
    orphan = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLD_LOCKS,
            str(index / LOCK_NAME),
            str(current_generation(index) / "MAIN_WRITELOCK"),
            str(gone.pid),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert orphan.stdout.readline().strip() == "ready"
        with open(corpus / "text" / "r0000.txt", "a", encoding="utf-8") as f:
            f.write(f"\n{REVISION_WORD}\n")
        status, out, err = finish(start_reindex(corpus, index, "--no-wait"))
    finally:
        orphan.kill()
        orphan.wait()
    assert status == 0, err
    assert f"Breaking the lock left by pid {gone.pid} on {socket.gethostname()}, started then" in err
    assert counts(out) == f"added 0, updated 1, deleted 0, unchanged {BASE - 1}, failed 0"
    assert index_state(index) == (BASE, 1)
    # The reindex lock file goes with the reindex that held it, and the replaced generation, which nothing reads.
    assert sorted(os.listdir(index)) == ["CURRENT", *(g.name for g in generations(index))]
    assert len(generations(index)) == 1
