"""Tests for indexer.extract.dates: parsing dates from metadata, URLs and body text."""

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.extract import dates
from indexer.extract.dates import MONTHS, PartialDate, combine, date_from_text, date_from_url, parse_date

THIS_YEAR = 2025


@pytest.fixture(autouse=True)
def pinned_year(monkeypatch):
    """Pin "this year" so the plausibility and two-digit-year rules give fixed answers."""
    monkeypatch.setattr(dates, "_current_year", lambda: THIS_YEAR)


def d(year, month, day, source):
    """Shorthand for an expected PartialDate."""
    return PartialDate(year, month, day, source)


# --- MONTHS ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, number",
    [
        ("january", 1),
        ("feb", 2),
        ("sept", 9),
        ("dec", 12),
        ("февраля", 2),
        ("февраль", 2),
        ("мая", 5),
        ("нояб", 11),
        ("лютого", 2),
        ("лютий", 2),
        ("травня", 5),
        ("листопада", 11),
        ("лютага", 2),
        ("люты", 2),
        ("сакавіка", 3),
        ("жніўня", 8),
        ("снежня", 12),
        ("februar", 2),
        ("märz", 3),
        ("maerz", 3),
        ("dezember", 12),
        ("février", 2),
        ("fevrier", 2),
        ("août", 8),
        ("décembre", 12),
        ("lutego", 2),
        ("luty", 2),
        ("września", 9),
        ("października", 10),
        ("grudnia", 12),
    ],
)
def test_months_maps_names_of_every_language(name, number):
    assert MONTHS[name] == number


def test_months_keys_are_lower_case():
    assert all(name == name.lower() for name in MONTHS)


@pytest.mark.parametrize("word", ["лист", "lis", "sie", "lut"])
def test_months_leaves_out_short_forms_that_are_ordinary_words(word):
    assert word not in MONTHS


def test_current_year_is_today_unpinned(monkeypatch):
    monkeypatch.undo()
    assert dates._current_year() == datetime.date.today().year


# --- parse_date: ISO and numeric -------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2023-02-01", d(2023, 2, 1, "meta")),
        ("2023-02-01T10:00:00+03:00", d(2023, 2, 1, "meta")),
        ("2023-02-01T10:00:00Z", d(2023, 2, 1, "meta")),
        ("2023-02-01T10:00:00.123+0300", d(2023, 2, 1, "meta")),
        ("2023-02-01 10:00", d(2023, 2, 1, "meta")),
        # The written date is kept: shifting by the zone would move it away from the page's day.
        ("2023-02-01T23:30:00-05:00", d(2023, 2, 1, "meta")),
        ("2023-2-1", d(2023, 2, 1, "meta")),
        ("2023/02/01", d(2023, 2, 1, "meta")),
        ("2023.02.01", d(2023, 2, 1, "meta")),
        ("2023-02", d(2023, 2, None, "meta")),
        ("2023", d(2023, None, None, "meta")),
        ("  2023-02-01\n", d(2023, 2, 1, "meta")),
        ("20230201", d(2023, 2, 1, "meta")),
        ("20230201T100000Z", d(2023, 2, 1, "meta")),
    ],
)
def test_parse_date_iso_and_compact(text, expected):
    assert parse_date(text, "meta") == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("01.02.2023", d(2023, 2, 1, "manifest")),
        ("1.2.2023", d(2023, 2, 1, "manifest")),
        ("01-02-2023", d(2023, 2, 1, "manifest")),
        ("01.02.2023 10:30", d(2023, 2, 1, "manifest")),
        ("01.02.2023 г.", d(2023, 2, 1, "manifest")),
        ("02/01/2023", d(2023, 2, 1, "manifest")),
        ("2/1/2023", d(2023, 2, 1, "manifest")),
        ("13/02/2023", d(2023, 2, 13, "manifest")),
        ("02/13/2023", d(2023, 2, 13, "manifest")),
        ("13.02.2023", d(2023, 2, 13, "manifest")),
        ("02.13.2023", d(2023, 2, 13, "manifest")),
    ],
)
def test_parse_date_numeric_day_and_month_order(text, expected):
    assert parse_date(text, "manifest") == expected


