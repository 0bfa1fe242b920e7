"""Measure how often the search puts the release people mean at the top, beside SQLite FTS5 on the same documents.

Usage: python bench/relevance.py [--corpus DIR] [--index DIR|URL] [--workdir DIR] [--backend URL] [--queries FILE]
                                 [--no-peer] [--json]

Builds an index of the corpus with the product's reindex (the one `searchapp reindex` runs), in
--workdir (kept, and brought up to date on the next run) or in a temporary folder; --index reuses
an index as it is. Each judged query of bench/relevance_queries.yaml goes through
`searchapp.search.search`, as `searchapp search` runs it, and its first 10 results are scored:

- hit@1, hit@3: a release of the query's highest grade (the one sought) is first, or in the top 3;
- MRR@10: 1 / the rank of the first release sought, 0 beyond 10;
- nDCG@10: graded gain (2^grade - 1) discounted by log2(rank + 1), over the best order of the judged releases.

Printed per category (and per language for inflected queries) and over all queries, then the
queries whose release sought is not in our top 3, with what came first.

The peer is SQLite FTS5 over the documents the index stores (title and body), tokenizer unicode61
with remove_diacritics 2 and no stemmer, ranked by bm25 with title words weighing twice. Each
query word is an FTS5 string (so `S-400` is the phrase "s 400"), the words are OR-ed, a quoted
phrase stays a phrase, and a word or phrase after `-` is excluded with NOT.

With --no-peer, FTS5 is left out and ours is scored alone: copying a million stored releases into
FTS5 would cost more than the run, and an index that size is measured against the same judged set
on the other backend instead.

A query is skipped, and counted as skipped, when none of its releases sought is in the index: the
judged set covers ../shared/corpus, and corpus/ holds a subset of it. The corpus defaults to
../shared/corpus when present, else corpus/.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.engine.backends import open_view  # noqa: E402
from indexer.index.reindex import reindex  # noqa: E402
from searchapp.index_check import check_index_state  # noqa: E402
from searchapp.search import SearchRequest, search  # noqa: E402

QUERIES = ROOT / "bench" / "relevance_queries.yaml"
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"
BUNDLED_CORPUS = ROOT / "corpus"
CATEGORIES = ("joined", "partial", "inflected", "typo", "cross_script", "exclusion", "topical")
ENGINES = ("ours", "fts5")
METRICS = ("hit@1", "hit@3", "mrr@10", "ndcg@10")
DEPTH = 10
MISS_RANK = 3
FTS_TOKENIZER = "unicode61 remove_diacritics 2"
# bm25 weights of the columns id, title, body: the id is not indexed; title words weigh twice, as in search_bench.py.
FTS_WEIGHTS = (0.0, 2.0, 1.0)
# A quoted phrase, or a run of anything but spaces; either may start with the "-" that excludes it.
QUERY_PART = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class Judged:
    """One judged query: what is typed, its category and language, and document id -> grade."""

    query: str
    category: str
    language: str
    relevant: dict[str, int]

    def present(self, ids: set[str]) -> Judged | None:
        """Return this query judged on the documents in `ids`, or None when none of the releases sought is there."""
        if not ids.intersection(sought(self.relevant)):
            return None
        kept = {doc: grade for doc, grade in self.relevant.items() if doc in ids}
        return Judged(self.query, self.category, self.language, kept)


def load_queries(path: Path = QUERIES) -> list[Judged]:
    """Read the judged set."""
    with open(path, encoding="utf-8") as f:
        entries = yaml.safe_load(f)
    return [
        Judged(e["query"], e["category"], e["language"], {str(k): int(v) for k, v in e["relevant"].items()})
        for e in entries
    ]


# -- metrics ---------------------------------------------------------------------------------------


def sought(relevant: dict[str, int]) -> list[str]:
    """Return the documents of the highest grade: the releases the query is after."""
    if not relevant:
        return []
    top = max(relevant.values())
    return [doc for doc, grade in relevant.items() if grade == top]


def first_rank(ranked: list[str], relevant: dict[str, int]) -> int | None:
    """Return the 1-based rank of the first release sought, None when it is not in `ranked`."""
    wanted = set(sought(relevant))
    return next((i for i, doc in enumerate(ranked, 1) if doc in wanted), None)


def hit_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    """Return 1.0 when a release sought is in the first k, else 0.0."""
    rank = first_rank(ranked[:k], relevant)
    return 1.0 if rank is not None else 0.0


def reciprocal_rank(ranked: list[str], relevant: dict[str, int], k: int = DEPTH) -> float:
    """Return 1 / the rank of the first release sought within the first k, else 0.0."""
    rank = first_rank(ranked[:k], relevant)
    return 1.0 / rank if rank else 0.0


def ndcg(ranked: list[str], relevant: dict[str, int], k: int = DEPTH) -> float:
    """Return the normalised discounted cumulative gain of the first k, with gain 2^grade - 1."""

    def dcg(grades):
        return sum((2**grade - 1) / math.log2(i + 1) for i, grade in enumerate(grades, 1))

    ideal = dcg(sorted(relevant.values(), reverse=True)[:k])
    return dcg([relevant.get(doc, 0) for doc in ranked[:k]]) / ideal if ideal else 0.0


def scores(ranked: list[str], relevant: dict[str, int]) -> dict[str, float]:
    """Return every metric of one ranking."""
    return {
        "hit@1": hit_at(ranked, relevant, 1),
        "hit@3": hit_at(ranked, relevant, 3),
        "mrr@10": reciprocal_rank(ranked, relevant),
        "ndcg@10": ndcg(ranked, relevant),
    }


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    """Return the mean of each metric over queries (zeros for none)."""
    return {m: sum(r[m] for r in rows) / len(rows) if rows else 0.0 for m in METRICS}


# -- the engines -----------------------------------------------------------------------------------


def build_index(corpus: Path, index: Path | str) -> str:
    """Bring an index of the corpus up to date with the product's reindex and return its summary line."""
    return reindex(corpus, index, check=check_index_state).line()


