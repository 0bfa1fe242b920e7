"""The cleaner benchmark's scoring of a web-pages folder: merged gold rows, snippets, dates, lost pages."""

from __future__ import annotations

import gzip
import json
from collections import Counter

import pytest

ARTICLE = """<!doctype html><html lang="en"><head><title>Rivers are cleaner | Example News</title>
<meta property="article:published_time" content="2021-03-04T10:00:00Z"></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Rivers are cleaner</h1>
<p>The water agency said on Thursday that the rivers of the region are cleaner than they were ten years ago,
after a decade of work on the sewers and the farms along their banks.</p>
<p>Fish have come back to stretches where none were seen before, and the agency will publish its full report
next month with the measurements of every station.</p></article>
<footer>Copyright Example News</footer></body></html>"""
UNDATED = """<!doctype html><html lang="en"><head><title>About the agency</title></head><body>
<main><h1>About the agency</h1><p>The agency looks after the rivers, the lakes and the coast of the region,
and answers questions from the public about the water they drink and swim in.</p></main></body></html>"""


def write_gz(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(text.encode("utf-8")))


@pytest.fixture()
def web_pages(tmp_path):
    """A web-pages folder laid out like the shared one: gold.jsonl, pages/, readability/."""
    write_gz(tmp_path / "pages" / "a.html.gz", ARTICLE)
    write_gz(tmp_path / "pages" / "b.html.gz", UNDATED)
    write_gz(tmp_path / "pages" / "empty.html.gz", "<html><body></body></html>")
    write_gz(tmp_path / "readability" / "r" / "source.html.gz", ARTICLE)
    write_gz(tmp_path / "readability" / "r" / "expected.html.gz", "<p>The water agency said on Thursday</p>")
    rows = [
        {
            "file": "pages/a.html.gz",
            "title": "Rivers are cleaner",
            "must_contain": ["rivers of the region are cleaner", "Fish have come back"],
            "must_not_contain": ["Copyright Example News"],
        },
        # The same page annotated again for its date only: one page, not two.
        {"file": "pages/a.html.gz", "date": "2021-03-04"},
        {"file": "pages/b.html.gz", "date": None, "title": "About the agency"},
        {"file": "pages/empty.html.gz", "date": "2020-01-01"},
    ]
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    readability = {
        "case": "r",
        "title": "Rivers are cleaner | Example News",
        "published": "2021-03-04T10:00:00-04:00",
        "source": "readability/r/source.html.gz",
        "expected": "readability/r/expected.html.gz",
    }
    (tmp_path / "readability.jsonl").write_text(json.dumps(readability) + "\n", encoding="utf-8")
    return tmp_path


def test_a_page_annotated_twice_is_one_case(evaluation, web_pages):
    cases = {c["name"]: c for c in evaluation.web_page_cases(web_pages)}
    assert len(cases) == 4
    page = cases["pages/a.html.gz"]
    assert (page["title"], page["date"], page["snippets"]) == ("Rivers are cleaner", "2021-03-04", True)
    assert cases["pages/b.html.gz"]["date"] is None and not cases["pages/b.html.gz"]["snippets"]
    assert cases["readability/r/source.html.gz"]["date"] == "2021-03-04"


def test_snippets_are_counted_as_trafilatura_counts_them(evaluation):
    case = {"must_contain": ["a b", "c d"], "must_not_contain": ["e", "f"]}
    counts = evaluation.snippet_counts("x a\nb e", case)
    assert counts == Counter({"tp": 1, "fn": 1, "fp": 1, "tn": 1})
    assert evaluation.snippet_f1(counts) == pytest.approx(0.5)
    # A lost page finds nothing and lets nothing in.
    assert evaluation.snippet_counts(None, case) == Counter({"fn": 2, "tn": 2})


def test_titles_compare_after_whitespace_and_case_folding(evaluation):
    assert evaluation.same_title_exactly("Rivers  are\nCleaner", "rivers are cleaner")
    assert not evaluation.same_title_exactly("Rivers are cleaner", "Rivers are cleaner | Example News")
    assert not evaluation.same_title_exactly(None, "Rivers")


def test_the_cleaner_is_scored_on_every_page(evaluation, web_pages):
    result = evaluation.evaluate_web_pages(web_pages)
    assert result["pages"] == 4 and result["lost"] == 1
    assert result["snippets"] == Counter({"tp": 2, "tn": 1})
    assert (result["snippet_pages"], result["snippet_pages_ok"]) == (1, 1)
    assert (result["titled"], result["title_ok"]) == (2, 2)
    # The empty page's date is missing; the undated page is right to have none.
    assert (result["dated"], result["date_ok"], result["date_missing"], result["date_wrong"]) == (4, 3, 1, 0)
    assert result["date_misses"] == [("pages/empty.html.gz", None, "2020-01-01")]
    assert set(result["f1"]) == {"readability/r/source.html.gz"}
    assert result["pages_per_second"] > 0
    assert "baseline" not in result


def test_a_date_where_there_is_none_counts_as_invented(evaluation):
    scores = evaluation._web_scores()
    evaluation._score_web_page(scores, {"name": "p", "date": None}, "T", "2020-01-01", "body")
    assert (scores["date_wrong"], scores["date_invented"], scores["date_ok"]) == (1, 1, 0)


def test_the_report_runs_on_a_web_pages_folder_alone(evaluation, web_pages, capsys):
    evaluation.report(web_pages, with_baseline=False, only=None)
    out = capsys.readouterr().out
    assert out.startswith(f"## {web_pages.name}/ (4 pages, no URLs)")
    assert "dates exact day: 3/4 (75.0 %), missing 1, wrong 0" in out
