"""Tests for indexer.extract.decode: a file's bytes to text, with hostile input refused clearly."""

import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.extract import decode as decode_module
from indexer.extract.decode import decode, read_bytes
from indexer.extract.errors import CleanError

MB = 1024 * 1024

RU = "Минск, 1 февраля 2023 года. Правозащитники требуют освободить всех политических заключённых"
BE = "Сёння 25 сакавіка, а значыць беларусы ўсяго свету адзначаюць Дзень Волі."
UK = "Ми не пробачимо розстріляних житлових будинків. Не пробачимо ракету, яку збила наша оборона."
NL = "Wie kaartjes wil kopen, schrijf dan vóór 1 juni naar ons; de ideeën van iedereen zijn welkom."
PL = "Organizacje praw człowieka domagają się uwolnienia więźniów politycznych, łącznie z dziennikarzami."
FR = "Les organisations de défense des droits humains dénoncent l'intimidation des journalistes « très grave »."


def page(body: str, head: str = "") -> str:
    """Return a small HTML page with the given <head> extras and body text."""
    return f"<html><head>{head}<title>Release</title></head><body><p>{body}</p></body></html>"


# --- charsets without a BOM ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, charset",
    [
        (RU, "windows-1251"),
        (BE, "windows-1251"),
        (UK, "windows-1251"),
        (RU, "koi8-r"),
        (UK, "koi8-u"),
        (NL, "windows-1252"),
        (FR, "windows-1252"),
        (PL, "windows-1250"),
    ],
)
def test_undeclared_legacy_charset_is_guessed(text, charset):
    assert decode(text.encode(charset)) == text


@pytest.mark.parametrize(
    "text, charset",
    [
        (RU, "windows-1251"),
        (RU, "koi8-r"),
        (PL, "iso-8859-2"),
        (PL, "windows-1250"),
        (FR, "windows-1252"),
    ],
)
def test_a_declared_charset_that_fits_is_used(text, charset):
    assert decode(text.encode(charset), declared=charset) == text


@pytest.mark.parametrize(
    "head",
    [
        '<meta charset="utf-8">',
        "<meta charset=UTF-8>",
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">',
    ],
)
def test_windows_1251_declared_as_utf8_in_meta(head):
    html = page(RU, head)
    assert decode(html.encode("windows-1251"), is_html=True) == html


def test_windows_1251_declared_as_utf8_in_header():
    assert decode(RU.encode("windows-1251"), declared="text/html; charset=utf-8") == RU


@pytest.mark.parametrize(
    "declared, head",
    [
        ("windows-1251", ""),
        (None, '<meta charset="windows-1251">'),
        (None, '<meta http-equiv="Content-Type" content="text/html; charset=cp1251">'),
        ("koi8-r", '<meta charset="windows-1251">'),
    ],
)
def test_utf8_declared_as_a_single_byte_charset_stays_utf8(declared, head):
    html = page(BE, head)
    assert decode(html.encode("utf-8"), declared=declared, is_html=True) == html


@pytest.mark.parametrize(
    "text, real, declared",
    [
        (RU, "koi8-r", "windows-1251"),
        (RU, "windows-1251", "koi8-r"),
        (NL, "windows-1252", "windows-1251"),
        (RU, "windows-1251", "windows-1252"),
    ],
)
def test_a_declared_charset_that_gives_mojibake_is_not_trusted(text, real, declared):
    assert decode(text.encode(real), declared=declared) == text


def test_header_declaration_comes_before_meta():
    html = page(PL, '<meta charset="windows-1251">')
    assert decode(html.encode("iso-8859-2"), declared="iso-8859-2", is_html=True) == html


def test_meta_is_ignored_when_not_html():
    text = '<meta charset="koi8-r"> ' + RU
    assert decode(text.encode("windows-1251")) == text


@pytest.mark.parametrize("charset", ["x-bogus-42", "", "utf-9", "zlib", "base64", "rot13", "utf-16le"])
def test_unknown_or_non_text_charset_in_meta_falls_through(charset):
    html = page(RU, f'<meta charset="{charset}">')
    assert decode(html.encode("windows-1251"), is_html=True) == html
    assert decode(html.encode("utf-8"), is_html=True) == html