@pytest.mark.parametrize(
    "text, dayfirst, expected",
    [
        ("02/01/2023", True, d(2023, 1, 2, "x")),
        ("02/01/2023", None, d(2023, 2, 1, "x")),
        ("02/01/2023", False, d(2023, 2, 1, "x")),
        ("01.02.2023", False, d(2023, 1, 2, "x")),
        ("01.02.2023", True, d(2023, 2, 1, "x")),
        ("13/02/2023", False, d(2023, 2, 13, "x")),
    ],
)
def test_parse_date_dayfirst(text, dayfirst, expected):
    assert parse_date(text, "x", dayfirst=dayfirst) == expected


@pytest.mark.parametrize(
    "text, year",
    [
        ("01.02.23", 2023),
        ("01.02.00", 2000),
        ("01.02.26", 2026),  # Last two digits of this year + 1: still this century.
        ("01.02.27", 1927),
        ("01.02.99", 1999),
    ],
)
def test_parse_date_two_digit_years(text, year):
    assert parse_date(text, "x") == d(year, 2, 1, "x")


# --- parse_date: month names -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        # RFC 2822 / HTTP Last-Modified.
        ("Wed, 01 Feb 2023 10:00:00 GMT", d(2023, 2, 1, "http")),
        ("Wed, 1 Feb 2023 10:00:00 +0300", d(2023, 2, 1, "http")),
        ("Wednesday, 01-Feb-23 10:00:00 GMT", d(2023, 2, 1, "http")),
        ("Wed Feb  1 10:00:00 2023", d(2023, 2, 1, "http")),
        # English.
        ("February 1, 2023", d(2023, 2, 1, "http")),
        ("Feb. 1, 2023", d(2023, 2, 1, "http")),
        ("Feb 1 2023", d(2023, 2, 1, "http")),
        ("1 February 2023", d(2023, 2, 1, "http")),
        ("1 Feb. 2023", d(2023, 2, 1, "http")),
        ("Wednesday, February 1, 2023", d(2023, 2, 1, "http")),
        ("Wed, February 1, 2023", d(2023, 2, 1, "http")),
        ("1st February 2023", d(2023, 2, 1, "http")),
        ("February 1st, 2023", d(2023, 2, 1, "http")),
        ("22nd of March 2023", d(2023, 3, 22, "http")),
        ("Sept. 3, 2023", d(2023, 9, 3, "http")),
        ("FEBRUARY 1, 2023", d(2023, 2, 1, "http")),
        ("February 1, 2023 at 10:00 am", d(2023, 2, 1, "http")),
        ("February 2023", d(2023, 2, None, "http")),
        ("Feb 2023", d(2023, 2, None, "http")),
        # Russian.
        ("1 февраля 2023 г.", d(2023, 2, 1, "http")),
        ("1 февраля 2023 года", d(2023, 2, 1, "http")),
        ("1 ФЕВРАЛЯ 2023", d(2023, 2, 1, "http")),
        ("среда, 1 февраля 2023", d(2023, 2, 1, "http")),
        ("1 фев 2023", d(2023, 2, 1, "http")),
        ("Февраль 2023", d(2023, 2, None, "http")),
        ("1 февраля 2023, 10:30", d(2023, 2, 1, "http")),
        # Ukrainian.
        ("1 лютого 2023", d(2023, 2, 1, "http")),
        ("01 лютого 2023 року", d(2023, 2, 1, "http")),
        ("1 лютого 2023 р.", d(2023, 2, 1, "http")),
        ("лютий 2023", d(2023, 2, None, "http")),
        ("15 листопада 2022", d(2022, 11, 15, "http")),
        # Belarusian.
        ("25 сакавіка 2023", d(2023, 3, 25, "http")),
        ("1 лютага 2023 г.", d(2023, 2, 1, "http")),
        ("9 траўня 2023", d(2023, 5, 9, "http")),
        ("Сакавік 2023", d(2023, 3, None, "http")),
        # German, French, Polish.
        ("1. Februar 2023", d(2023, 2, 1, "http")),
        ("Mittwoch, 1. Februar 2023", d(2023, 2, 1, "http")),
        ("3. März 2023", d(2023, 3, 3, "http")),
        ("1er février 2023", d(2023, 2, 1, "http")),
        ("mercredi 1er février 2023", d(2023, 2, 1, "http")),
        ("15 août 2023", d(2023, 8, 15, "http")),
        ("1 lutego 2023", d(2023, 2, 1, "http")),
        ("1 lutego 2023 r.", d(2023, 2, 1, "http")),
        ("12 października 2023", d(2023, 10, 12, "http")),
    ],
)
def test_parse_date_month_names(text, expected):
    assert parse_date(text, "http") == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("February 1", d(None, 2, 1, "meta")),
        ("Feb. 1", d(None, 2, 1, "meta")),
        ("1 February", d(None, 2, 1, "meta")),
        ("1 лютого", d(None, 2, 1, "meta")),
        ("1 февраля", d(None, 2, 1, "meta")),
        ("29 February", d(None, 2, 29, "meta")),  # Exists in leap years; the year is unknown.
    ],
)
def test_parse_date_without_year_never_invents_one(text, expected):
    found = parse_date(text, "meta")
    assert found == expected
    assert found.precision == "no-year"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "foo",
        "today",
        "2023-13-01",
        "2023-02-30",
        "2023-00-10",
        "Feb 30, 2023",
        "30 февраля 2023",
        "February 30",
        "13/13/2023",
        "32.01.2023",
        "29.02.2023",
        "1899-12-31",
        "2027-01-01",
        "01.02.1850",
        "Hello, February 1, 2023",
        "2023.5",
        "12345",
        "1.2 million",
        "10:30",
        "February",
        "1 2 3",
        "2023-02-01 and more text",
    ],
)
def test_parse_date_rejects_non_dates(text):
    assert parse_date(text, "meta") is None


