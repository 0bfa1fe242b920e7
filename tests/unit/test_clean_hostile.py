"""Hostile and broken input: each bad file gets a clear message, and nothing else is lost."""

from __future__ import annotations

import codecs
import time

import pytest

from indexer.extract.clean import clean_file, clean_paths
from indexer.extract.errors import CleanError
from indexer.extract.html_page import BOT_WALL_MARKUP, is_bot_wall

RELEASE_RU = (
    "<html><head><title>Заявление о санкциях | Пресс-служба</title></head><body>"
    "<nav>Главная Новости Контакты</nav><article><h1>Заявление о санкциях</h1>"
    "<p>Минск, 1 февраля 2023 года. Представители объединённого переходного кабинета встретились "
    "с заместителем помощника государственного секретаря и обсудили новые санкции.</p>"
    "<p>Стороны также обсудили перспективы привлечения режима к ответственности за преступления.</p>"
    "</article><footer>Все права защищены</footer></body></html>"
)


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_windows_1251_page_without_declaration(tmp_path):
    doc = clean_file(write(tmp_path, "ru.html", RELEASE_RU.encode("windows-1251")))
    assert doc.title == "Заявление о санкциях"
    assert doc.language == "ru"
    assert doc.date_iso == "2023-02-01"
    assert "Главная" not in doc.body and "Все права защищены" not in doc.body
    assert "переходного кабинета" in doc.body


def test_windows_1251_bytes_declared_as_utf8(tmp_path):
    html = RELEASE_RU.replace("<head>", '<head><meta charset="utf-8">')
    doc = clean_file(write(tmp_path, "ru.html", html.encode("windows-1251")))
    assert doc.title == "Заявление о санкциях"


def test_script_and_style_never_reach_the_body(tmp_path):
    html = (
        "<html><head><style>p{color:red}</style><script>var secret='SCRIPT-TEXT';</script></head><body>"
        "<h1>Release</h1><p>The first paragraph of a real release says enough words to be kept here.</p>"
        "<script>document.write('<p>INJECTED</p>')</script><noscript>NOSCRIPT-TEXT</noscript>"
        "<p>A second paragraph closes the statement with a few more words of text.</p></body></html>"
    )
    doc = clean_file(write(tmp_path, "s.html", html.encode()))
    for bad in ("SCRIPT-TEXT", "INJECTED", "NOSCRIPT-TEXT", "color:red"):
        assert bad not in doc.body
    assert doc.paragraphs == [
        "The first paragraph of a real release says enough words to be kept here.",
        "A second paragraph closes the statement with a few more words of text.",
    ]


def test_broken_and_truncated_markup(tmp_path):
    html = (
        "<html><body><h1>Broken <b>markup</h1><p>An unclosed paragraph with <i>italic text and a"
        " <a href='x'>link that never ends<p>Another paragraph that is cut off in the mid"
    )
    doc = clean_file(write(tmp_path, "b.html", html.encode()))
    assert "unclosed paragraph" in doc.body


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.html", b"", "empty"),
        ("image.html", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "binary"),
        ("doc.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"\x00" * 200, "PDF"),
        ("nul.txt", b"\x00\x01\x02\x03" * 1000, "binary"),
        ("chrome.html", b"<html><body><nav>Home News</nav><footer>Contact</footer></body></html>", "no release text"),
    ],
)
def test_bad_files_get_a_clear_error(tmp_path, name, data, message):
    with pytest.raises(CleanError, match=message):
        clean_file(write(tmp_path, name, data))


def test_a_50_mb_page_is_refused_quickly(tmp_path):
    path = tmp_path / "huge.html"
    with open(path, "wb") as f:
        f.write(b"<html><body><p>")
        f.seek(50 * 1024 * 1024)
        f.write(b"</p></body></html>")
    start = time.perf_counter()
    with pytest.raises(CleanError, match="MB"):
        clean_file(path)
    assert time.perf_counter() - start < 1.0


