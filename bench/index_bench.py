"""Measure building and updating the index on generated corpora of realistic size.

Usage: python bench/index_bench.py [--sizes 10000,100000] [--source ../shared/corpus] [--workers N]
                                  [--no-full-rebuild] [--keep DIR] [--backend postgresql://...]

For each size, writes a deterministic corpus of plain-text press releases (paragraphs of real
releases recombined by a seeded random generator, with a manifest giving source, date, title
and language) into a temporary folder, then runs `searchapp reindex` in a fresh process and
reports: the first full build (time, documents/s, index size, peak memory of the reindex
process and of its workers), a no-op incremental reindex, a reindex after 1 % of the files
changed, and a --full rebuild of the unchanged corpus (which reads cleaned pages from the
cache). Paragraphs come from ../shared/corpus when present, else from the bundled corpus/.

With --backend URL the index is that PostgreSQL database instead of a folder (its search tables
are dropped before each size, so give it a database of its own), and the index size is the
database's size.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SHARED_CORPUS = ROOT.parent / "shared" / "corpus"
# Folders whose manifest rows name plain-text release bodies.
TEXT_FOLDERS = (
    "kremlin_and_president_ua_en_2021_2022",
    "ua_president_office_statements_2022",
    "us_senate_press_releases_grimmer_2004_2008",
    "doj_opa_press_releases",
)
TEXT_COLUMNS = ("text_file", "body_text_file")
SEED = 20240501
FILES_PER_FOLDER = 1000
PARAGRAPHS_PER_DOC = (3, 14)
MIN_PARAGRAPH_CHARS = 40
# Long unbroken bodies (the DOJ text has no line breaks) are cut into paragraphs at sentences.
MAX_PARAGRAPH_CHARS = 900
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
SHARE_WITHOUT_DATE = 0.01
SHARE_WITHOUT_YEAR = 0.005
FIRST_DAY, LAST_DAY = dt.date(2004, 1, 1), dt.date(2023, 12, 31)
CHANGED_SHARE = 0.01
SAMPLE_SECONDS = 0.5


def load_paragraphs(source: Path) -> list[tuple[str, str, str]]:
    """Return (paragraph, source organisation, language) from every text release of a corpus."""
    paragraphs = []
    for folder in TEXT_FOLDERS:
        manifest = source / folder / "manifest.csv"
        if not manifest.is_file():
            continue
        with open(manifest, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                name = next((row[c] for c in TEXT_COLUMNS if row.get(c)), None)
                path = source / folder / name if name else None
                if path is None or not path.is_file():
                    continue
                org, lang = row.get("source_org") or folder, row.get("lang") or row.get("language") or ""
                for paragraph in split_paragraphs(path.read_text(encoding="utf-8", errors="replace")):
                    paragraphs.append((paragraph, org, lang))
    return paragraphs


def split_paragraphs(text: str) -> list[str]:
    """Return the paragraphs of a release body, long ones cut at sentence ends."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        while len(line) > MAX_PARAGRAPH_CHARS:
            cut = next((m.start() for m in SENTENCE_END.finditer(line, MAX_PARAGRAPH_CHARS // 2)), len(line))
            out.append(line[:cut])
            line = line[cut:].strip()
        if len(line) >= MIN_PARAGRAPH_CHARS:
            out.append(line)
    return out


def write_corpus(folder: Path, size: int, paragraphs: list[tuple[str, str, str]]) -> None:
    """Write `size` generated releases and their manifest; the same size always gives the same files."""
    rows = []
    span = (LAST_DAY - FIRST_DAY).days
    for number in range(size):
        rng = random.Random(f"{SEED}-{number}")
        chosen = rng.sample(paragraphs, rng.randint(*PARAGRAPHS_PER_DOC))
        body, org, lang = "\n\n".join(p for p, _, _ in chosen), chosen[0][1], chosen[0][2]
        day = FIRST_DAY + dt.timedelta(days=rng.randrange(span))
        roll = rng.random()
        date = (
            ""
            if roll < SHARE_WITHOUT_DATE
            else day.strftime("%d %B")
            if roll < SHARE_WITHOUT_DATE + SHARE_WITHOUT_YEAR
            else day.isoformat()
        )
        relpath = f"text/{number // FILES_PER_FOLDER:03d}/release_{number:06d}.txt"
        path = folder / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body + "\n", encoding="utf-8")
        title = SENTENCE_END.split(chosen[0][0], 1)[0][:120]
        rows.append(
            {
                "doc_id": f"bench_{number:06d}",
                "text_file": relpath,
                "source_org": org,
                "title": title,
                "date": date,
                "lang": lang,
                "url": f"https://example.org/releases/{number:06d}",
            }
        )
    with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def change_files(folder: Path, size: int, share: float) -> int:
    """Append a sentence to a deterministic `share` of the releases; return how many changed."""
    rng = random.Random(f"{SEED}-changes")
    numbers = rng.sample(range(size), max(1, int(size * share)))
    for number in numbers:
        path = folder / f"text/{number // FILES_PER_FOLDER:03d}/release_{number:06d}.txt"
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"\nThis release was corrected on revision {number}.\n")
    return len(numbers)


def run_reindex(
    corpus: Path, index, *, full: bool = False, workers: int | None = None, cache: Path | None = None
) -> dict:
    """Run one reindex in a fresh process and return its summary, time and peak memory."""
    command = [sys.executable, __file__, "--run-reindex", str(corpus), str(index)]
    if full:
        command.append("--full")
    if workers:
        command += ["--workers", str(workers)]
    # A database's clean cache is beside $SEARCHAPP_INDEX: in the bench's folder, as a folder index's is.
    env = dict(os.environ, SEARCHAPP_INDEX=str(cache)) if cache else None
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"reindex failed ({done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class WorkerMemory:
    """Sample the resident memory of this process's descendants (Linux /proc), keeping the peaks.

    Worker processes are children of a fork server, not of this process, so getrusage cannot
    see them; sampling every half second can miss a short spike.
    """

    def __init__(self):
        self.peak_each_mb = 0.0
        self.peak_total_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        """Sample until stopped."""
        while not self._stop.wait(SAMPLE_SECONDS):
            sizes = [rss_mb(pid) for pid in descendants(os.getpid())]
            if sizes:
                self.peak_each_mb = max(self.peak_each_mb, *sizes)
                self.peak_total_mb = max(self.peak_total_mb, sum(sizes))


def descendants(root: int) -> list[int]:
    """Return the pids of every process below `root`."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    parents[int(entry)] = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def rss_mb(pid: int) -> float:
    """Return a process's resident memory in MB, 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def reindex_here(corpus: str, index: str, full: bool, workers: int | None) -> None:
    """Run a reindex in this process and print its measurements as one JSON line."""
    from indexer.index.reindex import reindex

    started = time.perf_counter()
    with WorkerMemory() as workers_memory:
        summary = reindex(corpus, index, full=full, workers=workers)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "summary": summary.line(),
                "seconds": seconds,
                "failed": summary.failed,
                # ru_maxrss is in KiB on Linux.
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "peak_worker_mb": workers_memory.peak_each_mb,
                "peak_workers_total_mb": workers_memory.peak_total_mb,
            }
        )
    )


