"""`searchapp search`: the same search function, readable or as the API's JSON."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from searchapp.cli import cli

from conftest import ROOT


def test_readable_results_with_facet_counts(search_index):
    result = CliRunner().invoke(cli, ["search", "Dunnigan", "--index", str(search_index)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "1 press release (showing 1-1)"
    assert lines[2] == "U.S. to extend sanctions against Lukashenko regime"
    assert lines[3] == "  NAM-media | 02-01 (year unknown)"
    assert lines[-2:] == ["Sources: NAM-media 1", "Years: -; date unknown 1"]


def test_json_is_the_apis_json(search_index, client):
    result = CliRunner().invoke(cli, ["search", "sanctions", "--source", "Viasna", "--source", "RFE/RL",
                                      "--sort", "newest", "--index", str(search_index), "--json"])
    assert result.exit_code == 0, result.output
    api = client.get("/api/search?q=sanctions&source=Viasna&source=RFE/RL&sort=newest").get_json()
    assert json.loads(result.stdout) == api


def test_date_filters_and_limit(search_index):
    result = CliRunner().invoke(cli, ["search", "--from", "2022-01-01", "--to", "2022-12-31", "--limit", "2",
                                      "--sort", "oldest", "--index", str(search_index), "--json"])
    data = json.loads(result.stdout)
    assert data["total"] == 3 and [h["date"] for h in data["results"]] == ["2022-02-25", "2022-03-01"]


def test_bad_date_names_the_option(search_index):
    result = CliRunner().invoke(cli, ["search", "x", "--from", "soon", "--index", str(search_index)])
    assert result.exit_code == 2 and "Invalid value for --from" in result.stderr


def test_missing_index_names_the_command(tmp_path):
    result = CliRunner().invoke(cli, ["search", "x", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: No index at {tmp_path / 'none'}: run `searchapp reindex`"


def test_search_as_a_subprocess(search_index):
    proc = subprocess.run([sys.executable, "-m", "searchapp", "search", '"forced landing"', "--index",
                           str(search_index), "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total"] == 2