def test_pathological_nesting_is_survived(tmp_path):
    depth = 100_000
    html = (
        "<html><body><h1>Deep</h1>"
        + "<div>" * depth
        + "<p>Text at the bottom of a very deep pile of elements, still a paragraph.</p>"
        + "</div>" * depth
        + "</body></html>"
    )
    path = write(tmp_path, "deep.html", html.encode())
    (result,) = list(clean_paths([path]))
    _, doc, error = result
    assert error is None and "bottom of a very deep pile" in doc.body


def test_one_bad_file_does_not_stop_the_others(tmp_path):
    good = write(tmp_path, "a.txt", b"Title line\n\nA paragraph of release text that is long enough to matter.\n")
    bad = write(tmp_path, "b.txt", b"")
    also_good = write(tmp_path, "c.txt", b"Another title\n\nMore release text in a second document here.\n")
    results = list(clean_paths([good, bad, also_good]))
    assert [p.name for p, _, _ in results] == ["a.txt", "b.txt", "c.txt"]
    assert [e is None for _, _, e in results] == [True, False, True]
    assert "empty" in results[1][2]


def test_unreadable_sidecar_is_reported(tmp_path):
    write(tmp_path, "a.txt", b"Title\n\nSome text of the release goes here.\n")
    write(tmp_path, "a.meta.json", b"{not json")
    with pytest.raises(CleanError, match="sidecar"):
        clean_file(tmp_path / "a.txt")


def xhtml(encoding: str, body: str = RELEASE_RU.split("<body>")[1].split("</body>")[0]) -> str:
    """Return an XHTML 1.0 page with an XML declaration naming its encoding."""
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="ru" lang="ru"><head><title>Заявление о санкциях</title>'
        f"</head><body>{body}</body></html>"
    )


@pytest.mark.parametrize(
    "name, data",
    [
        ("utf8.xhtml", xhtml("UTF-8").encode()),
        ("utf8.html", xhtml("utf-8").encode()),
        ("cp1251.html", xhtml("windows-1251").encode("windows-1251")),
        ("declared-utf8-but-cp1251.html", xhtml("UTF-8").encode("windows-1251")),
        ("utf16le.html", codecs.BOM_UTF16_LE + xhtml("UTF-16").encode("utf-16-le")),
        ("utf16be.html", codecs.BOM_UTF16_BE + xhtml("UTF-16").encode("utf-16-be")),
        ("utf8-bom.html", codecs.BOM_UTF8 + xhtml("UTF-8").encode()),
        ("saved-as.txt", xhtml("UTF-8").encode()),
    ],
)
def test_xhtml_with_an_xml_declaration_parses(tmp_path, name, data):
    doc = clean_file(write(tmp_path, name, data))
    assert doc.title == "Заявление о санкциях"
    assert doc.language == "ru" and doc.date_iso == "2023-02-01"
    assert "переходного кабинета" in doc.body and "Главная" not in doc.body


@pytest.mark.parametrize(
    "name, data",
    [
        (
            "utf8-bom-meta-lies.html",
            codecs.BOM_UTF8 + RELEASE_RU.replace("<head>", '<head><meta charset="koi8-r">').encode(),
        ),
        ("utf16le.html", codecs.BOM_UTF16_LE + RELEASE_RU.encode("utf-16-le")),
        ("utf16be.html", codecs.BOM_UTF16_BE + RELEASE_RU.encode("utf-16-be")),
        ("utf16le-no-bom.html", RELEASE_RU.encode("utf-16-le")),
        ("latin1-meta-lies.html", RELEASE_RU.replace("<head>", '<head><meta charset="iso-8859-1">').encode("cp1251")),
        ("cp1251-meta-utf8.html", RELEASE_RU.replace("<head>", '<meta charset="windows-1251">').encode()),
    ],
)
def test_boms_and_lying_charsets_decode_and_parse(tmp_path, name, data):
    doc = clean_file(write(tmp_path, name, data))
    assert doc.title == "Заявление о санкциях" and "переходного кабинета" in doc.body