@pytest.mark.parametrize("name", sorted(MONTHS))
def test_parse_date_reads_every_month_name(name):
    assert parse_date(f"7 {name} 2023", "x") == d(2023, MONTHS[name], 7, "x")
    assert parse_date(f"{name.upper()} 7, 2023", "x") == d(2023, MONTHS[name], 7, "x")
    assert parse_date(f"{name} 2023", "x") == d(2023, MONTHS[name], None, "x")


def test_parse_date_accepts_next_year():
    assert parse_date("2026-01-05", "meta") == d(2026, 1, 5, "meta")


def test_parse_date_keeps_leap_day_in_leap_year():
    assert parse_date("29.02.2024", "meta") == d(2024, 2, 29, "meta")


# --- date_from_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://example.org/2023/02/01/slug", d(2023, 2, 1, "url")),
        ("https://example.org/news/2023/02/01", d(2023, 2, 1, "url")),
        ("https://example.org/news/2023-02-01-statement", d(2023, 2, 1, "url")),
        ("https://example.org/news/20230201/", d(2023, 2, 1, "url")),
        ("https://example.org/press/statement-20230201.html", d(2023, 2, 1, "url")),
        ("https://example.org/files/release_2023_02_01.pdf", d(2023, 2, 1, "url")),
        ("https://example.org/2023/2/1/slug", d(2023, 2, 1, "url")),
        ("https://example.org/news/2023/02/", d(2023, 2, None, "url")),
        ("https://example.org/news/2023/02/us-sanctions", d(2023, 2, None, "url")),
        ("https://example.org/news/2023-02/", d(2023, 2, None, "url")),
        ("https://example.org/2023/02/123456-title", d(2023, 2, None, "url")),
        # No 30 February: the third number is read as an id under the month archive.
        ("https://example.org/2023/02/30/slug", d(2023, 2, None, "url")),
        ("https://example.org/news?date=2023-02-01", d(2023, 2, 1, "url")),
        ("https://example.org/news?id=5&pubDate=01.02.2023", d(2023, 2, 1, "url")),
        ("https://example.org/news?d=20230201", d(2023, 2, 1, "url")),
    ],
)
def test_date_from_url(url, expected):
    assert date_from_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/news/2023/",
        "https://example.org/2023",
        "https://example.org/news/66988",
        "https://example.org/release_12688",
        "https://example.org/news/12345678",
        "https://example.org/2023/13/01/slug",
        "https://example.org/report-2023-2",
        "https://example.org/1850/02/01/",
        "https://example.org/news?id=2023",
        "https://example.org/news?width=20230201",
        "https://example.org/news?date=2023",
        "https://example2023.org/news/",
        "",
    ],
)
def test_date_from_url_rejects_ids_and_bare_years(url):
    assert date_from_url(url) is None


