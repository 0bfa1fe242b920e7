"""`searchapp clean` through click's runner and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from searchapp.cli import cli

from conftest import CORPUS, FIXTURES, ROOT, SEED


def test_clean_json_one_object_per_line_in_input_order():
    md = CORPUS / "belarusians_nl_news_2022_2023" / "md" / "ru_25-03-2023.md"
    result = CliRunner().invoke(cli, ["clean", "--json", str(SEED), str(FIXTURES / "wix_release.html"), str(md)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(SEED), str(FIXTURES / "wix_release.html"), str(md)]
    seed = lines[0]
    for key in ("path", "id", "url", "source", "title", "date", "language", "body"):
        assert key in seed
    assert seed["date"] == "--02-01" and seed["title"] == "U.S. to extend sanctions against Lukashenko regime"
    assert lines[2]["language"] == "ru" and lines[2]["date"] == "2023-03-25"


def test_clean_reports_bad_files_and_keeps_going(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = CliRunner().invoke(cli, ["clean", "--json", str(empty), str(SEED)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"error: {empty}: file is empty", "1 file(s) could not be cleaned."]
    assert len(result.stdout.splitlines()) == 1


def test_clean_readable_output():
    result = CliRunner().invoke(cli, ["clean", str(SEED)])
    assert result.exit_code == 0
    assert result.stdout.startswith("== U.S. to extend sanctions against Lukashenko regime\n")
    assert "date:     --02-01 (year unknown)  [from text]" in result.stdout
    assert "source:   NAM-media" in result.stdout


def test_clean_help_reads_well():
    result = CliRunner().invoke(cli, ["clean", "--help"])
    assert "Clean saved pages (HTML, text, Markdown) into documents" in result.stdout


def test_clean_as_a_subprocess_on_a_folder():
    proc = subprocess.run(
        [sys.executable, "-m", "searchapp", "clean", "--json", str(CORPUS / "seed")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    assert json.loads(line)["source"] == "NAM-media"


def test_max_bytes_option(tmp_path):
    page = tmp_path / "big.txt"
    page.write_text("Title\n\n" + "word " * 400)
    refused = CliRunner().invoke(cli, ["clean", "--max-bytes", "1000", str(page)])
    assert refused.exit_code == 1 and "over the" in refused.stderr and "--max-bytes" in refused.stderr
    assert CliRunner().invoke(cli, ["clean", "--max-bytes", "5000", str(page)]).exit_code == 0


def test_clean_json_reads_xhtml_and_says_why_a_page_yields_nothing(tmp_path):
    xhtml = tmp_path / "release.xhtml"
    xhtml.write_bytes(
        '<?xml version="1.0" encoding="windows-1251"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head>'
        "<title>Заявление</title></head><body><h1>Заявление</h1><p>Минск, 1 февраля 2023 года. Кабинет "
        "обсудил новые санкции против режима.</p></body></html>".encode("windows-1251")
    )
    wall = tmp_path / "wall.html"
    wall.write_bytes(b"<html><head><title>Just a moment...</title></head><body></body></html>")
    shell = tmp_path / "shell.html"
    shell.write_bytes(b"<html><body><div id='root'></div><script src='/app.js'></script></body></html>")
    result = CliRunner().invoke(cli, ["clean", "--json", str(xhtml), str(wall), str(shell)])
    assert result.exit_code == 1
    (line,) = result.stdout.splitlines()
    doc = json.loads(line)
    assert (doc["title"], doc["date"], doc["language"]) == ("Заявление", "2023-02-01", "ru")
    assert result.stderr.splitlines() == [
        f"error: {wall}: no release text found: a bot wall (a challenge or captcha page) stands in front of the text",
        f"error: {shell}: no release text found: the page needs JavaScript: its body is a script app shell",
        "2 file(s) could not be cleaned.",
    ]
