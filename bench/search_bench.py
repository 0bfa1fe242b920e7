"""Measure /api/search latency through HTTP, beside SQLite FTS5 doing the same work on the same documents.

Usage: python bench/search_bench.py [--sizes 10000,100000] [--queries 300] [--workdir DIR]
                                    [--warmup 20] [--threaded]

For each size, builds (or, with --workdir, reuses) the deterministic corpus of bench/index_bench.py,
its Whoosh index, and an SQLite FTS5 database of the same stored documents. Each engine is served
by the same kind of server: a Flask app on werkzeug's `make_server`, in its own process on
127.0.0.1. One client thread sends the same queries to both, alternating, with `urllib`: every
request is distinct and no request carries a validator, so nothing is served from a cache. The
warm-up queries are dropped.

Each request does the whole work of a result page: the top 10 by relevance (title words weigh
twice as much) or by date, a snippet per hit, the total, counts per source and per year with
every other filter applied (and per month when a year is selected), and the undated count.
FTS5 uses bm25 with weights 2:1, snippet(), and one GROUP BY over the matches for all counts.
FTS5 has no spelling variants: for a misspelt word ("typo") it searches the word as typed, so
that row is not like for like. "totals differ" counts the queries whose totals differ by more
than 5 %: the stemmers differ (Porter against Snowball) and our typo queries add close words.

The queries, about 300 by default, are drawn with a fixed seed from the words, word pairs and
sources of the corpus: single common and rare words, AND of 2 and 3 words found together, quoted
phrases, OR, exclusion, a source, a year, a date range, browsing newest first, and misspellings.

The server is single-threaded by default, like a sync worker: the app keeps one searcher per
thread, and a thread-per-request server (--threaded) would open a new one for every request.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.util
import json
import math
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = 20240502
PER_PAGE = 10
WARMUP = 20
# Queries are drawn from the first documents, so every size gets the same queries.
VOCABULARY_DOCS = 3000
SNIPPET_WORDS = 36
FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
STOP_WORDS = set(
    """a about after all also an and any are as at be been but by can could did do does for from
