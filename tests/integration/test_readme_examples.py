"""The README's command-line examples, run on a copy of the bundled corpus: each works and finds something.

Every `searchapp` line of the README's code blocks runs through the real command line (click's CliRunner on
`searchapp.cli.cli`), given the test's own `--index` (and `--corpus`) in place of the defaults. `scrape` needs
the network and `serve` runs a server until stopped: those two are exempt, and only checked to be commands.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil

import pytest
from click.testing import CliRunner

from searchapp.cli import cli

from conftest import CORPUS, ROOT

EXEMPT = {"scrape": "needs the network", "serve": "serves until stopped"}
CODE_BLOCK = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
FOUND = re.compile(r"^([\d,]+) press releases? \(showing ")


def readme_commands() -> list[list[str]]:
    """Return the arguments of each `searchapp` line in the README's code blocks, without comments."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line for block in CODE_BLOCK.findall(text) for line in block.splitlines()]
    return [shlex.split(line, comments=True)[1:] for line in lines if line.startswith("searchapp ")]


COMMANDS = readme_commands()


def examples(command: str) -> list:
    """Return the README's examples of one command, as pytest parameters named by their line."""
    return [pytest.param(args, id=shlex.join(args)) for args in COMMANDS if args[0] == command]


def run(*args: str):
    """Run the command line in-process and return its result, failing with its output if it failed."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, f"searchapp {shlex.join(args)}:\n{result.output}"
    return result


@pytest.fixture(scope="session")
def readme_index(tmp_path_factory):
    """The index the README's `searchapp reindex` builds, of a copy of the bundled corpus."""
    root = tmp_path_factory.mktemp("readme")
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(CORPUS, corpus)
    reindexes = [args for args in COMMANDS if args[0] == "reindex"]
    assert reindexes, "the README shows no `searchapp reindex`"
    for args in reindexes:
        run(*args, "--corpus", str(corpus), "--index", str(index))
    return index


def test_the_readme_shows_each_command_it_documents():
    assert {args[0] for args in COMMANDS} == {"clean", "scrape", "reindex", "stats", "search", "serve"}
    for command in EXEMPT:
        assert examples(command), command
        run(command, "--help")


@pytest.mark.parametrize("args", examples("search"))
def test_each_search_example_finds_something(readme_index, args):
    output = run(*args, "--index", str(readme_index)).stdout
    if "--json" in args:
        data = json.loads(output)
        assert data["total"] >= 1 and data["results"], output
    else:
        found = FOUND.match(output)
        assert found and int(found[1].replace(",", "")) >= 1, output


@pytest.mark.parametrize("args", examples("clean"))
def test_each_clean_example_prints_documents(args, tmp_path, monkeypatch):
    # The paths are the README's, relative to the top of the checkout; a shell redirection is the shell's job.
    monkeypatch.chdir(ROOT)
    if ">" in args:
        args = args[: args.index(">")]
    output = run(*args).stdout
    if "--json" in args:
        documents = [json.loads(line) for line in output.splitlines()]
        assert documents and all(doc["title"] and doc["body"] for doc in documents)
    else:
        assert output.startswith("== ") and "\nsource:   NAM-media\n" in output


@pytest.mark.parametrize("args", examples("stats"))
def test_each_stats_example_describes_the_index(readme_index, args):
    output = run(*args, "--index", str(readme_index)).stdout
    assert f"index:      {readme_index} (" in output
    assert re.search(r"^documents:  [1-9]\d*$", output, re.M), output
