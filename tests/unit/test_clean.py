"""The cleaner on real pages: the brief's sample, site chrome, manifests, sidecars and Markdown."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from indexer.extract.clean import clean_file, clean_paths, iter_pages
from indexer.extract.metadata_files import MetadataFiles, load_manifest, normalise_row

from conftest import CORPUS, FIXTURES, SEED

SEED_PARAGRAPHS = [p.strip() for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()][3:-1]


def test_seed_comes_out_clean():
    doc = clean_file(SEED)
    assert doc.title == "U.S. to extend sanctions against Lukashenko regime"
    assert doc.source == "NAM-media"
    assert (doc.date.year, doc.date.month, doc.date.day) == (None, 2, 1)
    assert doc.date_iso == "--02-01"
    assert doc.date.precision == "no-year"
    assert doc.date.source == "text"
    assert doc.language == "en"
    assert "top of page" not in doc.body and "bottom of page" not in doc.body
    assert "Source: NAM-media" not in doc.body
    assert doc.paragraphs[0].startswith("U.S. lawyers, the Cabinet and the NAM")
    assert len(SEED_PARAGRAPHS) == 9
    assert all(p in doc.paragraphs for p in SEED_PARAGRAPHS)
    assert doc.provenance == {
        "url": "none",
        "title": "text",
        "source": "source-line",
        "date": "text",
        "language": "detected",
    }


def test_wix_page_loses_its_chrome_and_keeps_the_release():
    doc = clean_file(FIXTURES / "wix_release.html")
    assert doc.title == "U.S. to extend sanctions against Lukashenko regime"
    assert doc.source == "NAM-media"
    assert doc.date_iso == "--02-01"
    assert doc.url == "https://www.example.org/post/u-s-to-extend-sanctions-against-lukashenko-regime"
    for chrome in (
        "Skip to Main Content",
        "top of page",
        "bottom of page",
        "About NAM",
        "Share on",
        "Copy link",
        "Recent Posts",
        "Cabinet meets EU envoys",
        "Subscribe",
        "Wix.com",
        "injected",
        "wixBiSession",
        "font-family",
        "Source: NAM-media",
    ):
        assert chrome not in doc.body, chrome
    assert doc.paragraphs[0].startswith("U.S. lawyers, the Cabinet and the NAM")
    assert doc.paragraphs[1].startswith("On February 1 at the Museum of Free Belarus")
    assert doc.paragraphs[-1].endswith("forced landing of Ryanair regime is ongoing.")
    assert len(doc.paragraphs) == 5


def test_url_date_fixes_the_year_of_a_no_year_date(tmp_path):
    page = tmp_path / "release.txt"
    shutil.copyfile(SEED, page)
    (tmp_path / "release.meta.json").write_text(
        json.dumps({"url": "https://nam.example.org/news/2023/02/us-to-extend-sanctions"})
    )
    doc = clean_file(page)
    assert doc.date_iso == "2023-02-01"
    assert doc.date.source == "text+url"
    assert doc.url == "https://nam.example.org/news/2023/02/us-to-extend-sanctions"


def test_a_url_date_in_another_month_does_not_give_its_year(tmp_path):
    page = tmp_path / "release.txt"
    shutil.copyfile(SEED, page)
    (tmp_path / "release.meta.json").write_text(json.dumps({"url": "https://nam.example.org/2024/07/x"}))
    assert clean_file(page).date_iso == "--02-01"


DOJ = CORPUS / "doj_opa_press_releases"
DOJ_ROWS = list(csv.DictReader(open(DOJ / "manifest.csv", encoding="utf-8")))


@pytest.mark.parametrize("row", DOJ_ROWS[::7], ids=lambda r: r["doc_id"])
def test_doj_page_without_manifest(row):
    doc = clean_file(DOJ / row["html_file"], use_metadata_files=False)
    assert doc.date_iso == row["date"]
    assert doc.source == "U.S. Department of Justice"
    assert doc.url == row["url"]
    assert doc.provenance["source"] == "domain-map"
    for chrome in (
        "Justice News",
        "Share",
        "Email",
        "Print",
        "Updated",
        "Component(s):",
        "Press Release Number:",
        "Office of Public Affairs",
        "FOR IMMEDIATE RELEASE",
    ):
        assert not any(p.startswith(chrome) for p in doc.paragraphs), chrome


def test_doj_bundled_pages_meet_the_quality_bar(evaluation):
    result = evaluation.evaluate_doj(DOJ)
    n = result["pages"]
    assert n == 40
    assert result["title_ok"] / n >= 0.98, result["misses"]
    assert result["date_ok"] / n >= 0.98, result["misses"]
    assert sum(result["f1"]) / len(result["f1"]) >= 0.95
    assert sum(result["recall"]) / len(result["recall"]) >= 0.99


def test_readability_fixtures_body_f1(evaluation):
    result = evaluation.evaluate_readability(FIXTURES / "readability")
    assert len(result["f1"]) == 4
    assert sum(result["f1"].values()) / 4 >= 0.90, result["f1"]


def test_manifest_wins_over_the_page(tmp_path):
    row = DOJ_ROWS[0]
    (tmp_path / "html").mkdir()
    shutil.copyfile(DOJ / row["html_file"], tmp_path / row["html_file"])
    (tmp_path / "manifest.csv").write_text(
        "doc_id,html_file,source_org,title,date,url,lang\n"
        f"x1,{row['html_file']},Justice Watchers,A manifest title,2001-02-03,https://example.org/x1,en\n"
    )
    doc = clean_file(tmp_path / row["html_file"])
    assert (doc.source, doc.title, doc.date_iso, doc.url) == (
        "Justice Watchers",
        "A manifest title",
        "2001-02-03",
        "https://example.org/x1",
    )
    assert doc.provenance["title"] == doc.provenance["date"] == "manifest"
    assert doc.date.source == "manifest"


def test_a_manifests_rows_are_its_normalised_rows_with_recurring_values_held_once(tmp_path):
    lines = ["doc_id,text_file,source_org,title,date,lang,url,notes"]
    for i in range(50):
        date = "" if i % 7 == 0 else f"2022-0{1 + i % 3}-1{i % 5}"
        source = "NA" if i % 11 == 0 else f"Org {i % 2}"
        lines.append(f'd{i},t/{i}.txt,{source}," Title \r\n {i} ",{date},en,u/{i},x')
    (tmp_path / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open(tmp_path / "manifest.csv", newline="", encoding="utf-8") as f:
        expected = {row["text_file"]: normalise_row(row) for row in csv.DictReader(f)}
    rows = load_manifest(tmp_path).rows
    assert dict(rows) == expected and list(rows) == list(expected) and len(rows) == 50
    assert [list(rows[relpath]) for relpath in rows] == [list(row) for row in expected.values()]
    assert "t/0.txt" in rows and "t/50.txt" not in rows and rows["t/0.txt"]["title"] == "Title 0"
    # Sources, dates and languages repeat across a large manifest: the same value is one object.
    assert rows["t/1.txt"]["source"] is rows["t/3.txt"]["source"]
    assert rows["t/1.txt"]["date"] is rows["t/16.txt"]["date"]
    assert rows["t/2.txt"]["language"] is rows["t/5.txt"]["language"]


def test_sidecar_wins_over_manifest(tmp_path):
    shutil.copyfile(SEED, tmp_path / "a.txt")
    (tmp_path / "manifest.json").write_text(
        json.dumps({"documents": [{"path": "a.txt", "source": "From manifest", "date": "2023-02-01"}]})
    )
    (tmp_path / "a.meta.json").write_text(json.dumps({"source": "From sidecar"}))
    doc = clean_file(tmp_path / "a.txt")
    assert (doc.source, doc.date_iso) == ("From sidecar", "2023-02-01")
    assert doc.provenance["source"] == "sidecar" and doc.provenance["date"] == "manifest"


def test_markdown_with_front_matter():
    doc = clean_file(CORPUS / "belarusians_nl_news_2022_2023" / "md" / "be_25-03-2023.md", use_metadata_files=False)
    assert doc.title == "Дзень волі"
    assert doc.date_iso == "2023-03-25"
    assert doc.date.source == "front-matter"
    assert doc.language == "be"
    assert doc.paragraphs[0] == "Сёння 25 сакавіка, а значыць беларусы ўсяго свету адзначаюць Дзень Волі."
    assert "канцэрт гурта РСП" in doc.body and "](" not in doc.body and "---" not in doc.body


@pytest.mark.parametrize(
    "folder",
    [
        "kremlin_and_president_ua_en_2021_2022",
        "ua_president_office_statements_2022",
        "belarusians_nl_news_2022_2023",
        "doj_opa_press_releases",
    ],
)
def test_every_bundled_document_gets_manifest_source_and_date(folder):
    rows = {
        next(r[k] for k in ("html_file", "md_file", "text_file") if r.get(k)): r
        for r in csv.DictReader(open(CORPUS / folder / "manifest.csv", encoding="utf-8"))
    }
    results = list(clean_paths([CORPUS / folder]))
    assert len(results) == len(rows)
    for path, doc, error in results:
        assert error is None, (path, error)
        row = rows[path.relative_to(CORPUS / folder).as_posix()]
        assert (doc.source, doc.date_iso, doc.title) == (row["source_org"], row["date"], " ".join(row["title"].split()))
        assert doc.language == row["lang"]


def test_ids_are_stable_wherever_the_corpus_lives(tmp_path):
    cleaned = clean_paths([CORPUS / "seed", CORPUS / "belarusians_nl_news_2022_2023"])
    first = {doc.path.split("corpus/")[1]: doc.id for _, doc, _ in cleaned}
    moved = tmp_path / "elsewhere"
    shutil.copytree(CORPUS / "seed", moved / "seed")
    shutil.copytree(CORPUS / "belarusians_nl_news_2022_2023", moved / "belarusians_nl_news_2022_2023")
    again = {str(Path(doc.path).relative_to(moved)): doc.id for _, doc, _ in clean_paths([moved])}
    assert again == first
    assert len(set(first.values())) == len(first)


def test_walking_a_collection_yields_only_its_listed_pages():
    pages = list(iter_pages(DOJ, MetadataFiles()))
    assert len(pages) == 40
    assert all(p.suffix == ".html" for p in pages)  # the upstream text/ files are gold, not pages
    assert not any(p.name in ("PROVENANCE.md", "README.md") for p in iter_pages(CORPUS, MetadataFiles()))


def test_content_hash_changes_with_the_text(tmp_path):
    shutil.copyfile(SEED, tmp_path / "a.txt")
    before = clean_file(tmp_path / "a.txt")
    (tmp_path / "a.txt").write_text(SEED.read_text(encoding="utf-8").replace("Ryanair", "a Ryanair plane"))
    after = clean_file(tmp_path / "a.txt")
    assert before.id == after.id and before.content_hash != after.content_hash


def test_to_dict_has_the_documented_fields():
    d = clean_file(SEED).to_dict()
    assert list(d)[:8] == ["path", "id", "url", "final_url", "source", "title", "date", "year"]
    assert d["date"] == "--02-01" and d["year"] is None and d["month"] == 2 and d["day"] == 1
    assert d["body"].startswith("U.S. lawyers")


PARAGRAPHS = (
    "<p>The committee published its findings on the detention of journalists, with testimony from "
    "families and lawyers gathered over many months.</p><p>It calls for the release of all those held "
    "and for an independent inquiry into the conditions of their detention.</p>"
)


@pytest.mark.parametrize(
    "head, body, expected, source",
    [
        (
            '<script type="application/ld+json"><![CDATA[{"@type": "NewsArticle", "datePublished": '
            '"2020-07-10T14:15:42+00:00", "dateModified": "2025-01-07"}]]></script>',
            "",
            "2020-07-10",
            "htmldate",
        ),
        ('<meta name="article:publicationdate" content="Fri Mar 13 21:30:09 EST 2015">', "", "2015-03-13", "meta"),
        (
            "",
            '<div class="updated">Last updated: January 7, 2025</div>'
            '<span class="post-date">Monday, February 29, 2016 @ 11:10 PM UTC</span>',
            "2016-02-29",
            "byline",
        ),
        ("", '<div class="comment-date">March 1, 2019</div>', None, None),
    ],
)
def test_dates_from_page_markup(tmp_path, head, body, expected, source):
    html = (
        f"<html><head><title>Findings</title>{head}</head><body><h1>Findings</h1>{body}"
        f"<article>{PARAGRAPHS}</article></body></html>"
    )
    doc = clean_file(write_page(tmp_path, html))
    assert doc.date_iso == expected
    assert (doc.date.source if doc.date else None) == source


def test_url_date_when_the_page_has_none(tmp_path):
    page = write_page(tmp_path, f"<html><body><h1>Findings</h1>{PARAGRAPHS}</body></html>")
    (tmp_path / "page.meta.json").write_text(json.dumps({"url": "https://ngo.example.org/2021/03/15/findings"}))
    doc = clean_file(page)
    assert (doc.date_iso, doc.date.source) == ("2021-03-15", "url")


def write_page(tmp_path, html: str) -> Path:
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_a_given_title_only_drops_its_own_repetition(tmp_path):
    (tmp_path / "a.txt").write_text("The committee condemned the raid\n\nWitnesses saw it.\n")
    (tmp_path / "b.txt").write_text("Raid condemned\n\nThe committee condemned the raid\n\nWitnesses saw it.\n")
    (tmp_path / "manifest.csv").write_text("path,title\na.txt,Raid condemned\nb.txt,Raid condemned\n")
    a, b = clean_file(tmp_path / "a.txt"), clean_file(tmp_path / "b.txt")
    assert a.title == b.title == "Raid condemned"
    assert a.paragraphs == b.paragraphs == ["The committee condemned the raid", "Witnesses saw it."]