had has have he her his i if in into is it its more most my no not of on one or our out over said she so than
that the their them then there these they this those to under up was we were what when which while who will
with would you your""".split()
)
# Per size: p50 and p95 ms through HTTP that the search should meet, and whether it should beat FTS5.
TARGETS = {10_000: (8, 40, False), 100_000: (20, 150, True)}
KINDS = ("common", "rare", "and2", "and3", "phrase", "or", "exclude", "source", "year", "range", "browse", "typo")


def load_index_bench():
    """Import bench/index_bench.py, which generates the corpora."""
    spec = importlib.util.spec_from_file_location("index_bench", ROOT / "bench" / "index_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- building: corpus, Whoosh index, FTS5 database -------------------------------------------------


def prepare(size: int, workdir: Path, source: Path, workers: int | None) -> tuple[Path, Path, Path]:
    """Return the corpus, index and FTS5 database of one size, building whatever is missing."""
    index_bench = load_index_bench()
    from indexer.engine.storage import current_generation

    corpus, index = workdir / f"corpus-{size}", workdir / f"var-{size}" / "index"
    database = workdir / f"fts5-{size}.sqlite"
    # The manifest is written last: a corpus without one was interrupted.
    if not (corpus / "manifest.csv").is_file():
        started = time.perf_counter()
        shutil.rmtree(corpus, ignore_errors=True)
        index_bench.write_corpus(corpus, size, index_bench.load_paragraphs(source))
        print(f"corpus of {size:,} written in {time.perf_counter() - started:.0f} s", flush=True)
    if current_generation(index) is None:
        built = index_bench.run_reindex(corpus, index, workers=workers)
        print(f"Whoosh index built in {built['seconds']:.0f} s ({size / built['seconds']:.0f} docs/s)", flush=True)
    if not database.is_file():
        started = time.perf_counter()
        build_fts5(index, database)
        print(f"FTS5 database built in {time.perf_counter() - started:.0f} s", flush=True)
    return corpus, index, database


def build_fts5(index: Path, database: Path) -> None:
    """Write an FTS5 database of the documents stored in the Whoosh index (the same cleaned text)."""
    from indexer.engine.storage import open_view

    partial = database.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    db = sqlite3.connect(partial)
    db.executescript(f"""
        CREATE TABLE docs(id INTEGER PRIMARY KEY, doc_id TEXT, title TEXT, body TEXT, url TEXT, source TEXT,
                          year INTEGER, month INTEGER, date INTEGER, date_iso TEXT);
        CREATE VIRTUAL TABLE fts USING fts5(title, body, content='docs', content_rowid='id',
                                            tokenize='{FTS_TOKENIZER}');
    """)
    with open_view(index) as view:
        rows = (
            (
                f.get("id"),
                f.get("title", ""),
                f.get("body", ""),
                f.get("url"),
                f.get("source", ""),
                f.get("year", 0),
                f.get("month", 0),
                f.get("date", 0),
                f.get("date_iso"),
            )
            for f in map(view.stored, sorted(view.column("source")))
        )
        db.executemany(
            "INSERT INTO docs(doc_id, title, body, url, source, year, month, date, date_iso) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    db.executescript("""
        INSERT INTO fts(rowid, title, body) SELECT id, title, body FROM docs;
        INSERT INTO fts(fts) VALUES ('optimize');
        CREATE INDEX docs_date ON docs(date);
        CREATE INDEX docs_source_date ON docs(source, date);
        CREATE INDEX docs_year_date ON docs(year, date);
        ANALYZE;
    """)
    db.commit()
    db.close()
    partial.rename(database)


# -- the query mix -----------------------------------------------------------------------------------


def load_vocabulary(corpus: Path) -> dict:
    """Return the words, word pairs and sources of the corpus's first documents, to draw queries from."""
    with open(corpus / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    sample = rows[:VOCABULARY_DOCS]
    docs, df, pairs = [], Counter(), Counter()
    for row in sample:
        words = re.findall(r"[A-Za-z]+", (corpus / row["text_file"]).read_text(encoding="utf-8").lower())
        # Sorted, so that drawing from a document does not depend on the hash seed.
        docs.append(sorted(set(words)))
        df.update(set(w for w in words if len(w) >= 3))
        for a, b in zip(words, words[1:]):
            if len(a) >= 3 and len(b) >= 3 and a not in STOP_WORDS and b not in STOP_WORDS:
                pairs[a, b] += 1
    ranked = [
        w for w, _ in sorted(df.items(), key=lambda item: (-item[1], item[0])) if w not in STOP_WORDS and len(w) >= 4
    ]
    sources = Counter(row["source_org"] for row in sample if row["source_org"])
    return {
        "docs": docs,
        "known": set(df),
        "common": ranked[:150],
        "mid": ranked[150:1500],
        "rare": sorted(w for w, n in df.items() if n <= 2 and len(w) >= 6 and w not in STOP_WORDS),
        "phrases": [" ".join(p) for p, _ in pairs.most_common(400)],
        "sources": [s for s, _ in sources.most_common(8)],
    }


def make_queries(vocabulary: dict, count: int, seed: str) -> list[dict]:
    """Return `count` distinct requests of every kind, drawn deterministically from the vocabulary.

    Each request is {"kind", "q", "fts", "source", "year", "from", "to", "page"}: "q" in our syntax,
    "fts" the same query in FTS5 syntax (words quoted, so none is read as an operator).
    """
    docs, common, mid, rare = vocabulary["docs"], vocabulary["common"], vocabulary["mid"], vocabulary["rare"]
    phrases, source_names = vocabulary["phrases"], vocabulary["sources"]
    frequent = set(common) | set(mid)
    rng = random.Random(seed)

    def word_set(n):
        # Words that occur together in one document, as a user looking for it would type them.
        words = [w for w in rng.choice(docs) if w in frequent]
        return sorted(rng.sample(words, n)) if len(words) >= n else [rng.choice(common) for _ in range(n)]

    def typo(word):
        i = rng.randrange(1, len(word) - 1)
        edits = [
            word[:i] + word[i + 1 :],
            word[:i] + word[i + 1] + word[i] + word[i + 2 :],
            word[:i] + rng.choice("aeiourstn") + word[i + 1 :],
        ]
        wrong = [e for e in edits if e not in vocabulary["known"] and e != word]
        return rng.choice(wrong) if wrong else word[:-1] + "q"

    def date_range():
        start = dt.date(2004, 1, 1) + dt.timedelta(days=rng.randrange(19 * 365))
        return start, start + dt.timedelta(days=rng.randrange(90, 540))

    def one(kind):
        r = {"kind": kind, "q": "", "fts": "", "source": None, "year": None, "from": None, "to": None, "page": 1}
        if kind == "common":
            words = [rng.choice(common)]
        elif kind == "rare":
            words = [rng.choice(rare)]
        elif kind in ("and2", "and3"):
            words = word_set(int(kind[-1]))
        elif kind == "phrase":
            phrase = rng.choice(phrases)
            r["q"], r["fts"] = f'"{phrase}"', f'"{phrase}"'
            return r
        elif kind == "or":
            a, b = rng.sample(mid, 2)
            r["q"], r["fts"] = f"{a} OR {b}", f'"{a}" OR "{b}"'
            return r
        elif kind == "exclude":
            a, b = rng.choice(common), rng.choice(common + mid)
            r["q"], r["fts"] = f"{a} -{b}", f'"{a}" NOT "{b}"'
            return r
        elif kind == "typo":
            # Long words: a slip of the finger in "youth" makes another word more often than a typo.
            words = [typo(rng.choice([w for w in common + mid if len(w) >= 6]))]
        elif kind == "browse":
            r["page"] = rng.randint(1, 30)
            return r
        else:
            words = [rng.choice(common + mid)]
            if kind == "source":
                r["source"] = rng.choice(source_names)
            elif kind == "year":
                r["year"] = rng.randint(2004, 2023)
            else:
                r["from"], r["to"] = date_range()
        r["q"], r["fts"] = " ".join(words), " ".join(f'"{w}"' for w in words)
        return r

    queries, seen = [], set()
    per_kind = math.ceil(count / len(KINDS))
    for kind in KINDS:
        made = 0
        for _ in range(per_kind * 20):
            r = one(kind)
            key = (r["q"], r["source"], r["year"], r["from"], r["page"])
            if key not in seen:
                seen.add(key)
                queries.append(r)
                made += 1
            if made == per_kind:
                break
    # Kinds interleaved, so a slow spell on the machine hits every kind alike.
    rng.shuffle(queries)
    return queries[:count]


def api_args(r: dict) -> list[tuple[str, str]]:
    """Return the URL parameters of a request, the same for both servers."""
    args = [("q", r["q"])] if r["q"] else []
    if r["source"]:
        args.append(("source", r["source"]))
    if r["year"]:
        args.append(("year", str(r["year"])))
    if r["from"]:
        args += [("from", r["from"].isoformat()), ("to", r["to"].isoformat())]
    if r["page"] != 1:
        args.append(("page", str(r["page"])))
    if r["kind"] == "browse":
        args.append(("sort", "newest"))
    return args


# -- the FTS5 server: the same result page from SQLite ------------------------------------------------


def fts5_app(database: Path):
    """Return a Flask app answering /api/search from an FTS5 database, with our API's result shape."""
    from flask import Flask, jsonify, request

    app = Flask("fts5")
    local = threading.local()

    def connection():
        if not hasattr(local, "db"):
            local.db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, check_same_thread=False)
        return local.db

    @app.get("/api/search")
    def api_search():
        return jsonify(fts5_search(connection(), request.args))

    return app