def test_control_characters_in_the_text_do_not_lose_the_page(tmp_path):
    html = (
        "<html><body><h1>Planet\x07 report</h1><p>The WWF\x07 (2020) report counts wildlife\x0cpopulations"
        "\x1b that fell by two thirds since 1970, and the text goes on.</p></body></html>"
    )
    doc = clean_file(write(tmp_path, "bel.html", html.encode()))
    assert doc.paragraphs == [
        "The WWF (2020) report counts wildlife populations that fell by two thirds since 1970, and the text goes on."
    ]


CLOUDFLARE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><div class='main-wrapper'>"
    "<noscript>Enable JavaScript and cookies to continue</noscript>"
    "<script src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1'></script></div></body></html>"
)
APP_SHELL = (
    "<!doctype html><html><head><title>Newsroom</title><script src='/static/app.js'></script></head>"
    "<body><noscript>You need to enable JavaScript to run this app.</noscript><div id='root'></div>"
    '<script>window.__STATE__={"article":{"body":"The release text lives only in this JSON."}}</script>'
    "</body></html>"
)


@pytest.mark.parametrize(
    "html, reason",
    [
        (CLOUDFLARE, "a bot wall"),
        ("<html><head><title>Access Denied</title></head><body><h1>Access Denied</h1></body></html>", "a bot wall"),
        (
            "<html><head><title>News</title></head><body><form id='challenge-form' action='/?__cf_chl_tk=x'>"
            "</form></body></html>",
            "a bot wall",
        ),
        (APP_SHELL, "the page needs JavaScript"),
        ("<html><head><title>Empty</title></head><body>  </body></html>", "the page has no text"),
        ("<html><body><nav>Home News</nav><footer>Contact</footer></body></html>", "the page is all chrome"),
    ],
)
def test_a_page_without_release_text_says_why(tmp_path, html, reason):
    with pytest.raises(CleanError, match=f"^no release text found: {reason}"):
        clean_file(write(tmp_path, "page.html", html.encode()))


def test_a_text_file_without_text_says_so(tmp_path):
    with pytest.raises(CleanError, match="^no release text found: the page has no text$"):
        clean_file(write(tmp_path, "blank.md", b"---\ntitle: x\n---\n\n"))


AKAMAI = (
    "<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n \nYou don't have "
    'permission to access "http&#58;&#47;&#47;www&#46;example&#46;gov&#47;news&#47;" on this server.<P>\n'
    "Reference&#32;&#35;18&#46;5c3e1402&#46;1700000000&#46;2a1b3c4d\n</BODY>\n</HTML>\n"
)
CLOUDFLARE_WITH_TEXT = CLOUDFLARE.replace(
    "<noscript>",
    "<h1>www.example.org</h1><h2>Checking if the site connection is secure</h2><p>www.example.org needs to "
    "review the security of your connection before proceeding.</p><noscript>",
)


@pytest.mark.parametrize("html", [AKAMAI, CLOUDFLARE_WITH_TEXT])
def test_a_bot_wall_with_a_few_sentences_is_no_document(tmp_path, html):
    with pytest.raises(CleanError, match="^no release text found: a bot wall"):
        clean_file(write(tmp_path, "wall.html", html.encode()))


@pytest.mark.parametrize(
    "markup",
    [
        '<script src="/CDN-CGI/Challenge-Platform/h/b/orchestrate.js"></script>',
        '<form id="Challenge-Form" action="/">',
        '<div class="_ıncapſula_resource">',
        '<script src="https://ct.captcha-delİvery.com/c.js"></script>',
    ],
)
def test_bot_wall_machinery_is_found_as_a_case_blind_search_finds_it(markup):
    html = f"<html><head><title>Résumé</title></head><body>{markup}<p>Пресс-релиз</p></body></html>"
    assert BOT_WALL_MARKUP.search(html)
    assert is_bot_wall(html)
    assert not is_bot_wall(html.replace("-", " ").replace("_", " "))


def test_a_release_whose_headline_names_a_bot_wall_phrase_is_kept(tmp_path):
    html = (
        "<html><head><title>Access denied | Press office</title></head><body><h1>Access denied</h1>"
        "<p>Minsk, 1 February 2023. Journalists were refused access to the courtroom again today.</p></body></html>"
    )
    assert "refused access" in clean_file(write(tmp_path, "release.html", html.encode())).body