def stored_documents(view) -> list[tuple[str, str, str]]:
    """Return (id, title, body) of every live document of an index view."""
    docs = []
    for docnum in range(view.size):
        if view.live >> docnum & 1:
            fields = view.stored(docnum)
            docs.append((fields["id"], fields.get("title", ""), fields.get("body", "")))
    return docs


def our_search(view, query: str) -> tuple[list[str], list[str], bool]:
    """Return the ids and titles of our first results for a query, and whether the search ran complete."""
    request = SearchRequest.from_args({"q": [query], "per_page": [str(DEPTH)]})
    result = search(view, request)
    hits = result.hits[:DEPTH]
    return [h["id"] for h in hits], [h["title"] for h in hits], result.complete


def fts_database(docs: list[tuple[str, str, str]]) -> sqlite3.Connection:
    """Return an in-memory FTS5 table of the documents."""
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body, tokenize='{FTS_TOKENIZER}')")
    db.executemany("INSERT INTO docs (id, title, body) VALUES (?, ?, ?)", docs)
    db.commit()
    return db


def fts_query(text: str) -> str | None:
    """Return the FTS5 query for what was typed: words OR-ed, phrases kept, `-` as NOT; None when nothing is wanted."""
    wanted, unwanted = [], []
    for match in QUERY_PART.finditer(text):
        negated, phrase, word = match[1], match[2], match[3]
        if word is not None:
            negated, phrase = ("-", word[1:]) if word.startswith("-") and len(word) > 1 else ("", word)
        # FTS5 has no term for a string of punctuation ("-", "'"): leave it out rather than fail.
        if not re.search(r"\w", phrase):
            continue
        (unwanted if negated else wanted).append('"' + phrase.replace('"', '""') + '"')
    if not wanted:
        return None
    expression = " OR ".join(wanted)
    return f"({expression})" + "".join(f" NOT {term}" for term in unwanted)


def fts_search(db: sqlite3.Connection, query: str) -> tuple[list[str], list[str]]:
    """Return the ids and titles of FTS5's first results for a query."""
    expression = fts_query(query)
    if expression is None:
        return [], []
    weights = ", ".join(str(w) for w in FTS_WEIGHTS)
    rows = db.execute(
        f"SELECT id, title FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, {weights}) LIMIT {DEPTH}", (expression,)
    ).fetchall()
    return [r[0] for r in rows], [r[1] for r in rows]


# -- the run ---------------------------------------------------------------------------------------


def evaluate(index: Path | str, judged: list[Judged], peer: bool = True) -> dict:
    """Run every judged query through our search (and FTS5's, with `peer`) on one index and return the report."""
    engines = ENGINES if peer else ENGINES[:1]
    with open_view(index) as view:
        searches = {"ours": lambda text: our_search(view, text)}
        fts_build = None
        if peer:
            docs = stored_documents(view)
            ids = {doc_id for doc_id, _, _ in docs}
            started = time.perf_counter()
            db = fts_database(docs)
            fts_build = round(time.perf_counter() - started, 2)
            searches["fts5"] = lambda text: (*fts_search(db, text), True)
        else:
            ids = {doc_id for query in judged for doc_id in query.relevant if view.docnum(doc_id) is not None}
        documents = view.doc_count()
        runs, skipped, seconds = [], [], dict.fromkeys(engines, 0.0)
        for query in judged:
            present = query.present(ids)
            if present is None:
                skipped.append(query.query)
                continue
            run = {"query": present.query, "category": present.category, "language": present.language}
            for engine in engines:
                started = time.perf_counter()
                ranked, titles, complete = searches[engine](present.query)
                seconds[engine] += time.perf_counter() - started
                run[engine] = {
                    "rank": first_rank(ranked, present.relevant),
                    "first": titles[0] if titles else None,
                    "ids": ranked,
                    "complete": complete,
                    **scores(ranked, present.relevant),
                }
            runs.append(run)
    return {
        "documents": documents,
        "engines": list(engines),
        "queries": len(runs),
        "skipped": skipped,
        "fts5_build_seconds": fts_build,
        "query_ms": {e: round(1000 * seconds[e] / max(1, len(runs)), 1) for e in engines},
        "cut_short": sum(not r["ours"]["complete"] for r in runs),
        "groups": summarise(runs, engines),
        "misses": {e: [_miss(r, e) for r in runs if (r[e]["rank"] or DEPTH + 1) > MISS_RANK] for e in engines},
        "runs": runs,
    }