def fts5_search(db: sqlite3.Connection, args) -> dict:
    """Return a result page: top hits with snippets, total, source/year/month facets and undated count."""
    q = args.get("fts", "")
    sources = args.getlist("source")
    year = int(args["year"]) if args.get("year") else None
    low = int(args["from"].replace("-", "")) if args.get("from") else None
    high = int(args["to"].replace("-", "")) if args.get("to") else None
    page = int(args.get("page", 1))
    in_range = "(docs.year != 0 AND docs.date BETWEEN ? AND ?)" if low else "1"
    range_params = [low, high] if low else []

    # One pass over the matches gives every count: grouped rows, summed per facet below.
    month = "docs.month" if year else "0"
    match = "FROM fts JOIN docs ON docs.id = fts.rowid WHERE fts MATCH ?" if q else "FROM docs"
    groups = db.execute(
        f"SELECT docs.source, docs.year, {month}, {in_range}, count(*) {match} GROUP BY 1, 2, 3, 4",
        range_params + ([q] if q else []),
    ).fetchall()
    by_source, by_year, by_month, total, undated = Counter(), Counter(), Counter(), 0, 0
    for source, y, m, ranged, n in groups:
        source_ok = not sources or source in sources
        year_ok = year is None or y == year
        if source_ok and y == 0:
            undated += n
        if not ranged:
            continue
        if year_ok:
            by_source[source] += n
        if source_ok:
            if y:
                by_year[y] += n
            if year_ok and m:
                by_month[m] += n
            if year_ok:
                total += n

    where, params = [], []
    if sources:
        where.append(f"docs.source IN ({','.join('?' * len(sources))})")
        params += sources
    if year:
        where.append("docs.year = ?")
        params.append(year)
    if low:
        where.append(in_range)
        params += range_params
    filters = "".join(f" AND {w}" for w in where)
    offset = (page - 1) * PER_PAGE
    if q:
        rows = db.execute(
            "SELECT docs.doc_id, docs.title, docs.url, docs.source, docs.date_iso, docs.year, "
            "highlight(fts, 0, '<mark>', '</mark>'), "
            f"snippet(fts, 1, '<mark>', '</mark>', '…', {SNIPPET_WORDS}) "
            f"FROM fts JOIN docs ON docs.id = fts.rowid WHERE fts MATCH ?{filters} "
            "ORDER BY bm25(fts, 2.0, 1.0) LIMIT ? OFFSET ?",
            [q] + params + [PER_PAGE, offset],
        ).fetchall()
    else:
        rows = db.execute(
            "SELECT doc_id, title, url, source, date_iso, year, title, substr(body, 1, 250) "
            # Undated documents have keys below 10000 (no year), so they come last.
            f"FROM docs WHERE 1{filters} ORDER BY docs.date DESC LIMIT ? OFFSET ?",
            params + [PER_PAGE, offset],
        ).fetchall()
    hits = [
        {
            "id": r[0],
            "title": r[1],
            "url": r[2],
            "source": r[3],
            "date": r[4],
            "year": r[5] or None,
            "title_html": r[6],
            "snippet_html": r[7],
        }
        for r in rows
    ]
    return {
        "ok": True,
        "status": 200,
        "total": total,
        "results": hits,
        "facets": {
            "source": [{"value": s, "count": n} for s, n in sorted(by_source.items(), key=lambda x: -x[1]) if s],
            "year": [{"value": y, "count": n} for y, n in sorted(by_year.items())],
            "month": [{"value": m, "count": n} for m, n in sorted(by_month.items())],
            "undated": {"count": undated},
        },
    }


