"""`searchapp reindex` / `stats` on real indexes of each backend, and the Whoosh index's own folders and analysis."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from whoosh.qparser import QueryParser

from indexer.engine.analysis import search_analyzer
from indexer.engine.backends import open_view
from indexer.engine.live import LiveIndex
from indexer.engine.schema import SCHEMA, SCHEMA_VERSION, UNKNOWN_SOURCE, UNKNOWN_YEAR
from indexer.engine.storage import (
    IndexMissingError,
    current_generation,
    generations,
    open_index,
    open_searcher,
    remove_stale_generations,
    view_of,
)
from indexer.extract.clean import iter_pages
from indexer.extract.metadata_files import MetadataFiles
from indexer.index import cleaning as clean_worker
from indexer.index.reindex import IndexCheckError, reindex
from indexer.index.state import load_state
from indexer.index.stats import index_stats
from searchapp import index_check
from searchapp.cli import cli
from searchapp.index_check import check_index_state
from searchapp.search import SearchRequest, search

from conftest import CORPUS, ROOT
from search_backends import Location, index_options

KREMLIN = "kremlin_and_president_ua_en_2021_2022"
BELARUSIANS = "belarusians_nl_news_2022_2023"
NOTES = {
    "notes/decree.txt": "Statement on the decree of Lukašenka\n\nThe exiled opposition condemned the decree "
    "signed by Lukašenka on Monday, a step towards further repression.\n",
    "notes/envoys.txt": "Lukasenka meets envoys\n\nOfficials said Lukasenka received the envoys in Minsk to "
    "discuss the negotiations on border crossings.\n",
    "notes/emergency.txt": "Parliament extends the state of emergency\n\nThe state of emergency in the border "
    "regions was extended by thirty days.\n",
    "notes/other.txt": "Weather statement\n\nThe state weather service and emergency crews warned of storms "
    "along the coast.\n",
}


def copy_collection(folder: str, names: list[str], dest: Path) -> None:
    """Copy some pages of a bundled collection with their manifest rows."""
    src = CORPUS / folder
    with open(src / "manifest.csv", newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = [row for row in reader if Path(row.get("text_file") or row["md_file"]).name in names]
        fieldnames = reader.fieldnames
    for row in rows:
        relpath = row.get("text_file") or row["md_file"]
        (dest / folder / relpath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / relpath, dest / folder / relpath)
    with open(dest / folder / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A small corpus: real English, Russian and Belarusian releases, the seed page and short notes."""
    root = tmp_path / "corpus"
    copy_collection(KREMLIN, ["kremlin_0241.txt", "president_ua_0145.txt"], root)
    copy_collection(BELARUSIANS, ["ru_generators-for-ukraine.md", "be_generators-for-ukraine.md"], root)
    (root / "seed").mkdir()
    shutil.copy2(next((CORPUS / "seed").glob("*.txt")), root / "seed")
    for relpath, text in NOTES.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def index(search_backend, tmp_path) -> Location:
    """Where the test index lives: a folder (Whoosh) or a fresh database (PostgreSQL)."""
    return search_backend.new_location(tmp_path / "var")


def page_count(corpus: Path) -> int:
    """Return how many pages the cleaner finds in a corpus."""
    return sum(1 for _ in iter_pages(corpus, MetadataFiles()))


def titles_matching(index: Path, query: str, field: str = "body") -> set[str]:
    """Return the titles of the documents Whoosh's own parser and searcher find for a query of one field."""
    with closing(open_searcher(index)[1]) as s:
        parsed = QueryParser(field, SCHEMA).parse(query)
        return {hit["title"] for hit in s.search(parsed, limit=None)}


def titles_found(index: Location, query: str) -> set[str]:
    """Return the titles of every release the product's search lists for a query."""
    with open_view(index) as view:
        return {hit["title"] for hit in search(view, SearchRequest(q=query, per_page=100)).hits}


def run_cli(*args: str):
    """Invoke the CLI in-process and return click's result."""
    return CliRunner().invoke(cli, list(args))


# --- the schema and analysis -------------------------------------------------------------------


def test_analyzer_splits_dotted_runs_folds_and_stems_by_script():
    """Joined words give their whole (as typed, folded) and then their parts; the rest folds and stems by script."""
    terms = [t.text for t in search_analyzer()("Obama.The negotiations of Lukašenka; Лукашенко встретился, Ёлка")]
    assert terms == ["obama.the", "obama", "the", "negoti", "of", "lukasenka", "лукашенк", "встрет", "елк"]
    terms = [t.text for t in search_analyzer()("S-400, COVID‑19 and O’Brien's U.S. visit")]
    assert terms == [
        *["s-400", "s", "400", "covid-19", "covid", "19", "and"],
        *["o'brien's", "o", "brien", "s", "u.s", "u", "s", "visit"],
    ]


