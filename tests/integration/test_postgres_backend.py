"""The same corpus in Whoosh and in PostgreSQL gives the same answers to the product's search, API, pages and CLI."""

from __future__ import annotations

import json
import shutil
import signal
import time
from dataclasses import asdict

import pytest
from click.testing import CliRunner

from indexer.engine import internals
from indexer.engine.backends import live_index, open_view
from indexer.engine.storage import IndexMissingError
from indexer.index.reindex import reindex
from searchapp import create_app
from searchapp.cli import cli
from searchapp.index_check import check_index_state
from searchapp.search import SearchRequest, document, search

from conftest import CORPUS
from search_fixtures import write_corpus
from site_fixtures import EXTRA_FOLDER, write_extra_documents


@pytest.fixture(autouse=True)
def clean_cache_in_tmp(tmp_path, monkeypatch):
    """A database's clean cache goes beside $SEARCHAPP_INDEX: in the test's folder, not the working directory."""
    monkeypatch.setenv("SEARCHAPP_INDEX", str(tmp_path / "var" / "index"))


QUERIES = [
    {},
    {"q": "sanctions"},
    {"q": "sanctions belarus"},
    {"q": '"political prisoners"'},
    {"q": "sanctions -ukraine"},
    {"q": "sanct*"},
    {"q": "pris* OR minsk"},
    {"q": "title:sanctions"},
    {"q": "S-400"},
    {"q": "Лукашенко"},
    {"q": "Лукашенка"},
    {"q": "lukashenko"},
    {"q": "санкції"},
    {"q": "sanctoins"},
    {"q": "prisoners", "sort": "newest"},
    {"q": "prisoners", "sort": "oldest"},
    {"q": "the", "page": 2, "per_page": 3},
    {"q": "", "sort": "newest", "page": 2, "per_page": 4},
    {"q": "release", "sources": ("Viasna",)},
    {"q": "", "languages": ("uk",)},
    {"q": "", "year": 2022},
    {"q": "", "undated": True},
    {"q": "language:en sanctions"},
    {"q": 'source:"Council of the EU"'},
    {"q": "year:2022"},
    {"q": "zzzzqqq"},
    {"q": "eu OR ukraine OR belarus OR russia", "per_page": 20},
    {"q": "minsk ryanair"},
    {"q": '"state of emergency"'},
]


def answer(view, request: SearchRequest) -> dict:
    """What a search answers (or the error it raises), without its timings and the index's version."""
    try:
        data = asdict(search(view, request))
    except Exception as error:  # a request the corpus cannot answer must fail alike on both
        return {"error": f"{type(error).__name__}: {error}"}
    data.pop("timings")
    data.pop("index_version")
    return data


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """The hand-counted corpus and the bundled one with the site's extra documents, as corpus folders."""
    root = tmp_path_factory.mktemp("corpora")
    small = write_corpus(root / "small")
    site = root / "site"
    shutil.copytree(CORPUS, site)
    write_extra_documents(site / EXTRA_FOLDER)
    return {"small": small, "site": site}


@pytest.mark.parametrize("corpus_name", ["small", "site"])
def test_every_search_answers_the_same_on_both_backends(corpora, corpus_name, pg_cluster_db, tmp_path):
    corpus = corpora[corpus_name]
    whoosh_index = tmp_path / "index"
    first = reindex(corpus, whoosh_index, workers=1, check=check_index_state)
    second = reindex(corpus, pg_cluster_db.primary_url, workers=1, check=check_index_state)
    assert (second.added, second.failed) == (first.added, first.failed)
    with open_view(whoosh_index) as whoosh, open_view(pg_cluster_db.primary_url) as pg:
        assert pg.version.startswith("pg.") and pg.size == whoosh.size and pg.doc_count() == whoosh.doc_count()
        words = sorted({w for hit in search(whoosh, SearchRequest(per_page=50)).hits for w in hit["title"].split()})
        queries = QUERIES + [{"q": word} for word in words[:40]]
        for params in queries:
            request = SearchRequest(**params)
            assert answer(pg, request) == answer(whoosh, request), params
        for docnum in range(whoosh.size):
            doc_id = whoosh.stored(docnum)["id"]
            assert document(pg, doc_id) == document(whoosh, doc_id)


