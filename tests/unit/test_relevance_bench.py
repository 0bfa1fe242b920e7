"""The relevance benchmark's metrics, its FTS5 peer's query translation, and the judged set's shape."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_relevance():
    """Import bench/relevance.py, which is a script rather than a package module."""
    spec = importlib.util.spec_from_file_location("relevance_bench", ROOT / "bench" / "relevance.py")
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up in sys.modules while the class is made.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


relevance = load_relevance()
RANKED = ["x", "a", "b", "c"]
GRADED = {"a": 2, "b": 1}


@pytest.mark.parametrize(
    ("ranked", "relevant", "k", "expected"),
    [
        (RANKED, GRADED, 1, 0.0),
        (RANKED, GRADED, 2, 1.0),
        (RANKED, GRADED, 3, 1.0),
        # Only the highest grade is the release sought: a grade 1 first is not a hit.
        (["b", "x", "a"], GRADED, 1, 0.0),
        (["b", "x", "a"], GRADED, 3, 1.0),
        # Any of several releases sought counts.
        (["y", "c"], {"b": 2, "c": 2}, 2, 1.0),
        ([], GRADED, 3, 0.0),
    ],
)
def test_hit_at(ranked, relevant, k, expected):
    assert relevance.hit_at(ranked, relevant, k) == expected


@pytest.mark.parametrize(
    ("ranked", "relevant", "expected"),
    [
        (RANKED, GRADED, 1 / 2),
        (["b", "x", "a"], GRADED, 1 / 3),
        (["a"], GRADED, 1.0),
        (["x"] * 10 + ["a"], GRADED, 0.0),
        ([], GRADED, 0.0),
    ],
)
def test_reciprocal_rank(ranked, relevant, expected):
    assert relevance.reciprocal_rank(ranked, relevant) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("ranked", "relevant", "expected"),
    [
        # DCG (2^2-1)/log2(3) + (2^1-1)/log2(4) = 2.39279; ideal 3/log2(2) + 1/log2(3) = 3.63093.
        (["x", "a", "b"], GRADED, 0.659002),
        (["a", "b", "x"], GRADED, 1.0),
        # DCG 1/log2(2) + 3/log2(3) = 2.89279 over the same ideal.
        (["b", "a"], GRADED, 0.796708),
        (["x", "y"], GRADED, 0.0),
        # The ideal is cut at 10 like the ranking: eleven grade-1 releases, the first ten found, is perfect.
        ([f"d{i}" for i in range(10)], {f"d{i}": 1 for i in range(11)}, 1.0),
    ],
)
def test_ndcg(ranked, relevant, expected):
    assert relevance.ndcg(ranked, relevant) == pytest.approx(expected, abs=1e-6)


def test_mean_scores_average_each_metric_over_queries():
    # nDCG: 3 / 3.63093 for "a" first, (3 / log2(4)) / 3.63093 for "a" third.
    rows = [relevance.scores(["a"], GRADED), relevance.scores(["x", "x", "a"], GRADED)]
    assert relevance.mean_scores(rows) == pytest.approx(
        {"hit@1": 0.5, "hit@3": 1.0, "mrr@10": (1 + 1 / 3) / 2, "ndcg@10": (0.826235 + 0.413117) / 2}, abs=1e-6
    )


def test_a_query_is_skipped_only_when_no_release_sought_is_in_the_index():
    query = relevance.Judged("q", "topical", "en", {"a": 2, "b": 2, "c": 1})
    assert query.present({"c", "x"}) is None
    assert query.present({"b", "x"}).relevant == {"b": 2}
    assert query.present({"a", "c"}).relevant == {"a": 2, "c": 1}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("S-400", '("S-400")'),
        ("Su-57 fighter", '("Su-57" OR "fighter")'),
        ("O'Brien", '("O\'Brien")'),
        ('bid rigging -"Puerto Rico"', '("bid" OR "rigging") NOT "Puerto Rico"'),
        ("macron -scholz -merkel", '("macron") NOT "scholz" NOT "merkel"'),
        ('say "hello world', '("say" OR "hello world")'),
        ('a "quoted" b', '("a" OR "quoted" OR "b")'),
        ("- ' cats", '("cats")'),
        ("-russia", None),
        ("", None),
    ],
)
def test_fts_query(typed, expected):
    assert relevance.fts_query(typed) == expected


def test_fts_peer_matches_joined_words_as_phrases_and_honours_exclusions():
    db = relevance.fts_database(
        [
            ("1", "Parade", "S-400 Triumf systems on Red Square"),
            ("2", "Budget", "S and 400 other items"),
            ("3", "Lukašenka", "Sanctions against the regime"),
        ]
    )
    assert relevance.fts_search(db, "S-400")[0] == ["1"]
    assert relevance.fts_search(db, "lukasenka")[0] == ["3"]
    assert relevance.fts_search(db, "sanctions parade -triumf")[0] == ["3"]


def test_the_judged_set_is_well_formed():
    judged = relevance.load_queries()
    assert len(judged) >= 60
    counts = Counter(q.category for q in judged)
    assert set(counts) == set(relevance.CATEGORIES)
    assert min(counts.values()) >= 6, counts
    assert {q.language for q in judged if q.category == "inflected"} >= {"uk", "be", "ru", "nl", "en"}
    assert len({q.query for q in judged}) == len(judged), "a query is judged twice"
    for q in judged:
        assert q.query.strip(), q
        assert q.relevant, q.query
        assert all(re.fullmatch(r"[0-9a-f]{16}", doc) for doc in q.relevant), q.query
        assert set(q.relevant.values()) <= {1, 2}, q.query
        assert 2 in q.relevant.values(), f"{q.query!r} names no release sought"