def folder_bytes(folder: Path) -> int:
    """Return the total size of the files under a folder."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def index_bytes(index) -> int:
    """Return the size of an index: its folder's files, or the database's size."""
    from indexer.engine.backends import is_postgres

    if is_postgres(index):
        from indexer.engine.postgres.store import database_bytes, nodes_for

        return database_bytes(nodes_for(index, ()))
    return folder_bytes(index)


def size_label(index) -> str:
    """Return what the size printed is of: the index folder, or the whole database (old states' rows included)."""
    from indexer.engine.backends import is_postgres

    return "database" if is_postgres(index) else "index"


def bench_size(
    size: int, paragraphs, workdir: Path, workers: int | None, full_rebuild: bool, backend: str | None = None
) -> None:
    """Generate one corpus and print the measurements of building and updating its index."""
    corpus, index = workdir / f"corpus-{size}", workdir / f"var-{size}" / "index"
    cache = None
    if backend:
        from indexer.engine.postgres.migrations import drop_tables
        from indexer.engine.postgres.store import nodes_for

        with nodes_for(backend, ()).primary() as conn:
            drop_tables(conn)
        cache, index = index, backend
    started = time.perf_counter()
    write_corpus(corpus, size, paragraphs)
    print(
        f"\n== {size:,} documents ({folder_bytes(corpus) / 1e6:.0f} MB of text, "
        f"generated in {time.perf_counter() - started:.0f} s)",
        flush=True,
    )

    first = run_reindex(corpus, index, workers=workers, cache=cache)
    print(
        f"full build:        {first['seconds']:7.1f} s  {size / first['seconds']:6.0f} docs/s  "
        f"{size_label(index)} {index_bytes(index) / 1e6:.0f} MB  peak {first['peak_mb']:.0f} MB "
        f"+ workers {first['peak_workers_total_mb']:.0f} MB (largest {first['peak_worker_mb']:.0f} MB)   "
        f"[{first['summary']}]",
        flush=True,
    )
    noop = run_reindex(corpus, index, workers=workers, cache=cache)
    print(
        f"no-op reindex:     {noop['seconds']:7.1f} s  peak {noop['peak_mb']:.0f} MB   [{noop['summary']}]", flush=True
    )
    changed = change_files(corpus, size, CHANGED_SHARE)
    after = run_reindex(corpus, index, workers=workers, cache=cache)
    print(
        f"{changed} changed:  {after['seconds']:9.1f} s  peak {after['peak_mb']:.0f} MB   [{after['summary']}]",
        flush=True,
    )
    if not full_rebuild:
        return
    rebuild = run_reindex(corpus, index, full=True, workers=workers, cache=cache)
    print(
        f"--full, cached:    {rebuild['seconds']:7.1f} s  {size / rebuild['seconds']:6.0f} docs/s  "
        f"{size_label(index)} {index_bytes(index) / 1e6:.0f} MB  peak {rebuild['peak_mb']:.0f} MB   "
        f"[{rebuild['summary']}]",
        flush=True,
    )


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="Comma-separated corpus sizes.")
    parser.add_argument("--source", type=Path, default=SHARED_CORPUS, help="Corpus to take paragraphs from.")
    parser.add_argument("--workers", type=int, help="Cleaning processes (default: one per CPU).")
    parser.add_argument(
        "--no-full-rebuild",
        action="store_true",
        help="Skip the last measurement, a --full rebuild of the unchanged corpus.",
    )
    parser.add_argument("--keep", type=Path, help="Build in this folder and keep it, instead of a temporary one.")
    parser.add_argument("--backend", metavar="URL", help="A PostgreSQL database to build into instead of a folder.")
    parser.add_argument("--run-reindex", nargs=2, metavar=("CORPUS", "INDEX"), help=argparse.SUPPRESS)
    parser.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_reindex:
        reindex_here(*args.run_reindex, args.full, args.workers)
        return

    source = args.source if args.source.is_dir() else ROOT / "corpus"
    paragraphs = load_paragraphs(source)
    if not paragraphs:
        raise SystemExit(f"No text releases found under {source}")
    print(f"{len(paragraphs):,} paragraphs from {source}")
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="index-bench-"))
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            bench_size(size, paragraphs, workdir, args.workers, not args.no_full_rebuild, args.backend)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