def test_analyzer_puts_a_joined_whole_at_its_first_part():
    """A joined whole shares its first part's position, so phrases of the parts line up; a query gets the whole only."""
    tokens = [(t.text, t.pos) for t in search_analyzer()("the S-400 system", positions=True)]
    assert tokens == [("the", 0), ("s-400", 1), ("s", 1), ("400", 2), ("system", 3)]
    assert [t.text for t in search_analyzer()("the S-400 system", mode="query")] == ["the", "s-400", "system"]


# Whoosh's own parser on the index's fields: the analysis as Whoosh stores it. The same words searched through the
# product, on both backends, are in tests/unit/test_search.py and tests/integration/test_names_and_spelling.py.
@pytest.mark.whoosh_only
def test_search_finds_stemmed_accent_folded_and_cyrillic_words(corpus, index):
    summary = reindex(corpus, index, workers=1)
    assert (summary.added, summary.failed) == (page_count(corpus), 0)
    both = {"Statement on the decree of Lukašenka", "Lukasenka meets envoys"}
    assert titles_matching(index, "Lukašenka") == both
    assert titles_matching(index, "lukasenka") == both
    assert titles_matching(index, "negotiating") >= {"Lukasenka meets envoys"}
    assert titles_matching(index, "sanction") == {"U.S. to extend sanctions against Lukashenko regime"}
    # "генератор" finds "генераторов"; "волотнеров" finds the page's "волотнёров" through ё -> е.
    assert titles_matching(index, "генератор") == {"Тепло и свет для Украины"}
    assert titles_matching(index, "волотнеров") == {"Тепло и свет для Украины"}
    assert "Informal meeting of the CIS heads of state" in titles_matching(index, "informal", field="title")


@pytest.mark.whoosh_only
def test_phrases_keep_their_stop_words(corpus, index):
    reindex(corpus, index, workers=1)
    assert titles_matching(index, '"state of emergency"') == {"Parliament extends the state of emergency"}
    assert titles_matching(index, "state emergency") >= {"Weather statement"}


@pytest.mark.whoosh_only
def test_documents_without_a_year_or_date_are_countable(corpus, index):
    reindex(corpus, index, workers=1)
    with closing(open_searcher(index)[1]) as s:
        no_year = {hit["title"] for hit in s.search(QueryParser("body", SCHEMA).parse("year:0"), limit=None)}
        undated = {
            hit["title"] for hit in s.search(QueryParser("body", SCHEMA).parse("date_precision:none"), limit=None)
        }
        hit = s.document(path=f"{BELARUSIANS}/md/ru_generators-for-ukraine.md")
    assert "U.S. to extend sanctions against Lukashenko regime" in no_year
    assert undated <= no_year and "Weather statement" in undated
    assert (hit["year"], hit["month"], hit["date"], hit["date_iso"]) == (2022, 12, 20221216, "2022-12-16")
    assert hit["language"] == "ru" and hit["title"] == "Тепло и свет для Украины"
    assert UNKNOWN_YEAR == 0


# --- incremental reindex --------------------------------------------------------------------


def test_unchanged_reindex_reports_everything_unchanged(corpus, index):
    first = reindex(corpus, index, workers=1)
    again = reindex(corpus, index, workers=1)
    assert (again.added, again.updated, again.deleted, again.unchanged, again.failed) == (0, 0, 0, first.added, 0)


def test_added_changed_and_deleted_files_give_exact_counts(corpus, index):
    total = reindex(corpus, index, workers=1).added
    (corpus / "notes/new.txt").write_text("A new statement\n\nThe council adopted a resolution today.\n")
    with open(corpus / "notes/envoys.txt", "a", encoding="utf-8") as f:
        f.write("\nThe talks resume next week.\n")
    (corpus / "notes/other.txt").unlink()
    # Touched but not changed: the content hash shows it is the same.
    os.utime(corpus / "notes/decree.txt", ns=(1, 1))
    summary = reindex(corpus, index, workers=1)
    assert (summary.added, summary.updated, summary.deleted, summary.unchanged, summary.failed) == (
        1,
        1,
        1,
        total - 2,
        0,
    )
    assert titles_found(index, "resolution") == {"A new statement"}
    assert titles_found(index, "resume") == {"Lukasenka meets envoys"}
    assert titles_found(index, "weather") == set()
    with open_view(index) as s:
        assert s.doc_count() == total
    assert reindex(corpus, index, workers=1).unchanged == total


