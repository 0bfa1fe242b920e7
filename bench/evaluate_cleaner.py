"""Measure the cleaner against the gold metadata and text of a development corpus.

Usage: python bench/evaluate_cleaner.py [--corpus ../shared/corpus] [--baseline] [--only NAME]

Prints, per folder, title/date/source accuracy and body token F1/recall, and pages per second
on the DOJ folder and the web pages. --baseline scores trafilatura + htmldate on the same HTML
pages, side by side. --corpus may also name one web-pages folder (gold.jsonl, pages/, readability/).
The tests import the evaluate_* functions and assert the same thresholds on the bundled pages.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import re
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from pathlib import Path

import lxml.html

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from indexer.extract.clean import clean_file, iter_pages  # noqa: E402
from indexer.extract.metadata_files import MetadataFiles  # noqa: E402

APOSTROPHES = re.compile(r"['’‘`´]")
# Where the upstream DOJ scraper lost a paragraph it wrote "None", often glued to the next word.
LOST_PARAGRAPH = re.compile(r"None(?!\s+of\b)")
TITLE_SEPARATOR = re.compile(r"\s+[|\-–—:·•»«/_]+\s+|\s*[|·•»«_]\s*")
SEED_TITLE = "U.S. to extend sanctions against Lukashenko regime"
WEB_PAGES = "web_pages_dev"


def fold(text: str) -> str:
    """Return text ASCII-folded and lower-cased, as the DOJ upstream text was written."""
    text = unicodedata.normalize("NFKD", APOSTROPHES.sub("", text))
    return text.encode("ascii", "ignore").decode().lower()


def tokens(text: str, ascii_fold: bool = True) -> Counter:
    """Return the bag of word tokens of a text."""
    text = fold(text) if ascii_fold else APOSTROPHES.sub("", text).lower()
    return Counter(re.findall(r"\w+", text))


def prf(ours: Counter, gold: Counter) -> tuple[float, float, float]:
    """Return token precision, recall and F1 of ours against gold."""
    overlap = sum((ours & gold).values())
    p = overlap / max(1, sum(ours.values()))
    r = overlap / max(1, sum(gold.values()))
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def html_text(html: str) -> str:
    """Return the visible text of an HTML fragment or page."""
    return " ".join(lxml.html.document_fromstring(html).itertext()) if html.strip() else ""


def manifest_rows(folder: Path) -> list[dict]:
    """Return a folder's manifest rows."""
    with open(folder / "manifest.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def baseline(html: str | bytes) -> tuple[str | None, str | None, str]:
    """Return (title, date, body) from trafilatura + htmldate, the usual open-source pair."""
    import htmldate
    import trafilatura

    doc = trafilatura.bare_extraction(html, with_metadata=True)
    date = htmldate.find_date(html, original_date=True, extensive_search=True)
    return (doc.title if doc else None), date, (doc.text if doc else "") or ""


def read_page(path: Path) -> bytes:
    """Return a saved page's bytes, gunzipped when it is stored compressed."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def web_page_cases(folder: Path) -> list[dict]:
    """Return one case per saved page of a web-pages folder, its gold rows merged (a page may have two)."""
    cases: dict[str, dict] = {}
    with open(folder / "gold.jsonl", encoding="utf-8") as f:
        for line in filter(str.strip, f):
            row = json.loads(line)
            case = cases.setdefault(row["file"], {"name": row["file"], "source": row["file"], "snippets": False})
            for key in ("title", "date"):
                if key in row:
                    case[key] = row[key]
            if "must_contain" in row or "must_not_contain" in row:
                case["snippets"] = True
                case.setdefault("must_contain", []).extend(row.get("must_contain", []))
                case.setdefault("must_not_contain", []).extend(row.get("must_not_contain", []))
    listing = folder / "readability.jsonl"
    if listing.is_file():
        with open(listing, encoding="utf-8") as f:
            for line in filter(str.strip, f):
                row = json.loads(line)
                case = {"name": row["source"], "source": row["source"], "expected": row["expected"]}
                case["readability_title"] = row.get("title")
                if row.get("published"):
                    # Readability's publishedTime is the page's own local time: its day is the first ten characters.
                    case["date"] = row["published"][:10]
                cases[row["source"]] = case
    return list(cases.values())


def squash(text: str) -> str:
    """Return text with every run of whitespace made one space, so line breaks do not decide a snippet."""
    return " ".join(text.split())


def snippet_counts(text: str | None, case: dict) -> Counter:
    """Count a page's snippets as trafilatura's evaluation does: tp, fn (must_contain), fp, tn (must_not)."""
    text = squash(text or "")
    counts = Counter()
    for snippet in case.get("must_contain", []):
        counts["tp" if text and squash(snippet) in text else "fn"] += 1
    for snippet in case.get("must_not_contain", []):
        counts["fp" if text and squash(snippet) in text else "tn"] += 1
    return counts


def snippet_f1(counts: Counter) -> float:
    """Return the F1 of snippet counts: precision tp/(tp+fp), recall tp/(tp+fn)."""
    p = counts["tp"] / max(1, counts["tp"] + counts["fp"])
    r = counts["tp"] / max(1, counts["tp"] + counts["fn"])
    return 2 * p * r / (p + r) if p + r else 0.0


def same_title_exactly(ours: str | None, gold: str | None) -> bool:
    """Return True when two titles are equal after whitespace and case folding."""
    return bool(ours and gold) and squash(ours).casefold() == squash(gold).casefold()


def _web_scores() -> dict:
    """Return the empty tallies of one extractor on a web-pages folder."""
    return {
        "pages": 0,
        "lost": 0,
        "snippets": Counter(),
        "snippet_pages": 0,
        "snippet_pages_ok": 0,
        "titled": 0,
        "title_ok": 0,
        "readability_titled": 0,
        "readability_title_ok": 0,
        "dated": 0,
        "date_ok": 0,
        "date_missing": 0,
        "date_wrong": 0,
        "date_invented": 0,
        "f1": {},
        "seconds": 0.0,
        "date_misses": [],
    }


def _score_web_page(scores: dict, case: dict, title: str | None, date: str | None, body: str | None) -> None:
    """Add one extractor's output for one page to its tallies (body None: the page was lost)."""
    scores["pages"] += 1
    scores["lost"] += body is None
    if case.get("snippets"):
        counts = snippet_counts(body, case)
        scores["snippets"] += counts
        scores["snippet_pages"] += 1
        scores["snippet_pages_ok"] += not (counts["fn"] or counts["fp"])
    if case.get("title"):
        scores["titled"] += 1
        scores["title_ok"] += same_title_exactly(title, case["title"])
    if case.get("readability_title"):
        scores["readability_titled"] += 1
        scores["readability_title_ok"] += same_title_exactly(title, case["readability_title"])
    if "date" in case:
        gold = case["date"]
        scores["dated"] += 1
        if date == gold:
            scores["date_ok"] += 1
            return
        # None is the right answer where the annotators found no date; any date there is invented.
        scores["date_missing" if date is None else "date_wrong"] += 1
        scores["date_invented"] += gold is None and date is not None
        scores["date_misses"].append((case["name"], date, gold))


def evaluate_web_pages(folder: Path, with_baseline: bool = False) -> dict:
    """Score pages lost, snippets, titles, dates and Readability body F1 on a web-pages folder, without URLs."""
    result = _web_scores()
    base = _web_scores()
    cases = web_page_cases(folder)
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(cases):
            data = read_page(folder / case["source"])
            # The cleaner reads files; a neutral name gives it no hint but that the page is HTML.
            path = Path(tmp) / f"{i}.html"
            path.write_bytes(data)
            gold_body = None
            if case.get("expected"):
                expected = read_page(folder / case["expected"]).decode("utf-8", errors="replace")
                gold_body = tokens(html_text(expected), ascii_fold=False)
            start = time.perf_counter()
            try:
                doc = clean_file(path, use_metadata_files=False)
            except Exception:  # as `searchapp clean` does: the page is lost, the run goes on
                doc = None
            result["seconds"] += time.perf_counter() - start
            runs = [(result, *((doc.title, doc.date_iso, doc.body) if doc else (None, None, None)))]
            if with_baseline:
                start = time.perf_counter()
                b_title, b_date, b_body = baseline(data)
                base["seconds"] += time.perf_counter() - start
                runs.append((base, b_title, b_date, b_body or None))
            for scores, title, date, body in runs:
                _score_web_page(scores, case, title, date, body)
                if gold_body is not None:
                    scores["f1"][case["name"]] = prf(tokens(body or "", ascii_fold=False), gold_body)[2]
    for scores in (result, base):
        scores["pages_per_second"] = scores["pages"] / scores["seconds"] if scores["seconds"] else 0.0
    if with_baseline:
        result["baseline"] = base
    return result


def same_title(ours: str | None, gold: str | None) -> bool:
    """Return True when ours is the gold title, or the gold title without its site-name parts."""
    if not (ours and gold):
        return False
    parts = [p for p in TITLE_SEPARATOR.split(gold) if p.strip()]
    # Every contiguous run of parts: "Headline | Site" accepts "Headline".
    runs = {re.sub(r"\W+", "", gold.lower())}
    runs |= {
        re.sub(r"\W+", "", " ".join(parts[i:j]).lower())
        for i in range(len(parts))
        for j in range(i + 1, len(parts) + 1)
    }
    return re.sub(r"\W+", "", ours.lower()) in runs


def evaluate_seed(folder: Path) -> dict:
    """Check the brief's sample page comes out clean and complete."""
    path = next(folder.glob("*.txt"))
    doc = clean_file(path)
    raw = path.read_text(encoding="utf-8")
    # The release's paragraphs: everything between the title/source/lede block and "bottom of page".
    gold = [p.strip() for p in raw.split("\n\n") if p.strip()][3:-1]
    return {
        "title": doc.title,
        "title_ok": doc.title == SEED_TITLE,
        "source": doc.source,
        "date": doc.date_iso,
        "date_precision": doc.date.precision if doc.date else None,
        "chrome_left": [c for c in ("top of page", "bottom of page") if c in doc.body.lower()],
        "paragraphs_kept": sum(p in doc.paragraphs for p in gold),
        "paragraphs": len(gold),
    }


def evaluate_doj(folder: Path, with_baseline: bool = False) -> dict:
    """Score titles, dates and bodies on DOJ pages, extracted without the manifest."""
    result = {
        "pages": 0,
        "title_ok": 0,
        "title_folded_ok": 0,
        "date_ok": 0,
        "f1": [],
        "recall": [],
        "seconds": 0.0,
        "misses": [],
    }
    base = {"title_ok": 0, "date_ok": 0, "f1": [], "recall": [], "seconds": 0.0}
    for row in manifest_rows(folder):
        path = folder / row["html_file"]
        html = path.read_text(encoding="utf-8", errors="replace")
        # The page's <h1 id="node-title"> is the authoritative title (the CSV lost apostrophes).
        h1 = lxml.html.document_fromstring(html).get_element_by_id("node-title", None)
        gold_title = " ".join(" ".join(h1.itertext()).split()) if h1 is not None else row["title"]
        start = time.perf_counter()
        doc = clean_file(path, use_metadata_files=False)
        result["seconds"] += time.perf_counter() - start
        result["pages"] += 1
        result["title_ok"] += doc.title == gold_title
        result["title_folded_ok"] += fold(doc.title).split() == fold(row["title"]).split()
        result["date_ok"] += doc.date_iso == row["date"]
        if doc.title != gold_title or doc.date_iso != row["date"]:
            result["misses"].append((path.name, doc.title, gold_title, doc.date_iso, row["date"]))
        gold_text = (folder / row["body_text_file"]).read_text(encoding="utf-8", errors="replace")
        intact = row["body_text_status"] == "ok" and "None" not in gold_text
        gold = tokens(gold_text if intact else LOST_PARAGRAPH.sub(" ", gold_text))
        bodies = [(result, doc.title + " " + doc.body)]
        if with_baseline:
            start = time.perf_counter()
            b_title, b_date, b_body = baseline(html)
            base["seconds"] += time.perf_counter() - start
            base["title_ok"] += (b_title or "") == gold_title
            base["date_ok"] += b_date == row["date"]
            bodies.append((base, b_body))
        for scores, body in bodies:
            if row["body_text_status"] == "ok" and gold:
                _, recall, f1 = prf(tokens(body), gold)
                scores["recall"].append(recall)
                if intact:
                    scores["f1"].append(f1)
    result["pages_per_second"] = result["pages"] / result["seconds"]
    if with_baseline:
        base["pages_per_second"] = result["pages"] / base["seconds"]
        result["baseline"] = base
    return result


def readability_cases(folder: Path) -> list[Path]:
    """Return the case folders (each with source.html, expected.html, expected-metadata.json)."""
    return sorted(p for p in folder.iterdir() if (p / "source.html").is_file())


def evaluate_readability(folder: Path, with_baseline: bool = False) -> dict:
    """Score body F1, titles and dates against Readability's expected output."""
    result = {"f1": {}, "title_ok": 0, "date_ok": 0, "dated": 0}
    base = {"f1": {}, "title_ok": 0, "date_ok": 0}
    for case in readability_cases(folder):
        html = (case / "source.html").read_text(encoding="utf-8", errors="replace")
        gold = tokens(
            html_text((case / "expected.html").read_text(encoding="utf-8", errors="replace")), ascii_fold=False
        )
        meta = json.loads((case / "expected-metadata.json").read_text(encoding="utf-8"))
        gold_date = (meta.get("publishedTime") or "")[:10]
        result["dated"] += bool(gold_date)
        doc = clean_file(case / "source.html", use_metadata_files=False)
        runs = [(result, doc.title, doc.date_iso, doc.body)]
        if with_baseline:
            runs.append((base, *baseline(html)))
        for scores, title, date, body in runs:
            scores["f1"][case.name] = prf(tokens(body, ascii_fold=False), gold)[2]
            scores["title_ok"] += same_title(title, meta.get("title"))
            scores["date_ok"] += bool(gold_date) and date == gold_date
    if with_baseline:
        result["baseline"] = base
    return result


def evaluate_manifests(corpus: Path) -> list[dict]:
    """Check source and date against the manifest for every document of every folder with one."""
    results = []
    metadata = MetadataFiles()
    for folder in sorted(p for p in corpus.iterdir() if (p / "manifest.csv").is_file()):
        gold = {}
        for row in manifest_rows(folder):
            rel = next(row[k] for k in ("html_file", "source_file", "md_file", "text_file") if row.get(k))
            gold[rel] = row
        r = {
            "folder": folder.name,
            "listed": len(gold),
            "docs": 0,
            "failed": 0,
            "has_source": 0,
            "source_ok": 0,
            "has_date": 0,
            "date_ok": 0,
        }
        start = time.perf_counter()
        for path in iter_pages(folder, metadata):
            row = gold[path.relative_to(folder).as_posix()]
            r["docs"] += 1
            try:
                doc = clean_file(path, metadata)
            except Exception:
                r["failed"] += 1
                continue
            want_source = row.get("source_org") or row.get("site_name")
            want_date = (row.get("date") or row.get("published_time") or "")[:10]
            # Where the manifest is silent there is nothing to be right about.
            r["has_source"] += bool(want_source)
            r["has_date"] += bool(want_date)
            r["source_ok"] += bool(want_source) and doc.source == want_source
            r["date_ok"] += bool(want_date) and doc.date_iso == want_date
        r["docs_per_second"] = r["docs"] / (time.perf_counter() - start)
        results.append(r)
    return results


def pct(n: int, d: int) -> str:
    """Return "n/d (p %)"."""
    return f"{n}/{d} ({100 * n / max(1, d):.1f} %)"


def mean(values) -> str:
    """Return the mean of some scores, formatted."""
    values = list(values)
    return f"{statistics.mean(values):.4f} (min {min(values):.4f}, n={len(values)})" if values else "n/a"


def web_page_lines(w: dict) -> list[str]:
    """Return the report lines of one extractor on a web-pages folder."""
    n, s = w["pages"], w["snippets"]
    return [
        f"pages lost (no document): {pct(w['lost'], n)}",
        f"snippets F1 {snippet_f1(s):.4f} (found {s['tp']}/{s['tp'] + s['fn']}, unwanted "
        f"{s['fp']}/{s['fp'] + s['tn']}); pages with every snippet right "
        f"{pct(w['snippet_pages_ok'], w['snippet_pages'])}",
        f"dates exact day: {pct(w['date_ok'], w['dated'])}, missing {w['date_missing']}, wrong {w['date_wrong']} "
        f"(invented where there is none: {w['date_invented']})",
        f"titles exact: {pct(w['title_ok'], w['titled'])}; = Readability's: "
        f"{pct(w['readability_title_ok'], w['readability_titled'])}",
        f"body token F1 vs Readability's text: {mean(w['f1'].values())}",
        f"speed: {w['pages_per_second']:.1f} pages/s",
    ]


def report_web_pages(folder: Path, with_baseline: bool) -> None:
    """Print the web-pages evaluation, the pair's figures beside ours."""
    w = evaluate_web_pages(folder, with_baseline)
    print(f"## {folder.name}/ ({w['pages']} pages, no URLs)")
    extractors = [("cleaner", w)] + ([("trafilatura+htmldate", w["baseline"])] if with_baseline else [])
    for name, scores in extractors:
        print(f"  {name}:")
        for line in web_page_lines(scores):
            print(f"    {line}")
    for miss in w["date_misses"][:40]:
        print("  date miss (page, ours, gold):", miss)


def report(corpus: Path, with_baseline: bool, only: str | None) -> None:
    """Print every evaluation for a corpus laid out like ../shared/corpus, or for one web-pages folder."""
    if (corpus / "gold.jsonl").is_file():
        report_web_pages(corpus, with_baseline)
        return
    if only in (None, "seed") and (corpus / "seed").is_dir():
        s = evaluate_seed(corpus / "seed")
        print("## seed/")
        print(
            f"  title {s['title']!r} ok={s['title_ok']}; source {s['source']!r}; date {s['date']!r} "
            f"({s['date_precision']}); chrome left: {s['chrome_left'] or 'none'}; "
            f"release paragraphs kept {pct(s['paragraphs_kept'], s['paragraphs'])}"
        )
    if only in (None, "doj") and (corpus / "doj_opa_press_releases").is_dir():
        d = evaluate_doj(corpus / "doj_opa_press_releases", with_baseline)
        n = d["pages"]
        print(f"## doj_opa_press_releases/ ({n} pages, manifest ignored)")
        print(
            f"  title exact (vs <h1>): {pct(d['title_ok'], n)}; vs manifest title, folded: "
            f"{pct(d['title_folded_ok'], n)}"
        )
        print(f"  date exact: {pct(d['date_ok'], n)}")
        print(f"  body token F1, intact upstream texts: {mean(d['f1'])}")
        print(f"  body token recall, all pages with upstream text: {mean(d['recall'])}")
        print(f"  speed: {d['pages_per_second']:.1f} pages/s on one core")
        if with_baseline:
            b = d["baseline"]
            print(
                f"  trafilatura+htmldate: title {pct(b['title_ok'], n)}, date {pct(b['date_ok'], n)}, "
                f"F1 {mean(b['f1'])}, recall {mean(b['recall'])}, {b['pages_per_second']:.1f} pages/s"
            )
        for miss in d["misses"][:10]:
            print("  miss:", miss)
    if only in (None, "readability") and (corpus / "readability_testpages_subset").is_dir():
        r = evaluate_readability(corpus / "readability_testpages_subset", with_baseline)
        n = len(r["f1"])
        print(f"## readability_testpages_subset/ ({n} pages, manifest ignored)")
        print(f"  body token F1 vs expected.html: {mean(r['f1'].values())}")
        print(f"  title = Readability's, or it without the site name: {pct(r['title_ok'], n)}")
        print(f"  date = Readability's publishedTime where given: {pct(r['date_ok'], r['dated'])}")
        if with_baseline:
            b = r["baseline"]
            print(
                f"  trafilatura+htmldate: F1 {mean(b['f1'].values())}, title {pct(b['title_ok'], n)}, "
                f"date {pct(b['date_ok'], r['dated'])}"
            )
        print(f"  below 0.90: {[(k, round(v, 3)) for k, v in r['f1'].items() if v < 0.9]}")
    if only in (None, "manifests"):
        print("## every folder with a manifest (manifest and sidecars used): source and date right")
        for m in evaluate_manifests(corpus):
            print(
                f"  {m['folder']}: {m['docs']} docs ({m['listed']} listed), source "
                f"{pct(m['source_ok'], m['has_source'])}, date {pct(m['date_ok'], m['has_date'])}, "
                f"failed {m['failed']}, {m['docs_per_second']:.0f} docs/s"
            )
    if only in (None, "web") and (corpus / WEB_PAGES / "gold.jsonl").is_file():
        report_web_pages(corpus / WEB_PAGES, with_baseline)


def main() -> None:
    """Parse arguments and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--baseline", action="store_true", help="also score trafilatura + htmldate")
    parser.add_argument("--only", choices=["seed", "doj", "readability", "manifests", "web"])
    args = parser.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"No corpus at {args.corpus}: pass --corpus DIR")
    report(args.corpus, args.baseline, args.only)


if __name__ == "__main__":
    main()