def test_the_databases_postings_are_cached_with_the_scores_whooshs_matchers_give(corpora, pg_cluster_db):
    # The postings cache reads a database term whole, in numpy, and scores it in one pass: each document and
    # score must be what stepping the reader's matcher through Whoosh's BM25F scorer gives, float for float.
    reindex(corpora["site"], pg_cluster_db.primary_url, workers=1, check=check_index_state)
    with open_view(pg_cluster_db.primary_url) as view:
        searcher = view.postings.searcher
        checked = 0
        for fieldname in ("body", "title"):
            terms = list(searcher.reader().lexicon(fieldname))
            for btext in terms[:: max(1, len(terms) // 150)]:
                stepped_docs, stepped_scores = [], []
                for sub, offset in searcher.leaf_searchers():
                    m = internals.unfiltered(sub.postings(fieldname, btext))
                    assert internals.list_arrays(m) is not None
                    m = internals.unfiltered(sub.postings(fieldname, btext))
                    while m.is_active():
                        stepped_docs.append(m.id() + offset)
                        stepped_scores.append(m.score())
                        m.next()
                cached = view.postings.term(fieldname, btext.decode())
                assert (list(cached.docs), list(cached.scores)) == (stepped_docs, stepped_scores), (fieldname, btext)
                checked += 1
        assert checked > 200


def test_a_phrase_checked_over_several_searches_gives_whooshs_answer(pg_cluster_db, tmp_path):
    # A phrase of common words is checked a slice at a time, and later searches go on where one stopped. On the
    # database, the words' values are then held once per search from the reader's arrays, not read per slice.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(40):
        order = "common ground" if i % 3 else "ground common"
        (corpus / f"phrase{i:02d}.txt").write_text(
            f"Talks {i}\n\nThe delegations looked for {order} in the talks, common to all {i}.\n", encoding="utf-8"
        )
    reindex(corpus, tmp_path / "index", workers=1)
    reindex(corpus, pg_cluster_db.primary_url, workers=1)
    request = SearchRequest(q='"common ground"', per_page=100)
    with open_view(tmp_path / "index") as exact:
        expected = answer(exact, request)
        assert exact.postings._held_values("body", "common") is None
    assert expected["total"] == 26
    with open_view(pg_cluster_db.primary_url, time_budget=0.0) as hurried:
        hurried.postings.phrase_step = 4
        docs, values = hurried.postings._held_values("body", "common")
        assert len(docs) == len(values) == 40
        totals = []
        for _ in range(20):
            got = answer(hurried, request)
            totals.append(got["total"])
            if got["complete"]:
                break
            assert "occurs in too many releases to check every one in the time allowed" in got["notice"]
        assert totals == sorted(totals) and len(totals) > 2
        assert got == expected


def test_a_database_without_tables_says_to_reindex(pg_cluster_db):
    with pytest.raises(IndexMissingError, match=r"run `searchapp reindex --backend URL`"):
        open_view(pg_cluster_db.primary_url)


def test_the_app_and_the_cli_serve_the_database(corpora, pg_cluster_db, monkeypatch):
    url = pg_cluster_db.primary_url
    runner = CliRunner()
    monkeypatch.delenv("SEARCHAPP_REPLICAS", raising=False)
    built = runner.invoke(cli, ["reindex", "--corpus", str(corpora["small"]), "--backend", url, "--workers", "1"])
    assert built.exit_code == 0, built.output
    app = create_app({"TESTING": True, "INDEX": url})
    client = app.test_client()
    page = client.get("/api/search?q=sanctions")
    assert page.status_code == 200
    data = page.get_json()
    with open_view(url) as view:
        expected = search(view, SearchRequest(q="sanctions"))
    assert data["total"] == expected.total and [h["id"] for h in data["results"]] == [h["id"] for h in expected.hits]
    assert client.get("/?q=sanctions").status_code == 200
    found = runner.invoke(cli, ["search", "sanctions", "--backend", url, "--json"])
    assert found.exit_code == 0, found.output
    assert [h["id"] for h in json.loads(found.output)["results"]] == [h["id"] for h in expected.hits]
    stats = runner.invoke(cli, ["stats", "--backend", url, "--json"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.output)["documents"] == view_documents(url)


def view_documents(url: str) -> int:
    """How many documents the published state holds."""
    with open_view(url) as view:
        return view.doc_count()


def test_the_live_index_switches_to_each_published_state(corpora, pg_cluster_db, tmp_path, monkeypatch):
    url = pg_cluster_db.primary_url
    monkeypatch.delenv("SEARCHAPP_REPLICAS", raising=False)
    corpus = tmp_path / "corpus"
    shutil.copytree(corpora["small"], corpus)
    reindex(corpus, url, workers=1)
    app = create_app({"TESTING": True, "INDEX": url})
    client = app.test_client()
    health = client.get("/healthz").get_json()
    assert health["ok"] and health["index_version"].startswith("pg.") and health["generation"] == "pg"
    assert [(node["role"], node["up"], node["serves_reads"]) for node in health["nodes"]] == [("primary", True, True)]
    live = live_index(url)
    try:
        old = live.acquire()
        (corpus / "a1.txt").write_text("Sanctions on Belarus extended\n\nA zorvexa correction.\n", encoding="utf-8")
        reindex(corpus, url, workers=1)
        new = live.acquire()
        assert new.view.version != old.view.version and live.status()["switches"] == 2
        # A request that started on the old state finishes on it.
        assert search(old.view, SearchRequest(q="zorvexa")).total == 0
        assert search(new.view, SearchRequest(q="zorvexa")).total == 1
        live.release(old)
        live.release(new)
    finally:
        live.close()
    after = client.get("/healthz").get_json()
    assert after["index_version"] != health["index_version"]
    assert client.get("/api/search?q=zorvexa").get_json()["total"] == 1


@pytest.mark.slow
def test_searchapp_serve_answers_from_the_replicas_and_switches_after_a_reindex(
    corpora, pg_cluster_db, tmp_path, monkeypatch
):
    from test_server import get, start_server

    url = pg_cluster_db.primary_url
    monkeypatch.setenv("SEARCHAPP_REPLICAS", ",".join(pg_cluster_db.replica_urls))
    corpus = tmp_path / "corpus"
    shutil.copytree(corpora["small"], corpus)
    reindex(corpus, url, workers=1)
    pg_cluster_db.cluster.wait_caught_up()
    process, base = start_server(url, tmp_path, "--workers", "2")
    try:
        status, _, before = get(base + "/healthz")
        assert status == 200 and before["index_version"].startswith("pg.")
        assert get(base + "/api/search?q=zorvexa")[2]["total"] == 0
        (corpus / "a1.txt").write_text("Sanctions on Belarus extended\n\nA zorvexa correction.\n", encoding="utf-8")
        reindex(corpus, url, workers=1)
        deadline = time.monotonic() + 30
        while get(base + "/api/search?q=zorvexa")[2].get("total") != 1:
            assert time.monotonic() < deadline, "the server did not switch to the new state"
            time.sleep(0.2)
        # Each worker switches on its own watch: a request may still reach one that has not, for up to a second.
        while (after := get(base + "/healthz")[2]["index_version"]) == before["index_version"]:
            assert time.monotonic() < deadline, "a worker did not switch to the new state"
            time.sleep(0.2)
        # Then every worker is on it, once its own watch has seen it: eight new connections in a row agree.
        while len({get(base + "/healthz")[2]["index_version"] for _ in range(8)} | {after}) > 1:
            assert time.monotonic() < deadline, "a worker did not switch to the new state"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