@pytest.mark.parametrize("declared", ["x-bogus-42", "utf\x00", "a" * 500, "zlib", "utf-16", "undefined", "idna"])
def test_unknown_declared_charset_falls_through(declared):
    assert decode(RU.encode("windows-1251"), declared=declared) == RU


@pytest.mark.parametrize("label", ["x-cp1251", "win-1251", "CP-1251", "Windows-1251", " 'windows-1251' "])
def test_charset_label_variants_are_understood(label):
    assert decode(RU.encode("windows-1251"), declared=label) == RU


def test_latin1_label_is_read_as_windows_1252_like_browsers_do():
    assert decode("“Quoted” – text".encode("windows-1252"), declared="iso-8859-1") == "“Quoted” – text"


@pytest.mark.parametrize("charset", ["utf-16", "utf-16le", "utf-32"])
def test_an_ascii_page_declaring_utf16_is_read_as_ascii(charset):
    html = page("Plain text", f'<meta charset="{charset}">')
    assert decode(html.encode("ascii"), is_html=True) == html


def test_ascii_is_ascii_whatever_is_declared():
    assert decode(b"Plain ASCII text.", declared="windows-1251") == "Plain ASCII text."


# --- BOMs, UTF-16 and truncation -------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf" + BE.encode("utf-8"),
        b"\xff\xfe" + BE.encode("utf-16-le"),
        b"\xfe\xff" + BE.encode("utf-16-be"),
        b"\xff\xfe\x00\x00" + BE.encode("utf-32-le"),
        b"\x00\x00\xfe\xff" + BE.encode("utf-32-be"),
    ],
)
def test_bom_is_honoured_and_removed(data):
    assert decode(data) == BE


def test_bom_beats_a_declaration():
    assert decode(b"\xef\xbb\xbf" + RU.encode("utf-8"), declared="windows-1251") == RU


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_recognised(codec):
    assert decode(UK.encode(codec)) == UK


def test_truncated_utf8_drops_the_partial_character():
    data = RU.encode("utf-8")[:-1]
    assert decode(data) == RU[:-1]
    assert decode(data, declared="windows-1251") == RU[:-1]


def test_truncated_utf16_with_bom_drops_the_partial_character():
    assert decode(b"\xff\xfe" + BE.encode("utf-16-le")[:-1]) == BE[:-1]


# --- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"one\r\ntwo\rthree\n", "one\ntwo\nthree\n"),
        ("Cafe\u0301 й".encode("utf-8"), "Café й"),
        (b"\xef\xbb\xbf\xef\xbb\xbfdouble BOM", "double BOM"),
        (b"x" * 9000 + b"\x00y", "x" * 9000 + "y"),
    ],
)
def test_output_is_nfc_with_unix_newlines_and_no_nul(data, expected):
    assert decode(data) == expected


# --- binary input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, message",
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "binary file (PDF), not a page"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file (PNG), not a page"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "binary file (JPEG), not a page"),
        (b"GIF89a\x01\x00\x01\x00", "binary file (GIF), not a page"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "binary file (GZIP), not a page"),
        (b"PK\x03\x04\x14\x00\x06\x00word/document.xml", "binary file (ZIP/DOCX), not a page"),
        (random.Random(0).randbytes(4096), "binary file (contains NUL bytes), not a page"),
        (b"text\x00" * 100, "binary file (contains NUL bytes), not a page"),
        (bytes(range(1, 32)) * 100, "binary file (81% control bytes), not a page"),
        (b"\xef\xbb\xbf" + bytes(range(1, 32)) * 100, "binary file (81% control bytes), not a page"),
    ],
)
def test_binary_is_refused_with_its_kind(data, message):
    with pytest.raises(CleanError) as caught:
        decode(data)
    assert str(caught.value) == message


def test_binary_is_refused_even_when_declared_as_text():
    with pytest.raises(CleanError, match=r"binary file \(PDF\)"):
        decode(b"%PDF-1.4 ...", declared="utf-8", is_html=True)