def test_a_changed_manifest_row_updates_its_document(corpus, index):
    reindex(corpus, index, workers=1)
    manifest = corpus / KREMLIN / "manifest.csv"
    manifest.write_text(
        manifest.read_text(encoding="utf-8").replace(
            "Informal meeting of the CIS heads of state", "Informal CIS summit"
        ),
        encoding="utf-8",
    )
    summary = reindex(corpus, index, workers=1)
    assert (summary.updated, summary.unchanged) == (1, page_count(corpus) - 1)
    assert titles_found(index, "title:summit") == {"Informal CIS summit"}


def test_a_manifest_edit_that_keeps_its_size_and_mtime_updates_its_document(corpus, index, monkeypatch):
    from indexer.index import manifest_digests

    # Recorded at once, however recent the manifest: the edit below must be seen by its ctime, not by a re-read.
    monkeypatch.setattr(manifest_digests, "RACY_MARGIN_NS", 0)
    reindex(corpus, index, workers=1)
    manifest = corpus / KREMLIN / "manifest.csv"
    before = manifest.stat()
    text = manifest.read_bytes()
    edited = text.replace(b"Informal meeting of the CIS heads of state", b"Informal summits of the CIS heads of state")
    assert edited != text and len(edited) == len(text)
    manifest.write_bytes(edited)
    os.utime(manifest, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (manifest.stat().st_size, manifest.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    summary = reindex(corpus, index, workers=1)
    assert (summary.updated, summary.unchanged) == (1, page_count(corpus) - 1)
    assert titles_found(index, "title:summits") == {"Informal summits of the CIS heads of state"}


def test_bad_files_are_reported_and_the_rest_indexed(corpus, index):
    (corpus / "notes/binary.txt").write_bytes(bytes(range(256)) * 8)
    (corpus / "notes/empty.txt").write_bytes(b"")
    result = run_cli("reindex", "--corpus", str(corpus), *index_options(index), "--workers", "1")
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith(f"error: {corpus / 'notes/binary.txt'}: ")
    assert errors[1] == f"error: {corpus / 'notes/empty.txt'}: file is empty"
    good = page_count(corpus) - 2
    assert result.stdout.startswith(f"added {good}, updated 0, deleted 0, unchanged 0, failed 2 in ")
    with open_view(index) as s:
        assert s.doc_count() == good
    # Still bad on the next run: reported again, never indexed.
    again = reindex(corpus, index, workers=1)
    assert (again.unchanged, again.failed) == (good, 2)


def test_a_file_that_turns_bad_loses_its_document(corpus, index):
    total = reindex(corpus, index, workers=1).added
    (corpus / "notes/other.txt").write_bytes(b"")
    summary = reindex(corpus, index, workers=1)
    assert (summary.updated, summary.deleted, summary.failed, summary.unchanged) == (0, 0, 1, total - 1)
    assert titles_found(index, "weather") == set()


def test_a_file_name_that_is_not_utf8_is_reported(corpus, index):
    (corpus / os.fsdecode(b"notes/bad\xff.txt")).write_text("Odd name\n\nA page saved under a broken name.\n")
    summary = reindex(corpus, index, workers=1)
    assert summary.failures == [(os.fsdecode(b"notes/bad\xff.txt"), "its file name is not printable UTF-8: rename it")]
    assert summary.added == page_count(corpus) - 1


def test_an_empty_corpus_gives_an_empty_index(tmp_path, index):
    (tmp_path / "empty").mkdir()
    assert reindex(tmp_path / "empty", index).line().startswith("added 0, updated 0, deleted 0, unchanged 0, ")
    result = run_cli("stats", *index_options(index), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["documents"] == 0


def test_two_pages_with_one_url_index_once_and_report_the_second(corpus, index):
    for name in ("a.txt", "b.txt"):
        page = corpus / "dups" / name
        page.parent.mkdir(exist_ok=True)
        page.write_text(f"Copy {name}\n\nThe same release saved twice.\n")
        (corpus / "dups" / f"{Path(name).stem}.meta.json").write_text('{"url": "https://example.org/r/1"}')
    summary = reindex(corpus, index, workers=1)
    assert summary.failures == [
        ("dups/b.txt", "has the same document id as dups/a.txt (the same URL or manifest id): skipped")
    ]
    (corpus / "dups" / "a.txt").unlink()
    summary = reindex(corpus, index, workers=1)
    assert (summary.added, summary.deleted, summary.failed) == (1, 1, 0)
    assert titles_found(index, "twice") == {"Copy b.txt"}


@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_a_duplicate_takes_over_in_the_same_reindex_when_the_page_it_copies_breaks(corpus, index, full):
    dups = corpus / "dups"
    dups.mkdir()
    for name in ("b.txt", "a.txt"):
        (dups / name).write_text(f"Copy {name}\n\nThe same release saved twice.\n")
        (dups / f"{Path(name).stem}.meta.json").write_text('{"url": "https://example.org/r/1"}')
        summary = reindex(corpus, index, workers=1)
    assert summary.failures == [
        ("dups/a.txt", "has the same document id as dups/b.txt (the same URL or manifest id): skipped")
    ]
    # The page that held the id breaks; its copy, earlier in path order, is indexed in its place at once.
    (dups / "b.txt").write_bytes(b"\x00\x01binary" * 100)
    summary = reindex(corpus, index, full=full, workers=1, check=check_index_state)
    assert [path for path, _ in summary.failures] == ["dups/b.txt"]
    assert titles_found(index, "twice") == {"Copy a.txt"}


def test_full_rebuild_reads_cleaned_pages_from_the_cache(corpus, index, monkeypatch):
    reindex(corpus, index, workers=1)

    def refuse(*args, **kwargs):
        raise AssertionError("cleaned again")

    monkeypatch.setattr(clean_worker, "clean_file", refuse)
    summary = reindex(corpus, index, full=True, workers=1)
    assert (summary.unchanged, summary.failed) == (page_count(corpus), 0)


@pytest.mark.whoosh_only
def test_full_rebuild_swaps_in_a_new_generation(corpus, index):
    reindex(corpus, index, workers=1)
    old = current_generation(index)
    live = LiveIndex(index)
    before = live.acquire()
    found_before = search(before.view, SearchRequest(q="Lukasenka")).total
    (corpus / "notes/new.txt").write_text("A new statement\n\nThe council adopted a resolution today.\n")
    result = run_cli("reindex", "--full", "--corpus", str(corpus), *index_options(index), "--workers", "1")
    assert result.exit_code == 0, result.output
    # Every document was written again; the counts in brackets compare with the index replaced.
    assert result.stdout.startswith(
        f"rebuilt {page_count(corpus)} (added 1, updated 0, deleted 0, "
        f"unchanged {page_count(corpus) - 1}), failed 0 in "
    )
    new = current_generation(index)
    # The replaced generation stays while a view reads it.
    assert new != old and generations(index) == [old, new]
    # A searcher opened before the swap keeps working; the next lease is of the new generation.
    assert before.view.doc_count() == page_count(corpus) - 1
    assert search(before.view, SearchRequest(q="Lukasenka")).total == found_before == 4
    after = live.acquire()
    assert after.view is not before.view and after.view.doc_count() == page_count(corpus)
    # Its last lease ended, the old view closes: nothing reads the old generation any more.
    live.release(before)
    (corpus / "notes/new.txt").unlink()
    reindex(corpus, index, workers=1)
    assert generations(index) == [new, current_generation(index)] and not old.exists()
    assert search(after.view, SearchRequest(q="statement council")).total_all_words == 1
    live.release(after)
    live.close()
    assert remove_stale_generations(index) == [new] and generations(index) == [current_generation(index)]


@pytest.mark.whoosh_only
def test_an_index_from_another_schema_version_is_rebuilt_in_full(corpus, index):
    reindex(corpus, index, workers=1)
    generation = current_generation(index)
    state_file = next(generation.glob("state-*.json"))
    state_file.write_text(state_file.read_text().replace(f'"schema_version":{SCHEMA_VERSION}', '"schema_version":0'))
    result = run_cli("reindex", "--corpus", str(corpus), *index_options(index), "--workers", "1")
    assert result.exit_code == 0
    assert "The index was built with another schema: rebuilding it in full." in result.stderr
    assert result.stdout.startswith(
        f"rebuilt {page_count(corpus)} (added 0, updated 0, deleted 0, unchanged {page_count(corpus)}), failed 0 in "
    )
    assert current_generation(index) != generation


@pytest.mark.whoosh_only
def test_a_search_between_commits_sees_one_state(corpus, index):
    reindex(corpus, index, workers=1)
    ix = open_index(index)
    state = load_state(current_generation(index), ix.latest_generation())
    assert state is not None and len(state.files) == page_count(corpus)


# --- stats, configuration and the command line ------------------------------------------------


def test_stats_text_and_json(corpus, index):
    reindex(corpus, index, workers=1)
    result = run_cli("stats", *index_options(index), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["documents"] == page_count(corpus)
    assert data["sources"]["Belarusians in the Netherlands / MARA (belarusians.nl)"] == 2
    assert data["languages"]["ru"] == 1 and data["languages"]["be"] == 1
    assert (data["first_date"], data["last_date"]) == ("2021-12-15", "2022-12-16")
    assert data["no_year"] == 1 and data["no_date"] == len(NOTES)
    assert data["size_bytes"] > 0 and data["built_at"] and data["full_built_at"] == data["built_at"]
    text = run_cli("stats", *index_options(index)).stdout
    assert f"documents:  {page_count(corpus)}" in text
    assert "dates:      2021-12-15 to 2022-12-16; 1 without a year, 4 without a date" in text
    assert "  2  Belarusians in the Netherlands / MARA (belarusians.nl)\n" in text
    assert text.endswith(f"  {len(NOTES)}  (no source)\n")
    assert data["no_source"] == len(NOTES) and "" not in data["sources"]


def test_a_missing_index_names_the_command_to_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEARCHAPP_INDEX", raising=False)
    result = run_cli("stats")
    assert result.exit_code == 1
    assert result.stderr == "Error: No index at var/index: run `searchapp reindex`\n"
    with pytest.raises(IndexMissingError, match=r"^No index at nowhere: run `searchapp reindex`$"):
        open_index("nowhere")
    with pytest.raises(IndexMissingError):
        open_searcher(tmp_path)


def test_a_missing_corpus_names_the_option(tmp_path):
    result = run_cli("reindex", "--corpus", str(tmp_path / "none"), "--index", str(tmp_path / "ix"))
    assert result.exit_code == 1
    assert f"No corpus at {tmp_path / 'none'}: pass --corpus DIR or set SEARCHAPP_CORPUS" in result.stderr


def test_defaults_are_relative_to_the_current_folder_and_env_overrides_them(corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEARCHAPP_INDEX", raising=False)
    monkeypatch.delenv("SEARCHAPP_CORPUS", raising=False)
    assert run_cli("reindex", "--workers", "1").exit_code == 0
    assert current_generation(tmp_path / "var" / "index") is not None
    monkeypatch.setenv("SEARCHAPP_INDEX", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("SEARCHAPP_CORPUS", str(corpus / "notes"))
    result = run_cli("reindex", "--workers", "1")
    assert result.stdout.startswith(f"added {len(NOTES)}, ")
    assert json.loads(run_cli("stats", "--json").stdout)["documents"] == len(NOTES)


def test_reindex_as_a_subprocess_prints_only_the_summary(corpus, index):
    done = subprocess.run(
        [sys.executable, "-m", "searchapp", "reindex", "--corpus", str(corpus), *index_options(index)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith(f"added {page_count(corpus)}, updated 0, deleted 0, unchanged 0, failed 0 in ")


def test_the_bundled_corpus_indexes_cleanly(tmp_path):
    summary = reindex(CORPUS, tmp_path / "index")
    assert summary.failures == []
    assert summary.added == page_count(CORPUS)


def searchable_state(index: Path) -> tuple[int, set[str]]:
    """Return what the product's search finds on the live index: the total, and the titles of "Lukasenka"."""
    with open_view(index) as s:
        found = search(s, SearchRequest(q="Lukasenka"))
        return search(s, SearchRequest()).total, {hit["title"] for hit in found.hits}


def refuse_every_state(generation, expected):
    """An index check that fails, as a search of a broken state would."""
    raise ValueError(f"searching the new state for {len(expected.written)} written pages failed")


REFUSED = (
    r"failed its check and was not published: searching the new state for \d+ written pages failed\. "
    r"The previous index keeps serving"
)


def test_a_state_that_fails_its_check_is_never_published(corpus, index):
    reindex(corpus, index, workers=1, check=check_index_state)
    before = searchable_state(index)
    (corpus / "notes/decree.txt").write_text("Lukasenka revoked\n\nThe decree was revised.\n", encoding="utf-8")
    for full in (False, True):
        with pytest.raises(IndexCheckError, match=REFUSED):
            reindex(corpus, index, full=full, workers=1, check=refuse_every_state)
        assert searchable_state(index) == before
    summary = reindex(corpus, index, workers=1, check=check_index_state)
    assert (summary.updated, summary.failed) == (1, 0)
    assert "Lukasenka revoked" in searchable_state(index)[1]


def test_the_check_passes_a_sound_state_whose_probes_run_out_of_time(corpus, index, monkeypatch):
    # The probes past browsing keep to a time budget; out of time, each still reads a word and answers, so a
    # sound index is published however busy the machine. With none, every probe is cut short at once.
    monkeypatch.setattr(index_check, "PROBE_SECONDS", 0.0)
    reindex(corpus, index, workers=1, check=check_index_state)
    (corpus / "notes/decree.txt").write_text("Lukasenka revoked\n\nThe decree was revised.\n", encoding="utf-8")
    summary = reindex(corpus, index, workers=1, check=check_index_state)
    assert (summary.updated, summary.failed) == (1, 0)
    assert "Lukasenka revoked" in searchable_state(index)[1]


@pytest.mark.whoosh_only
def test_a_state_that_fails_its_check_leaves_no_generation_behind(corpus, index):
    reindex(corpus, index, workers=1, check=check_index_state)
    live = current_generation(index)
    (corpus / "notes/decree.txt").write_text("Lukasenka revoked\n\nThe decree was revised.\n", encoding="utf-8")
    for full in (False, True):
        with pytest.raises(IndexCheckError, match=REFUSED):
            reindex(corpus, index, full=full, workers=1, check=refuse_every_state)
        assert current_generation(index) == live and generations(index) == [live]


@pytest.mark.whoosh_only
def test_an_incremental_reindex_leaves_the_generation_it_replaced_untouched(corpus, index):
    reindex(corpus, index, workers=1, check=check_index_state)
    old, before = current_generation(index), searchable_state(index)
    # A search still reading the old generation keeps it from being deleted.
    reading = view_of(old)
    (corpus / "notes/envoys.txt").unlink()
    (corpus / "notes/decree.txt").write_text("Lukasenka again\n\nA corrected statement.\n", encoding="utf-8")
    summary = reindex(corpus, index, workers=1, check=check_index_state)
    assert (summary.updated, summary.deleted) == (1, 1)
    assert current_generation(index) != old
    # Whoosh added files to the new generation and never wrote to those it shares with the old one.
    with reading as s:
        assert (
            search(s, SearchRequest()).total,
            {h["title"] for h in search(s, SearchRequest(q="Lukasenka")).hits},
        ) == before


def test_a_page_rewritten_within_one_timestamp_tick_is_read_again(corpus, index):
    page = corpus / "notes/other.txt"
    reindex(corpus, index, workers=1)
    stat = page.stat()
    # The same size and, on a file system with coarse timestamps, the same mtime.
    page.write_text(page.read_text(encoding="utf-8").replace("storms", "zqxstm"), encoding="utf-8")
    os.utime(page, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert page.stat().st_size == stat.st_size
    summary = reindex(corpus, index, workers=1)
    assert summary.updated == 1
    with open_view(index) as s:
        assert search(s, SearchRequest(q="zqxstm")).total == 1 and search(s, SearchRequest(q="storms")).total == 0


def test_pages_without_source_date_or_language_are_counted_in_the_facets(corpus, index):
    (corpus / "bare.html").write_text(
        "<html><head><title>Statement on detentions</title></head><body><h1>Statement "
        "on detentions</h1><p>London, 3 March 2024. We condemn the detentions.</p>"
        "</body></html>",
        encoding="utf-8",
    )
    (corpus / "undated.txt").write_text("Zzz\n\nQqq.\n", encoding="utf-8")
    reindex(corpus, index, workers=1, check=check_index_state)
    with open_view(index) as s:
        result = search(s, SearchRequest())
        sources = {v["value"]: (v["count"], v["unknown"]) for v in result.facets["source"]}
        assert result.facets["source"][-1]["value"] == UNKNOWN_SOURCE
        assert sources[UNKNOWN_SOURCE] == (len(NOTES) + 2, True)
        assert sum(count for count, _ in sources.values()) == result.total == page_count(corpus)
        assert sum(v["count"] for v in result.facets["year"]) + result.undated == result.total
        picked = search(s, SearchRequest(sources=(UNKNOWN_SOURCE,), q="detentions"))
        assert [hit["source"] for hit in picked.hits] == [None] and picked.hits[0]["date"] == "2024-03-03"
    assert index_stats(index)["no_source"] == len(NOTES) + 2
