"""Publication dates of HTML pages through clean_file: htmldate's find, our rules around it, and no invented dates."""

from __future__ import annotations

import json

import pytest

from indexer.extract import dates
from indexer.extract.clean import clean_file
from indexer.extract.html_page import extract_html

BODY = (
    "<p>The committee published its findings on the detention of journalists, with testimony from "
    "families and lawyers gathered over many months.</p><p>It calls for the release of all those held "
    "and for an independent inquiry into the conditions of their detention.</p>"
)


def page(tmp_path, body: str, head: str = "", lang: str = "en", name: str = "page.html"):
    """Write an article page and return its path."""
    path = tmp_path / name
    path.write_text(
        f'<!doctype html><html lang="{lang}"><head><title>Findings | Example NGO</title>{head}</head>'
        f"<body><nav><a href='/'>Home</a></nav><article><h1>Findings</h1>{body}</article>"
        "<footer>© 2019-2024 Example NGO. All rights reserved.</footer></body></html>",
        encoding="utf-8",
    )
    return path


def date_of(path) -> tuple[str | None, str | None]:
    """Return the cleaned page's date and where it came from."""
    doc = clean_file(path)
    assert doc.provenance["date"] == (doc.date.source if doc.date else "none")
    return doc.date_iso, doc.date.source if doc.date else None


def test_htmldate_dates_a_plain_article(tmp_path):
    head = '<meta property="article:published_time" content="2021-03-04T10:00:00+01:00">'
    assert date_of(page(tmp_path, BODY, head)) == ("2021-03-04", "htmldate")


@pytest.mark.parametrize(
    "body",
    [
        BODY,
        # A year in the text is not a date, nor is a month without its day.
        BODY + "<p>In 2019 the committee began its work; its report follows the one of March 2018.</p>",
    ],
)
def test_a_page_without_a_date_comes_out_undated(tmp_path, body):
    # The footer's copyright years must not become 1 January of either.
    assert date_of(page(tmp_path, body)) == (None, None)


def test_a_sidecar_date_wins_over_the_page(tmp_path):
    head = '<meta property="article:published_time" content="2021-03-04T10:00:00+01:00">'
    path = page(tmp_path, BODY, head)
    (tmp_path / "page.meta.json").write_text(json.dumps({"date": "2001-02-03"}))
    assert date_of(path) == ("2001-02-03", "sidecar")


def test_a_manifest_date_wins_over_the_page(tmp_path):
    head = '<meta property="article:published_time" content="2021-03-04T10:00:00+01:00">'
    page(tmp_path, BODY, head)
    (tmp_path / "manifest.csv").write_text("path,date\npage.html,2001-02-03\n")
    assert date_of(tmp_path / "page.html") == ("2001-02-03", "manifest")


@pytest.mark.parametrize(
    "dateline, expected",
    [
        # No year anywhere: the date stays without one, whatever the copyright line says.
        ("Минск, 1 февраля — ", "--02-01"),
        ("Київ, 24 лютого 2022 р. — ", "2022-02-24"),
    ],
)
def test_a_cyrillic_month_dateline(tmp_path, dateline, expected):
    body = f"<p>{dateline}Комитет опубликовал выводы о задержании журналистов и показания их семей.</p>" + BODY
    assert date_of(page(tmp_path, body, lang="ru")) == (expected, "text")


def test_a_published_label_beats_a_timestamp(tmp_path):
    # og:updated_time is the last edit; the page tells its reader when it appeared.
    head = '<meta property="og:updated_time" content="2022-01-27T18:34:20+0100">'
    body = "<p class='meta'>Erschienen am 26. Januar 2022 im Format Pressemitteilung</p>" + BODY
    assert date_of(page(tmp_path, body, head, lang="de")) == ("2022-01-26", "label")