# -- serving and measuring ---------------------------------------------------------------------------


def serve(engine: str, path: str, threaded: bool) -> None:
    """Serve one engine on a free port of 127.0.0.1; print the port, then serve until killed."""
    import logging

    from werkzeug.serving import make_server

    # One log line per request would cost the client's terminal more than the search.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if engine == "whoosh":
        from searchapp import create_app

        app = create_app({"INDEX": path})
    else:
        app = fts5_app(Path(path))
    server = make_server("127.0.0.1", 0, timed(app), threaded=threaded)
    print(server.server_port, flush=True)
    server.serve_forever()


def timed(app):
    """Wrap a WSGI app so each response says how long the app took (X-App-Ms), to show HTTP's share."""

    def wrapper(environ, start_response):
        started = time.perf_counter()

        def start(status, headers, exc_info=None):
            headers.append(("X-App-Ms", f"{(time.perf_counter() - started) * 1000:.3f}"))
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return wrapper


class Server:
    """A server process for one engine, stopped when the block ends."""

    def __init__(self, engine: str, path: Path, threaded: bool):
        command = [sys.executable, __file__, "--serve", engine, str(path)] + (["--threaded"] if threaded else [])
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.strip().isdigit():
            self.process.kill()
            raise SystemExit(f"the {engine} server did not start")
        self.base = f"http://127.0.0.1:{line.strip()}/api/search"

    def get(self, args: list[tuple[str, str]]) -> tuple[float, float, dict]:
        """Return (ms through HTTP, ms in the app, parsed JSON) of one request."""
        url = f"{self.base}?{urllib.parse.urlencode(args)}"
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=120) as response:
            body = response.read()
            app_ms = float(response.headers.get("X-App-Ms", "nan"))
        elapsed = (time.perf_counter() - started) * 1000
        return elapsed, app_ms, json.loads(body)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile of values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else float("nan")


