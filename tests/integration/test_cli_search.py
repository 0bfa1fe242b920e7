"""`searchapp search`: the same search function, readable or as the API's JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from searchapp.cli import cli

from conftest import CORPUS, ROOT
from search_backends import index_options


def test_readable_results_with_facet_counts(search_index):
    result = CliRunner().invoke(cli, ["search", "Dunnigan", *index_options(search_index)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "1 press release (showing 1-1)"
    assert lines[2] == "U.S. to extend sanctions against Lukashenko regime"
    assert lines[3] == "  NAM-media | 02-01 (year unknown)"
    assert lines[-3:] == ["Sources: NAM-media 1", "Languages: English (en) 1", "Years: -; date unknown 1"]


def test_json_is_the_apis_json(search_index, client):
    result = CliRunner().invoke(
        cli,
        [
            "search",
            "sanctions",
            "--source",
            "Viasna",
            "--source",
            "RFE/RL",
            "--sort",
            "newest",
            *index_options(search_index),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    api = client.get("/api/search?q=sanctions&source=Viasna&source=RFE/RL&sort=newest").get_json()
    assert json.loads(result.stdout) == api


def test_date_filters_and_limit(search_index):
    result = CliRunner().invoke(
        cli,
        [
            "search",
            "--from",
            "2022-01-01",
            "--to",
            "2022-12-31",
            "--limit",
            "2",
            "--sort",
            "oldest",
            *index_options(search_index),
            "--json",
        ],
    )
    data = json.loads(result.stdout)
    assert data["total"] == 3 and [h["date"] for h in data["results"]] == ["2022-02-25", "2022-03-01"]


def test_bad_date_names_the_option(search_index):
    result = CliRunner().invoke(cli, ["search", "x", "--from", "soon", *index_options(search_index)])
    assert result.exit_code == 2 and "Invalid value for --from" in result.stderr


def test_missing_index_names_the_command(tmp_path):
    result = CliRunner().invoke(cli, ["search", "x", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: No index at {tmp_path / 'none'}: run `searchapp reindex`"


def test_search_as_a_subprocess(search_index):
    proc = subprocess.run(
        [sys.executable, "-m", "searchapp", "search", '"forced landing"', *index_options(search_index), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total"] == 2


@pytest.mark.slow
def test_the_users_loop_on_the_bundled_corpus_through_the_command_line(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(CORPUS, corpus)
    env = {**os.environ, "SEARCHAPP_INDEX": str(index), "SEARCHAPP_CORPUS": str(corpus)}

    def searchapp(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "searchapp", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def total(q: str) -> int:
        return json.loads(searchapp("search", q, "--json"))["total"]

    pages = sorted(
        p
        for p in corpus.rglob("*")
        if p.suffix in {".html", ".txt", ".md"} and p.parent != corpus and p.name != "PROVENANCE.md"
    )
    searchapp("reindex")
    before = {q: total(q) for q in ("sanctions", '"the President"', "sanctions -Ukraine", "")}
    with open(pages[0], "a", encoding="utf-8") as f:
        f.write("\n\nCorrection: a paragraph added after publication about zqwarnock.\n")
    pages[-1].unlink()
    assert searchapp("reindex").startswith("added 0, updated 1, deleted 1, ")
    assert total("zqwarnock") == 1 and total("") == before[""] - 1
    for q, n in before.items():
        assert 0 < total(q) <= n, q
    # The page whose source was unknown: added, found, and counted in its own facet.
    (corpus / "new.html").write_text(
        "<html><head><title>Statement on detentions</title></head><body><h1>Statement "
        "on detentions</h1><p>London, 3 March 2024. We condemn the detentions.</p>"
        "</body></html>",
        encoding="utf-8",
    )
    assert searchapp("reindex").startswith("added 1, ")
    found = json.loads(searchapp("search", "detentions", "--source", "Unknown source", "--json"))
    assert [hit["title"] for hit in found["results"]] == ["Statement on detentions"]
    assert "(no source)" in searchapp("stats")