def test_a_shown_date_beats_a_utc_timestamp_the_page_never_writes(tmp_path):
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        '"datePublished": "2022-05-04T03:37:37+00:00"}</script>'
    )
    body = '<p><time datetime="2022-05-03T23:37:37-04:00">3 May, 2022, 11:37 pm</time></p>' + BODY
    assert date_of(page(tmp_path, body, head)) == ("2022-05-03", "time")


def test_a_comment_date_is_not_the_page_date(tmp_path):
    body = BODY + '<div class="comments"><p class="comment-date">Posted on 2023-06-01 by a reader</p></div>'
    assert date_of(page(tmp_path, body)) == (None, None)


@pytest.mark.parametrize(
    "lang, expected",
    [
        # Slashes put the day first in most of the world, the month first in American English.
        ("es", "2022-05-03"),
        ("en-US", "2022-03-05"),
    ],
)
def test_numeric_dates_read_in_the_page_language(tmp_path, lang, expected):
    body = "<p>Publicado el 03/05/2022</p>" + BODY
    assert date_of(page(tmp_path, body, lang=lang)) == (expected, "label")


def test_a_numeric_date_with_thin_spaces(tmp_path):
    body = '<div class="att-publish-date">Von <span>Deutscher Tennis Bund</span> 4.&thinsp;2.&thinsp;2022.</div>' + BODY
    assert date_of(page(tmp_path, body, lang="de"))[0] == "2022-02-04"


def test_a_date_below_the_headline_dates_a_page_without_markup_dates(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html lang='de'><body><nav>Start / News / Jahresbericht 2021</nav><h1>Jahresbericht 2021</h1>"
        "<p>Von Maria Muster, Redakteurin für Klima und Umwelt der Zentralanstalt seit 2015, 21.01.2022</p>"
        + BODY
        + "</body></html>",
        encoding="utf-8",
    )
    assert date_of(path) == ("2022-01-21", "headline")


@pytest.mark.parametrize(
    "far_below",
    [
        "<p>Die Cookie-Erklärung wurde das letzte Mal am 02.12.2022 aktualisiert</p>",
        "<p>Kundenbewertung 02.05.2020 um 08:11 Uhr: es war sehr selbsterklärend</p>",
        "<p>1.500 Eltern haben vom 27.07. bis zum 20.08.2020 getestet</p>",
    ],
)
def test_a_date_far_below_the_headline_is_not_the_page_date(tmp_path, far_below):
    # A cookie notice's, a review's, an event's: htmldate's text search would take them.
    assert date_of(page(tmp_path, BODY * 3 + far_below, lang="de")) == (None, None)


def test_a_dateline_beats_a_timestamp_the_page_never_writes(tmp_path):
    head = '<meta name="date" content="2020-02-12">'
    body = "<p>Berlin, 05.02.2020 – Die Kommission hat ihre Befunde vorgelegt.</p>" + BODY
    assert date_of(page(tmp_path, body, head, lang="de")) == ("2020-02-05", "text")


def test_a_timestamp_the_page_writes_beats_a_dateline(tmp_path):
    head = '<meta name="date" content="2020-02-12">'
    body = "<p>Berlin, 05.02.2020 – Die Kommission hat ihre Befunde vorgelegt.</p><p>Stand: 12.02.2020</p>" + BODY
    assert date_of(page(tmp_path, body, head, lang="de")) == ("2020-02-12", "htmldate")


def test_a_numeric_dateline_reads_day_first_in_a_spanish_page(tmp_path):
    body = "<p>Ariel Melgar Cabrera 3/5/2022 22:41</p>" + BODY
    assert date_of(page(tmp_path, body, lang="es")) == ("2022-05-03", "text")


def test_a_modified_meta_tag_yields_to_the_json_ld_publication_date(tmp_path):
    # With no "published" meta tag htmldate takes the "modified" one, even when asked for the original date.
    head = (
        '<meta property="article:modified_time" content="2025-01-07T09:08:22+00:00">'
        '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2020-07-10T14:15:42+00:00",'
        ' "dateModified": "2025-01-07T09:08:22+00:00"}</script>'
    )
    path = tmp_path / "page.html"
    path.write_text(
        f"<html lang='en'><head><title>Findings</title>{head}</head><body>"
        f"<article class='post status-publish'><h1>Findings</h1><p>Last Updated: January 7, 2025</p>{BODY}"
        "</article></body></html>",
        encoding="utf-8",
    )
    # The <article> is the whole release, not a date line: its first date is the update's.
    assert date_of(path) == ("2020-07-10", "json-ld")