# --- date_from_text --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("WASHINGTON, Feb. 1, 2023 – The Department announced", d(2023, 2, 1, "text")),
        ("WASHINGTON (Feb. 1, 2023) — The Department announced", d(2023, 2, 1, "text")),
        ("KYIV, 1 February 2023 – Ukrainian NGOs said", d(2023, 2, 1, "text")),
        ("Monday, February 1, 2023\nThe committee met", d(2023, 2, 1, "text")),
        ("GENEVA (1 February 2023) – UN experts today", d(2023, 2, 1, "text")),
        ("MINSK, March 5th, 2023. Human rights defenders", d(2023, 3, 5, "text")),
        ("LONDON, MAY 5, 2023 — Campaigners", d(2023, 5, 5, "text")),
        ("Київ, 1 лютого 2023 року. Правозахисники", d(2023, 2, 1, "text")),
        ("Москва, 1 февраля 2023 г. Правозащитники", d(2023, 2, 1, "text")),
        ("Мінск, 25 сакавіка 2023. Праваабаронцы", d(2023, 3, 25, "text")),
        ("Berlin, 1. Februar 2023 – Die Organisation", d(2023, 2, 1, "text")),
        ("Paris, le 1er février 2023 – Les défenseurs", d(2023, 2, 1, "text")),
        ("Warszawa, 1 lutego 2023 r. Organizacja", d(2023, 2, 1, "text")),
        ("Опубліковано 01.02.2023 о 10:30", d(2023, 2, 1, "text")),
        ("Published 10:30 01.02.2023", d(2023, 2, 1, "text")),
        ("(01.02.2023) Statement", d(2023, 2, 1, "text")),
        ("Posted 2023-02-01T10:00 by admin", d(2023, 2, 1, "text")),
        ("Dated 02/01/2023 in New York", d(2023, 2, 1, "text")),
        ("Dated 12.13.2023 in New York", d(2023, 12, 13, "text")),  # No month 13: month first.
        ("Hearings on February 1–3, 2023 were closed", d(2023, 2, 1, "text")),
        ("Hearings on 1–3 February 2023 were closed", d(2023, 2, 1, "text")),
        ("On February 1 at the Museum of Free Belarus representatives met", d(None, 2, 1, "text")),
        ("On 1 лютого activists gathered", d(None, 2, 1, "text")),
        ("The trial opened on 12 October. Hearings resumed in 2023.", d(None, 10, 12, "text")),
        # "1500" cannot be a year here, so it is a count and the date keeps no year.
        ("On 1 February 1500 people marched", d(None, 2, 1, "text")),
    ],
)
def test_date_from_text(text, expected):
    assert date_from_text(text) == expected


@pytest.mark.parametrize("name", sorted(MONTHS))
def test_date_from_text_reads_every_month_name(name):
    text = f"CITY, 7 {name.capitalize()} 2023 – Statement. Also 5 {name.capitalize()}."
    assert date_from_text(text) == d(2023, MONTHS[name], 7, "text")


ENGLISH = [
    None,
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
PLAUSIBLE = st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(THIS_YEAR + 1, 12, 31))


# Derandomised and without an example database: the same examples on every run, no files left.
@settings(derandomize=True, database=None)
@given(PLAUSIBLE)
def test_round_trip_of_written_dates(day):
    expected = (day.year, day.month, day.day)
    for text in (
        day.isoformat(),
        day.strftime("%Y%m%d"),
        day.strftime("%d.%m.%Y"),
        day.strftime("%m/%d/%Y"),
        f"{day.day} {ENGLISH[day.month]} {day.year}",
        f"{ENGLISH[day.month]} {day.day}, {day.year}",
    ):
        found = parse_date(text, "x")
        assert (found.year, found.month, found.day) == expected, text
    text = f"WASHINGTON, {ENGLISH[day.month][:3]}. {day.day}, {day.year} – The agency said 1.2 million"
    found = date_from_text(text)
    assert (found.year, found.month, found.day) == expected
    found = date_from_url(f"https://example.org/news/{day:%Y/%m/%d}/slug-12688")
    assert (found.year, found.month, found.day) == expected