def test_a_few_control_characters_are_still_text():
    text = "Column\tvalue\x0cnext page\x1b[0m " + "words " * 100
    assert decode(text.encode()) == text


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=3000),
    declared=st.sampled_from([None, "utf-8", "windows-1251", "utf-16", "bogus"]),
    is_html=st.booleans(),
)
def test_any_bytes_give_text_or_a_clean_error(data, declared, is_html):
    try:
        text = decode(data, declared=declared, is_html=is_html)
    except CleanError as exc:
        assert str(exc).startswith("binary file (")
    else:
        assert "\x00" not in text and "\r" not in text


# --- read_bytes ------------------------------------------------------------------------------


def test_read_bytes_returns_the_content(tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(b"<p>hello</p>")
    assert read_bytes(path) == b"<p>hello</p>"
    assert read_bytes(str(path), max_bytes=12) == b"<p>hello</p>"


def test_read_bytes_refuses_an_empty_file(tmp_path):
    path = tmp_path / "empty.html"
    path.write_bytes(b"")
    with pytest.raises(CleanError) as caught:
        read_bytes(path)
    assert str(caught.value) == "file is empty"


def test_read_bytes_refuses_a_folder(tmp_path):
    with pytest.raises(CleanError) as caught:
        read_bytes(tmp_path)
    assert str(caught.value) == "not a regular file; pass a saved page"


@pytest.mark.parametrize(
    "size, max_bytes, message",
    [
        (150, 100, "file is 150 bytes, over the 100 bytes limit; raise --max-bytes or split it"),
        (3 * 1024 + 512, 2048, "file is 3.5 KB, over the 2 KB limit; raise --max-bytes or split it"),
        (int(52.4 * MB), 20 * MB, "file is 52.4 MB, over the 20 MB limit; raise --max-bytes or split it"),
        (20 * MB + 1, 20 * MB, "file is 20971521 bytes, over the 20971520 bytes limit; raise --max-bytes or split it"),
    ],
)
def test_read_bytes_refuses_a_file_over_the_limit(tmp_path, size, max_bytes, message):
    path = tmp_path / "big.html"
    with open(path, "wb") as f:
        f.truncate(size)  # sparse: the size is real, the disk use is not
    with pytest.raises(CleanError) as caught:
        read_bytes(path, max_bytes=max_bytes)
    assert str(caught.value) == message


def test_a_real_50_mb_file_is_refused_fast_without_reading_it(tmp_path, monkeypatch):
    path = tmp_path / "huge.html"
    chunk = b"<p>" + b"a" * (MB - 3)
    with open(path, "wb") as f:
        for _ in range(50):
            f.write(chunk)
    assert path.stat().st_size == 50 * MB

    def no_open(*args, **kwargs):
        raise AssertionError("the file was opened")

    # A module global shadows the builtin, so only read_bytes is affected.
    monkeypatch.setattr(decode_module, "open", no_open, raising=False)
    start = time.perf_counter()
    with pytest.raises(CleanError) as caught:
        read_bytes(path)
    assert time.perf_counter() - start < 0.1
    assert str(caught.value) == "file is 50 MB, over the 20 MB limit; raise --max-bytes or split it"


# --- XML declarations ------------------------------------------------------------------------

EURO = "Der Preis beträgt 5 € für alle Bürger."


def test_an_xml_declaration_declares_the_charset():
    html = f'<?xml version="1.0" encoding="iso-8859-15"?>\n<html><body><p>{EURO}</p></body></html>'
    assert decode(html.encode("iso-8859-15"), is_html=True) == html


def test_an_xml_declaration_is_ignored_when_not_html():
    text = f'<?xml version="1.0" encoding="iso-8859-15"?> {EURO}'
    assert "€" not in decode(text.encode("iso-8859-15"))


def test_an_xml_declaration_that_lies_is_not_trusted():
    html = f'<?xml version="1.0" encoding="utf-8"?><html><body><p>{RU}</p></body></html>'
    assert decode(html.encode("windows-1251"), is_html=True) == html