def summarise(runs: list[dict], engines: tuple[str, ...] = ENGINES) -> list[dict]:
    """Return the metrics of each engine per category, per language of inflected queries, and overall."""
    groups = [(c, [r for r in runs if r["category"] == c]) for c in CATEGORIES]
    languages = sorted({r["language"] for r in runs if r["category"] == "inflected"})
    groups += [
        (f"inflected:{lang}", [r for r in runs if r["category"] == "inflected" and r["language"] == lang])
        for lang in languages
    ]
    groups.append(("overall", runs))
    return [
        {"group": name, "queries": len(rows), **{e: mean_scores([r[e] for r in rows]) for e in engines}}
        for name, rows in groups
        if rows
    ]


def _miss(run: dict, engine: str) -> dict:
    """Return what a report says of a query whose release sought is not in an engine's top 3."""
    result = run[engine]
    return {"query": run["query"], "category": run["category"], "rank": result["rank"], "first": result["first"]}


def format_report(report: dict) -> str:
    """Return the report as text tables."""
    engines = report["engines"]
    head = f"{'group':<16} {'n':>3}  " + "  ".join(f"{e + ' ' + m:>12}" for m in METRICS for e in engines)
    fts5 = f"fts5 {report['query_ms']['fts5']} ms/query; " if "fts5" in engines else "fts5 left out; "
    lines = [
        f"corpus:   {report['corpus'] or '-'}",
        f"index:    {report['index']} ({report['documents']} documents; {report['build']})",
        f"queries:  {report['queries']} judged; {len(report['skipped'])} skipped, their releases not in this corpus",
        f"time:     ours {report['query_ms']['ours']} ms/query ({report['cut_short']} cut short by the time budget), "
        f"{fts5}whole run {report['seconds']} s",
        "",
        head,
        "-" * len(head),
    ]
    for group in report["groups"]:
        cells = "  ".join(f"{group[e][m]:>12.2f}" for m in METRICS for e in engines)
        lines.append(f"{group['group']:<16} {group['queries']:>3}  {cells}")
    misses = report["misses"]["ours"]
    lines += ["", f"Release sought not in our top {MISS_RANK} ({len(misses)}):"]
    for miss in misses:
        rank = f"rank {miss['rank']}" if miss["rank"] else f"not in top {DEPTH}"
        first = miss["first"] if miss["first"] is not None else "(no results)"
        lines.append(f"  [{miss['category']}] {miss['query']!r}: {rank}; first: {first[:80]}")
    return "\n".join(lines)


def main() -> None:
    """Parse arguments, build or reuse the index, and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_corpus = SHARED_CORPUS if SHARED_CORPUS.is_dir() else BUNDLED_CORPUS
    parser.add_argument("--corpus", type=Path, default=default_corpus, help="folder of pages to index")
    parser.add_argument("--index", help="reuse this index (folder or PostgreSQL URL) as it is")
    parser.add_argument("--workdir", type=Path, help="build the index here and keep it (default: a temporary folder)")
    parser.add_argument("--queries", type=Path, default=QUERIES, help="the judged set")
    parser.add_argument("--backend", help="build into this PostgreSQL database (URL) and search it there")
    parser.add_argument("--no-peer", action="store_true", help="score ours alone, without FTS5 (for large indexes)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args()
    started = time.perf_counter()
    judged = load_queries(args.queries)
    workdir = None
    if args.index:
        index, build = args.index, "reused"
    elif args.backend:
        index, build = args.backend, build_index(args.corpus, args.backend)
    else:
        if not args.corpus.is_dir():
            sys.exit(f"No corpus at {args.corpus}: pass --corpus DIR")
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="relevance-"))
        index = workdir / "index"
        build = build_index(args.corpus, index)
    try:
        report = {"corpus": None if args.index else str(args.corpus), "index": str(index), "build": build}
        report.update(evaluate(index, judged, peer=not args.no_peer))
    finally:
        if workdir is not None and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_report(report))


if __name__ == "__main__":
    main()