def test_date_from_text_brief_example_and_combine_with_url():
    text = "On February 1 at the Museum of Free Belarus representatives of the diaspora met."
    found = date_from_text(text)
    assert found == d(None, 2, 1, "text")
    assert found.iso() == "--02-01"
    url = date_from_url("https://example.org/news/2023/02/us-sanctions")
    combined = combine(found, url)
    assert combined == d(2023, 2, 1, "text+url")
    assert combined.iso() == "2023-02-01"


def test_date_from_text_prefers_full_date_near_top_over_earlier_no_year():
    text = "On February 1 the court met. " + "x " * 50 + "Statement of 3 February 2023."
    assert text.index("2023") < 400
    assert date_from_text(text) == d(2023, 2, 3, "text")


def test_date_from_text_keeps_first_no_year_when_full_date_is_far_down():
    text = "On February 1 the court met. " + "word " * 200 + "Statement of 3 February 2023."
    assert text.index("3 February 2023") > 400
    assert date_from_text(text) == d(None, 2, 1, "text")


def test_date_from_text_takes_first_full_date():
    text = "KYIV, 1 February 2023. The court ruled on 15 January 2022 that"
    assert date_from_text(text) == d(2023, 2, 1, "text")


def test_date_from_text_honours_limit():
    text = "x" * 100 + " 1 February 2023"
    assert date_from_text(text, limit=100) is None
    assert date_from_text(text, limit=200) == d(2023, 2, 1, "text")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "No dates here at all.",
        "The meeting starts at 10.30 and ends at 12:45.",
        "The fund raised 1.2 million dollars and 3,500 euros.",
        "In March 1.2 million people signed.",
        "Prices rose 12.5% to 1.200.000 roubles.",
        "Call +7 (495) 12-11-2019 or +375 17 200-20-20 for comments.",
        "Tel. 8-017-12-10-2020, fax 8-017-12-10-2021.",
        "Update to version 4.12.2021 or v1.2.2023 of the app.",
        "Server 192.168.10.20 and release 1.2.3 went down.",
        "Section 10.12.15 of the code applies.",
        "They may 5 times appeal; we march 10 km.",
        "Article 30 February and Feb 30, 2023 are not dates.",
        "The report covers 2019 to 2023 and 66988 cases.",
        "On 13.13.2023 nothing happened.",
        "In 1850 and on 01.02.1850 and 01.02.2040 nothing happened.",
    ],
)
def test_date_from_text_rejects_non_dates(text):
    assert date_from_text(text) is None


# --- combine ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "extracted, signal, expected",
    [
        (d(None, 2, 1, "text"), d(2023, 2, None, "url"), d(2023, 2, 1, "text+url")),
        (d(None, 2, 1, "text"), d(2023, 2, 5, "http"), d(2023, 2, 1, "text+http")),
        (d(None, 2, 1, "text"), d(2023, None, None, "manifest"), d(2023, 2, 1, "text+manifest")),
        # Month disagrees: the signal is about something else.
        (d(None, 2, 1, "text"), d(2023, 3, None, "url"), d(None, 2, 1, "text")),
        (d(None, 12, 31, "text"), d(2024, 1, None, "url"), d(None, 12, 31, "text")),
        # No year in the signal either.
        (d(None, 2, 1, "text"), d(None, 2, 1, "meta"), d(None, 2, 1, "text")),
        (d(None, 2, 1, "text"), None, d(None, 2, 1, "text")),
        # A date with a year is never overridden.
        (d(2022, 2, 1, "json-ld"), d(2023, 2, None, "url"), d(2022, 2, 1, "json-ld")),
        (d(2022, 2, None, "meta"), d(2023, 2, 1, "url"), d(2022, 2, None, "meta")),
        (None, d(2023, 2, None, "url"), d(2023, 2, None, "url")),
        (None, None, None),
        # 29 February only takes a leap year.
        (d(None, 2, 29, "text"), d(2023, 2, None, "url"), d(None, 2, 29, "text")),
        (d(None, 2, 29, "text"), d(2024, 2, None, "url"), d(2024, 2, 29, "text+url")),
    ],
)
def test_combine(extracted, signal, expected):
    assert combine(extracted, signal) == expected