def test_a_microdata_modified_date_yields_to_the_microdata_publication_date(tmp_path):
    # htmldate takes the first <time> it meets, here the last edit's.
    body = (
        '<time itemprop="dateModified" class="hidden">2018-08-29 14:15:57</time>'
        '<time itemprop="datePublished" datetime="2018-06-22 10:20:00" class="hidden">2018-06-22 10:20:00</time>'
        "<span>22.06.2018 10:20</span>" + BODY
    )
    assert date_of(page(tmp_path, body, lang="de")) == ("2018-06-22", "meta")


def test_a_date_the_page_also_writes_outside_its_comments_stays_the_page_date(tmp_path):
    # A reader answered on the day the post appeared: the date is the comment's and the post's.
    body = (
        "<p class='listing-meta'><span>Paddy</span> · <span>April 19, 2019</span></p>"
        + BODY
        + "<ol class='commentlist'><li class='comment'><p>Thanks, that helped.</p>"
        "<div class='comment_info'>Tobsen · <span class='comment_date'>April 19, 2019</span></div></li></ol>"
    )
    assert date_of(page(tmp_path, body))[0] == "2019-04-19"


def test_an_hatom_published_updated_date_is_not_an_edit(tmp_path):
    # class="published updated" marks a release never edited since it appeared.
    body = '<p><time class="entry-date published updated" datetime="2022-05-03T10:00:00">3 May 2022</time></p>' + BODY
    assert date_of(page(tmp_path, body)) == ("2022-05-03", "htmldate")


def test_a_german_datum_element_is_a_date_line(tmp_path):
    # The timestamp the page never writes yields to the date it shows in <div class="datum">.
    head = '<meta name="date" content="2009-03-01">'
    body = '<div class="datum"><span>Feb</span> <span>18</span> <span>2009</span></div>' + BODY
    assert date_of(page(tmp_path, body, head, lang="de")) == ("2009-02-18", "byline")


EVENTS = (
    "<ul class='list-group'><li class='list-group-item'><span class='date'>29.02.2020 18:00 Uhr</span> Weinprobe</li>"
    "<li class='list-group-item'><span class='date'>04.04.2020 18:00 Uhr</span> Tapas-Abend</li></ul>"
)


def test_the_dates_of_a_list_of_events_are_not_the_page_date(tmp_path):
    head = '<meta name="date" content="2020-02-11">'
    assert date_of(page(tmp_path, BODY * 2 + EVENTS, head, lang="de")) == ("2020-02-11", "htmldate")


def test_a_byline_list_with_one_date_is_a_date_line(tmp_path):
    head = '<meta name="date" content="2020-02-11">'
    byline = "<ul class='meta'><li class='author'>Von Anna</li><li><span class='date'>29.02.2020</span></li></ul>"
    assert date_of(page(tmp_path, byline + BODY, head, lang="de")) == ("2020-02-29", "byline")


def test_the_site_header_shows_today_not_the_page_date(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html lang='de'><body><header class='container'><div class='navtop'><span class='mod_datetime'>"
        "<time datetime='2023-11-01T13:56:20+01:00'>Mittwoch, 01. November 2023</time></span></div></header>"
        "<div class='page'><h2>Findings</h2><p><span class='text_datum'>31. Oktober 2023.</span> Die Kommission "
        f"hat ihre Befunde vorgelegt.</p>{BODY}</div></body></html>",
        encoding="utf-8",
    )
    assert date_of(path) == ("2023-10-31", "byline")