def bench_size(size: int, workdir: Path, args) -> dict:
    """Measure both engines on one corpus size and print the table."""
    corpus, index, database = prepare(size, workdir, args.source, args.workers)
    vocabulary = load_vocabulary(corpus)
    measured = make_queries(vocabulary, args.queries, f"{SEED}-queries")
    # Warm-up queries are other queries of the same kinds: the measured ones stay the same
    # whatever the warm-up, and none is repeated.
    keys = {(r["q"], r["source"], r["year"], r["from"], r["page"]) for r in measured}
    warmup = (
        [
            r
            for r in make_queries(vocabulary, args.warmup, f"{SEED}-warmup")
            if (r["q"], r["source"], r["year"], r["from"], r["page"]) not in keys
        ]
        if args.warmup
        else []
    )
    times = {"ours": defaultdict(list), "fts5": defaultdict(list)}
    app_times = {"ours": [], "fts5": []}
    disagree = Counter()
    with Server("whoosh", index, args.threaded) as ours, Server("fts5", database, args.threaded) as fts5:
        for r in warmup:
            ours.get(api_args(r))
            fts5.get(api_args(r) + [("fts", r["fts"])])
        for r in measured:
            ours_ms, ours_app, ours_page = ours.get(api_args(r))
            fts_ms, fts_app, fts_page = fts5.get(api_args(r) + [("fts", r["fts"])])
            for engine, ms, app_ms in (("ours", ours_ms, ours_app), ("fts5", fts_ms, fts_app)):
                times[engine][r["kind"]].append(ms)
                times[engine]["all"].append(ms)
                app_times[engine].append(app_ms)
            # Different analysis (stemmers, typo variants) gives different totals; say how often.
            if abs(ours_page["total"] - fts_page["total"]) > max(2, 0.05 * fts_page["total"]):
                disagree[r["kind"]] += 1
    print_table(size, times, app_times, disagree)
    return {
        engine: {kind: (percentile(v, 0.5), percentile(v, 0.95)) for kind, v in kinds.items()}
        for engine, kinds in times.items()
    }


def print_table(size: int, times, app_times, disagree) -> None:
    """Print p50/p95 per query kind for both engines, their ratio, and how often the totals disagree."""
    print(f"\n== {size:,} documents: ms through HTTP (ours = Whoosh app, fts5 = SQLite FTS5 app)")
    print(
        f"{'kind':<8} {'n':>4} {'ours p50':>9} {'p95':>7} {'fts5 p50':>9} {'p95':>7} "
        f"{'ratio p50':>9} {'p95':>6}  totals differ"
    )
    for kind in ("all",) + KINDS:
        ours, fts = times["ours"].get(kind), times["fts5"].get(kind)
        if not ours:
            continue
        o50, o95, f50, f95 = (
            percentile(ours, 0.5),
            percentile(ours, 0.95),
            percentile(fts, 0.5),
            percentile(fts, 0.95),
        )
        differ = sum(disagree.values()) if kind == "all" else disagree[kind]
        print(
            f"{kind:<8} {len(ours):>4} {o50:>9.1f} {o95:>7.1f} {f50:>9.1f} {f95:>7.1f} "
            f"{o50 / f50:>9.2f} {o95 / f95:>6.2f}  {differ}"
        )
    ours, fts = times["ours"]["all"], times["fts5"]["all"]
    target = TARGETS.get(size)
    if target:
        print(
            f"target: p50 <= {target[0]} ms and p95 <= {target[1]} ms"
            + (" and ahead of FTS5" if target[2] else "")
            + f": ours {percentile(ours, 0.5):.1f} / "
            f"{percentile(ours, 0.95):.1f} ms, FTS5 {percentile(fts, 0.5):.1f} / {percentile(fts, 0.95):.1f} ms"
        )
    for engine in ("ours", "fts5"):
        app, http = app_times[engine], times[engine]["all"]
        print(
            f"{engine}: in the app p50 {percentile(app, 0.5):.1f} / p95 {percentile(app, 0.95):.1f} ms; "
            f"HTTP, JSON and client add p50 {percentile(http, 0.5) - percentile(app, 0.5):.1f} ms"
        )
    sys.stdout.flush()


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="Comma-separated corpus sizes.")
    parser.add_argument("--queries", type=int, default=300, help="Measured queries per size.")
    parser.add_argument(
        "--warmup",
        type=int,
        default=WARMUP,
        help="Other queries sent first and not measured (more: a server that has run a while).",
    )
    parser.add_argument("--workdir", type=Path, help="Keep corpora, indexes and databases here and reuse them.")
    parser.add_argument("--source", type=Path, help="Corpus to take paragraphs from (default: index_bench's).")
    parser.add_argument("--workers", type=int, help="Cleaning processes for building the index.")
    parser.add_argument("--threaded", action="store_true", help="Serve with a thread per request.")
    parser.add_argument("--serve", nargs=2, metavar=("ENGINE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve, args.threaded)
        return

    if args.source is None:
        index_bench = load_index_bench()
        args.source = index_bench.SHARED_CORPUS if index_bench.SHARED_CORPUS.is_dir() else ROOT / "corpus"
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="search-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            bench_size(size, workdir, args)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