# --- spaced numeric dates, labels, every date of a text ----------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("4. 2. 2022", d(2022, 2, 4, "meta")),
        ("04.\u200902.\u20092022", d(2022, 2, 4, "meta")),
        # Only dots take a space: "4/ 2/ 2022" is no typesetting convention.
        ("4/ 2/ 2022", None),
    ],
)
def test_numeric_dates_with_a_space_after_each_dot(text, expected):
    assert parse_date(text, "meta") == expected


def test_numeric_dates_with_spaces_in_running_text():
    assert date_from_text("Von Deutscher Tennis Bund 4.\u20092.\u20092022.") == d(2022, 2, 4, "text")
    # A numbered list is not a date.
    assert date_from_text("Points 1. 2. and 3. were agreed") is None


@pytest.mark.parametrize(
    "text, dayfirst, expected",
    [
        ("Written: 2023-11-07 15:03:30 / Updated: 2023-11-09", None, d(2023, 11, 7, "label")),
        ("Erschienen am: 01.11.2023 Lesungen: 61", None, d(2023, 11, 1, "label")),
        ("Published on Tuesday, 3 May 2022", None, d(2022, 5, 3, "label")),
        ("Опубликовано 1 февраля 2023 г.", None, d(2023, 2, 1, "label")),
        # The noun forms a page's metadata list writes: "Mise en ligne" (put online), "Data publikacji".
        ("Un documentaire de K. F. Mise en ligne 23 mai 2019 Enregistrements", None, d(2019, 5, 23, "label")),
        ("Data publikacji: 12.03.2021", True, d(2021, 3, 12, "label")),
        ("Veröffentlichungsdatum 4. Februar 2022", None, d(2022, 2, 4, "label")),
        ("Publicado el 03/05/2022", True, d(2022, 5, 3, "label")),
        ("Publicado el 03/05/2022", None, d(2022, 3, 5, "label")),
        # Running text names other events' dates; a label starts with a capital.
        ("The report was published on 3 May 2022.", None, None),
        # A label without a whole date, or too far from it.
        ("Published: May 2022", None, None),
        ("Published by the committee for the press and the public, 3 May 2022", None, None),
    ],
)
def test_labelled_date(text, dayfirst, expected):
    assert dates.labelled_date(text, dayfirst=dayfirst) == expected


def test_dates_in_text_are_the_full_dates_only():
    text = "On 3 May 2022 and 12.01.2022, in March 2021, on 1 February, 1.2 million, 03/05/2022"
    assert dates.dates_in_text(text) == {"2022-05-03", "2022-01-12", "2022-03-05"}
    assert dates.dates_in_text(text, dayfirst=True) == {"2022-05-03", "2022-01-12"}


def test_full_dates_counts_each_time_a_date_is_written():
    assert dates.full_dates("3 May 2022, then 12.01.2022 and again on May 3, 2022") == [
        "2022-05-03",
        "2022-01-12",
        "2022-05-03",
    ]


@pytest.mark.parametrize(
    "lang, expected", [("es", True), ("de-DE", True), ("en-GB", True), ("en", False), ("en_US", False), (None, None)]
)
def test_day_first(lang, expected):
    assert dates.day_first(lang) is expected


def test_a_dateline_reads_slashes_as_its_language_does():
    assert dates.date_from_lead(["Madrid 3/5/2022 22:41"], dayfirst=True) == d(2022, 5, 3, "text")
    assert dates.date_from_lead(["Madrid 3/5/2022 22:41"]) == d(2022, 3, 5, "text")


def test_an_update_line_is_not_a_dateline():
    assert dates.date_from_lead(["Last Updated: January 7, 2025", "Geneva, 10 July 2020 - The committee"]) == d(
        2020, 7, 10, "text"
    )
    assert dates.date_from_lead(["Aktualisiert am 17.01.2021"]) is None