def test_a_date_line_in_a_comment_is_not_a_byline(tmp_path):
    body = (
        BODY + "<div class='comment-meta'><span class='comment-author'>Gabriel</span> "
        "<abbr class='date' title='2018-09-11T10:57:27Z'>Le 11 septembre 2018 à 12:57</abbr></div>"
    )
    assert date_of(page(tmp_path, body, lang="fr")) == (None, None)


def test_a_layout_class_naming_the_sidebar_does_not_make_the_article_one(tmp_path):
    # "with-double-sidebar" says the page has sidebars; the byline inside is the article's.
    head = '<meta name="date" content="2021-01-01">'
    path = tmp_path / "page.html"
    path.write_text(
        f"<html lang='de'><head>{head}</head><body><div class='wrapper with-double-sidebar'><article><h1>Findings</h1>"
        f"<span class='date'>4. Januar 2021</span>{BODY}</article></div></body></html>",
        encoding="utf-8",
    )
    assert date_of(path) == ("2021-01-04", "byline")


TEASERS = (
    "<div class='tabs'><p><small>30.01.2022 · Männer</small></p><p><a href='/a'>Wer kommt und wer geht?</a></p>"
    "<p><small>27.01.2022 · Männer</small></p><p><a href='/b'>Trainer übernimmt</a></p></div>"
)


def kicker_page(tmp_path, head: str = "", kicker: str = "02.02.2022 10:16 Uhr - 1. Bundesliga - PM Vereine"):
    """Write a page whose teasers come before the article, and the article's kicker above its headline."""
    path = tmp_path / "page.html"
    path.write_text(
        f"<html lang='de'><head><title>Findings</title>{head}</head><body>{TEASERS}"
        f"<div id='copynews'><p>{kicker}</p><h1>Findings</h1>{BODY}</div></body></html>",
        encoding="utf-8",
    )
    return path


def test_the_date_of_a_kicker_above_the_headline_beats_a_teaser_date(tmp_path):
    # htmldate falls back on the first date in the page's text, a teaser's.
    assert date_of(kicker_page(tmp_path)) == ("2022-02-02", "headline")


def test_a_date_the_structured_data_confirms_is_kept_beside_a_kicker(tmp_path):
    head = '<meta property="article:published_time" content="2022-01-30T08:00:00+01:00">'
    assert date_of(kicker_page(tmp_path, head)) == ("2022-01-30", "htmldate")


def test_teaser_dates_above_the_headline_are_not_a_kicker(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html lang='de'><body><aside><ul><li>Wahl 12.01.2022</li><li>Haushalt 13.01.2022</li></ul></aside>"
        f"<h1>Findings</h1>{BODY}</body></html>",
        encoding="utf-8",
    )
    # Two dates above the headline are a list's, not a kicker's.
    assert date_of(path) == (None, None)


MENU = " ".join(f"<a href='/{n}'>Rubrique {n}</a>" for n in ("politique", "écologie", "société", "monde", "idées") * 4)


def test_the_date_at_the_og_title_headline_dates_a_page_whose_h1_is_its_logo(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html lang='fr'><head><title>Deux ans en Macronie - regards.fr</title>"
        "<meta property='og:title' content='Deux ans en Macronie'></head><body>"
        f"<h1><a class='-logo' href='/'>regards.fr</a></h1><nav>{MENU}</nav>"
        "<span class='-meta'>Accueil | Par Loïc Le Clerc | "
        f"30 septembre 2018</span><h2>Deux ans en Macronie</h2>{BODY}<div class='comment-meta'>Gabriel "
        "<abbr class='date' title='2018-09-11T10:57:27Z'>Le 11 septembre 2018</abbr></div></body></html>",
        encoding="utf-8",
    )
    # htmldate takes the comment's <abbr>; the byline above the headline has no markup of its own.
    page = extract_html(path.read_text(encoding="utf-8"))
    assert (page.title, page.date) == ("regards.fr", None)
    assert page.headline_date == dates.PartialDate(2018, 9, 30, "headline")
    assert date_of(path)[0] == "2018-09-30"
