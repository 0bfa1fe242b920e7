"""Hostile and broken input: each bad file gets a clear message, and nothing else is lost."""

from __future__ import annotations

import time

import pytest

from indexer.extract.clean import clean_file, clean_paths
from indexer.extract.errors import CleanError

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
