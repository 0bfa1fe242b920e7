"""Publication dates: partial dates that never invent a year, parsed from many forms."""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class PartialDate:
    """A date whose year, month or day may be unknown, and where it was found."""

    year: int | None
    month: int | None
    day: int | None
    source: str = "unknown"

    @property
    def precision(self) -> str:
        """Return "day", "month", "year" or "no-year" (month and day known, year not)."""
        if self.year is None:
            return "no-year"
        if self.month is None:
            return "year"
        if self.day is None:
            return "month"
        return "day"

    def iso(self) -> str:
        """Return ISO 8601: YYYY-MM-DD, YYYY-MM, YYYY, or --MM-DD when the year is unknown."""
        if self.year is None:
            return f"--{self.month:02d}-{self.day:02d}" if self.day else f"--{self.month:02d}"
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"


# --- month names -----------------------------------------------------------------------------

# One tuple per month, January first; every spelling a page may use, lower case.
_MONTH_FORMS: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (
        ("january", "jan"),
        ("february", "feb"),
        ("march", "mar"),
        ("april", "apr"),
        ("may",),
        ("june", "jun"),
        ("july", "jul"),
        ("august", "aug"),
        ("september", "sep", "sept"),
        ("october", "oct"),
        ("november", "nov"),
        ("december", "dec"),
    ),
    # Nominative, genitive ("1 февраля") and the short forms of site date widgets.
    "ru": (
        ("январь", "января", "янв"),
        ("февраль", "февраля", "фев", "февр"),
        ("март", "марта", "мар"),
        ("апрель", "апреля", "апр"),
        ("май", "мая"),
        ("июнь", "июня", "июн"),
        ("июль", "июля", "июл"),
        ("август", "августа", "авг"),
        ("сентябрь", "сентября", "сен", "сент"),
        ("октябрь", "октября", "окт"),
        ("ноябрь", "ноября", "ноя", "нояб"),
        ("декабрь", "декабря", "дек"),
    ),
    # No short forms: Ukrainian and Belarusian ones are ordinary words ("лист" is "letter").
    "uk": (
        ("січень", "січня"),
        ("лютий", "лютого"),
        ("березень", "березня"),
        ("квітень", "квітня"),
        ("травень", "травня"),
        ("червень", "червня"),
        ("липень", "липня"),
        ("серпень", "серпня"),
        ("вересень", "вересня"),
        ("жовтень", "жовтня"),
        ("листопад", "листопада"),
        ("грудень", "грудня"),
    ),
    "be": (
        ("студзень", "студзеня"),
        ("люты", "лютага"),
        ("сакавік", "сакавіка"),
        ("красавік", "красавіка"),
        ("травень", "траўня"),
        ("чэрвень", "чэрвеня"),
        ("ліпень", "ліпеня"),
        ("жнівень", "жніўня"),
        ("верасень", "верасня"),
        ("кастрычнік", "кастрычніка"),
        ("лістапад", "лістапада"),
        ("снежань", "снежня"),
    ),
    # Spellings without diacritics too: URLs, old CMSs and hand-typed pages drop them.
    "de": (
        ("januar", "jänner", "jan"),
        ("februar", "feb"),
        ("märz", "maerz", "mär"),
        ("april", "apr"),
        ("mai",),
        ("juni", "jun"),
        ("juli", "jul"),
        ("august", "aug"),
        ("september", "sep", "sept"),
        ("oktober", "okt"),
        ("november", "nov"),
        ("dezember", "dez"),
    ),
    "fr": (
        ("janvier", "janv"),
        ("février", "fevrier", "févr", "fevr"),
        ("mars",),
        ("avril", "avr"),
        ("mai",),
        ("juin",),
        ("juillet", "juil"),
        ("août", "aout"),
        ("septembre", "sept"),
        ("octobre", "oct"),
        ("novembre", "nov"),
        ("décembre", "decembre", "déc"),
    ),
    # No short forms: "lis", "sie", "lut" are common Polish words.
    "pl": (
        ("styczeń", "stycznia", "styczen"),
        ("luty", "lutego"),
        ("marzec", "marca"),
        ("kwiecień", "kwietnia", "kwiecien"),
        ("maj", "maja"),
        ("czerwiec", "czerwca"),
        ("lipiec", "lipca"),
        ("sierpień", "sierpnia", "sierpien"),
        ("wrzesień", "września", "wrzesien", "wrzesnia"),
        ("październik", "października", "pazdziernik", "pazdziernika"),
        ("listopad", "listopada"),
        ("grudzień", "grudnia", "grudzien"),
    ),
}


def _build_months(forms: dict[str, tuple[tuple[str, ...], ...]]) -> dict[str, int]:
    """Flatten the per-language month forms into name -> month number, refusing clashes."""
    months: dict[str, int] = {}
    for table in forms.values():
        for number, names in enumerate(table, start=1):
            for name in names:
                if months.setdefault(name, number) != number:
                    raise ValueError(f"month name {name!r} means two months")
    return months


MONTHS: dict[str, int] = _build_months(_MONTH_FORMS)

# Weekdays only ever precede a date; knowing them lets parse_date refuse other leading words.
_WEEKDAYS = frozenset(
    """
    monday tuesday wednesday thursday friday saturday sunday
    mon tue tues wed thu thur thurs fri sat sun
    понедельник вторник среда четверг пятница суббота воскресенье пн вт ср чт пт сб вс
    понеділок вівторок середа четвер пʼятниця п'ятниця субота неділя нд
    панядзелак аўторак серада чацвер пятніца субота нядзеля аў чц
    montag dienstag mittwoch donnerstag freitag samstag sonnabend sonntag mo di mi do fr sa so
    lundi mardi mercredi jeudi vendredi samedi dimanche lun mar mer jeu ven sam dim
    poniedziałek wtorek środa czwartek piątek sobota niedziela
    poniedzialek sroda piatek pon wt śr czw pt sob niedz
""".split()
)

# English month names that are also everyday words: in running text only a capital
# makes them dates.
_ORDINARY_WORDS = frozenset({"may", "march", "august"})


def _trie_alternation(words: list[str]) -> str:
    """Return a regex alternation of words, factored as a trie so matching stays linear."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _render_trie(trie)


def _render_trie(node: dict) -> str:
    """Render one trie node as a regex fragment (helper of _trie_alternation)."""
    branches = [re.escape(ch) + _render_trie(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if "" in node else body


# --- regexes (compiled once: these run on every page) ------------------------------------------

# The leading class turns away most positions in one step, before the trie is tried.
_MONTH = (
    "(?=["
    + "".join(sorted({name[0] for name in MONTHS}))
    + r"])(?<![^\W\d_])(?:"
    + _trie_alternation(sorted(MONTHS))
    + r")(?![^\W\d_])"
)
_ORDINAL = r"(?:st|nd|rd|th|er)?"
# "2023 г.", "2023 года", "2023 року", "2023 r." follow years in Slavic languages.
_YEAR_WORD = r"(?:\s*(?:г|р|r)\.?|\s+(?:года|году|год|року|рік|roku|rok))?"
# A time and zone after the date ("10:00:00 GMT", "at 10:30 am", "um 10.30 Uhr") is skipped.
_TIME = (
    r"(?:(?:,\s*|\s+|T)(?:at\s+|um\s+|à\s+|в\s+|о\s+|o\s+)?"
    r"\d{1,2}[:.h]\d{2}(?:[:.]\d{2}(?:[.,]\d+)?)?(?:\s*[ap]\.?m\.?)?"
    r"(?:\s*(?:Z|[+-]\d{2}(?::?\d{2})?|[A-Za-z]{2,5}(?:[+-]\d{1,2})?|Uhr))?)?"
)

_ISO_RE = re.compile(
    r"(\d{4})(?:([-/.])(\d{1,2})(?:\2(\d{1,2})"
    r"(?:[T\s]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT)?)?)?)?",
    re.IGNORECASE,
)
_COMPACT_RE = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T\d{4}(?:\d{2})?(?:Z|[+-]\d{4})?)?", re.IGNORECASE)
# German and Czech typesetting puts a (thin) space after each dot: "4. 2. 2022".
_NUMERIC_RE = re.compile(
    r"(\d{1,2})([./-])(?:(?<=\.) )?(\d{1,2})\2(?:(?<=\.) )?(\d{4}|\d{2})" + _YEAR_WORD + _TIME + r"\.?", re.IGNORECASE
)
_WEEKDAY_PREFIX = r"(?:(?P<wd>[^\W\d_]+[ʼ']?[^\W\d_]*)\.?,?\s+)?"
# "1 February 2023", "1st of Feb. 2023", "1. Februar 2023", "01-Feb-23" (RFC 850), "1 лютого".
_DMY_RE = re.compile(
    _WEEKDAY_PREFIX
    + r"(?P<d>\d{1,2})"
    + _ORDINAL
    + r"(?:\.\s*|\s+|-)(?:of\s+)?(?P<m>"
    + _MONTH
    + r")\.?"
    + r"(?:(?:,?\s+|-|\.\s*)(?P<y>\d{4}|\d{2}))?"
    + _YEAR_WORD
    + _TIME
    + r"\.?",
    re.IGNORECASE,
)
# "February 1, 2023", "Feb. 1st 2023", "February 1".
_MDY_RE = re.compile(
    _WEEKDAY_PREFIX
    + r"(?P<m>"
    + _MONTH
    + r")\.?\s*(?P<d>\d{1,2})"
    + _ORDINAL
    + r"(?:,?\s+(?P<y>\d{4}))?"
    + _YEAR_WORD
    + _TIME
    + r"\.?",
    re.IGNORECASE,
)
# asctime, which HTTP still allows in Last-Modified: "Wed Feb 1 10:00:00 2023".
_ASCTIME_RE = re.compile(
    r"(?P<wd>[a-z]{3}) (?P<m>" + _MONTH + r") (?P<d>\d{1,2}) \d{2}:\d{2}:\d{2} (?P<y>\d{4})", re.IGNORECASE
)
# "February 2023", "лютий 2023 р.".
_MY_RE = re.compile(r"(?P<m>" + _MONTH + r")\.?,?\s+(?P<y>\d{4})" + _YEAR_WORD + r"\.?", re.IGNORECASE)
_SPACES_RE = re.compile(r"\s+")

# Running text. Every date in it has a number, so the scan jumps from number to number (a
# pattern that starts with a digit class is searched in C) and stops only where a date can
# start: an ISO or numeric date, a day before a month name, or a day right after a word
# (_month_before then checks that word). The guards keep out versions and IP addresses (a
# dot or letter glued on), decimals ("1.2 million", "1,200"), times ("10.30": only two
# parts) and phone groups ("12-12-2020-11").
_TEXT_NUMBER_RE = re.compile(
    r"[0-9](?<![\w.,/:+-][0-9])(?:"
    r"[0-9]{3}-[0-9]{2}-[0-9]{2}(?![0-9])"
    r"|[0-9]?([./-])(?:(?<=\.)\s)?[0-9]{1,2}\1(?:(?<=\.)\s)?[0-9]{4}(?![0-9]|[.,/:-][0-9])"
    r"|[0-9]?(?:\s*[-–]\s*[0-9]{1,2})?"
    + _ORDINAL
    + r"\.?\s*(?:of\s+)?"
    + _MONTH
    + r"|(?P<after_word>(?<=[^\W\d_][\s.][0-9])|(?<=[^\W\d_][\s.]{2}[0-9])"
    r"|(?<=[^\W\d_][\s.]{3}[0-9]))[0-9]?(?![0-9]|[.,:][0-9]))",
    re.IGNORECASE,
)
# The same shapes as _TEXT_NUMBER_RE, read out where it stopped.
_TEXT_AT_NUMBER_RE = re.compile(
    r"(?P<iy>[0-9]{4})-(?P<im>[0-9]{2})-(?P<id>[0-9]{2})(?![0-9])"
    r"|(?P<na>[0-9]{1,2})(?P<ns>[./-])(?:(?<=\.)\s)?(?P<nb>[0-9]{1,2})(?P=ns)(?:(?<=\.)\s)?(?P<ny>[0-9]{4})"
    r"(?![0-9]|[.,/:-][0-9])"
    r"|(?P<dd>[0-9]{1,2})(?:\s*[-–]\s*[0-9]{1,2})?" + _ORDINAL + r"\.?\s*(?:of\s+)?"
    r"(?P<dm>" + _MONTH + r")\.?(?:,?\s*(?P<dy>[0-9]{4})(?![0-9]))?",
    re.IGNORECASE,
)
# What follows the month in "February 1, 2023", "Feb. 1-3, 2023", "February 1st".
_TEXT_DAY_YEAR_RE = re.compile(
    r"(?P<d>[0-9]{1,2})" + _ORDINAL + r"(?![0-9])(?:\s*[-–]\s*[0-9]{1,2}(?![0-9]))?"
    r"(?:,?\s*(?P<y>[0-9]{4})(?![0-9]))?",
    re.IGNORECASE,
)
_MONTH_AT_END_RE = re.compile(r"(?:" + _MONTH + r")\Z", re.IGNORECASE)
_LONGEST_MONTH = max(map(len, MONTHS))
# A number right after "+7 (495)" or "version" is a phone or a release, not a date.
_PHONE_OR_VERSION_BEFORE_RE = re.compile(
    r"(?:[+(][\s()+-]*[0-9][0-9\s()+-]*|\b(?:v|ver|version|версия|версія|wersja)\.?\s*)\Z", re.IGNORECASE
)

_URL_DAY_RE = re.compile(r"(?<!\d)(\d{4})[/_.-](\d{1,2})[/_.-](\d{1,2})(?!\d)")
_URL_COMPACT_RE = re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)")
# Month precision only for whole path segments ("/2023/02/", "/2023-02/"): "-2023-2" in a
# slug is as likely a serial number.
_URL_MONTH_RE = re.compile(r"(?:^|/)(\d{4})[/_-](\d{2})(?=/|$)")
# Keys that name a date ("date", "pubdate", "d"); matching "dt" anywhere would take "width".
_DATE_QUERY_KEY_RE = re.compile(r"date|^(?:d|dt|day|published|pub)$", re.IGNORECASE)

# A full date this close to the top is the page's own date, not one it mentions.
_LEAD_CHARS = 400


# --- helpers -------------------------------------------------------------------------------------


def _current_year() -> int:
    """Return this year; a function so tests can pin it."""
    return _dt.date.today().year


def _valid_day(year: int | None, month: int, day: int) -> bool:
    """Return whether the day exists in that month (29 February too when the year is unknown)."""
    return 1 <= day <= calendar.monthrange(year if year is not None else 2000, month)[1]


def _make(year: int | None, month: int | None, day: int | None, source: str, this_year: int) -> PartialDate | None:
    """Return a PartialDate if the parts form a real, plausible date, else None."""
    if year is not None and not 1900 <= year <= this_year + 1:
        return None
    if month is not None and not 1 <= month <= 12:
        return None
    if day is not None and (month is None or not _valid_day(year, month, day)):
        return None
    if year is None and (month is None or day is None):
        return None  # A month alone, or nothing, is not a date worth keeping.
    return PartialDate(year, month, day, source)


def _year(token: str | None, this_year: int) -> int | None:
    """Return a four-digit year from a two- or four-digit token; "23" is 2023, "99" is 1999."""
    if token is None:
        return None
    value = int(token)
    if len(token) == 2:
        return 2000 + value if value <= this_year % 100 + 1 else 1900 + value
    return value


def _numeric(
    first: int, second: int, year: int, sep: str, dayfirst: bool | None, source: str, this_year: int
) -> PartialDate | None:
    """Order two numbers as day and month: dots and dashes day-first, slashes month-first."""
    day_first = dayfirst if dayfirst is not None else sep != "/"
    # When one reading has a month above 12 the other is the only one left.
    if day_first and second > 12 >= first:
        day_first = False
    elif not day_first and first > 12 >= second:
        day_first = True
    day, month = (first, second) if day_first else (second, first)
    return _make(year, month, day, source, this_year)


def _month(token: str) -> int | None:
    """Return the month number for a month name or abbreviation, any case."""
    return MONTHS.get(token.lower())


# --- public API ----------------------------------------------------------------------------------


def parse_date(text: str, source: str, *, dayfirst: bool | None = None) -> PartialDate | None:
    """Parse a string that is a date (meta tag, JSON-LD, header) into a PartialDate, or None."""
    if not text or len(text) > 100:
        return None
    s = _SPACES_RE.sub(" ", text).strip()
    this_year = _current_year()

    m = _ISO_RE.fullmatch(s)
    if m:
        year, sep, month, day = m.groups()
        if sep == "." and day is None:
            return None  # "2023.5" is a number, not May 2023.
        return _make(int(year), int(month) if month else None, int(day) if day else None, source, this_year)
    m = _COMPACT_RE.fullmatch(s)
    if m:
        return _make(int(m[1]), int(m[2]), int(m[3]), source, this_year)
    m = _NUMERIC_RE.fullmatch(s)
    if m:
        return _numeric(int(m[1]), int(m[3]), _year(m[4], this_year), m[2], dayfirst, source, this_year)
    for regex in (_DMY_RE, _MDY_RE, _ASCTIME_RE):
        m = regex.fullmatch(s)
        if m and (m["wd"] is None or m["wd"].lower() in _WEEKDAYS):
            return _make(_year(m["y"], this_year), _month(m["m"]), int(m["d"]), source, this_year)
    m = _MY_RE.fullmatch(s)
    if m:
        return _make(int(m["y"]), _month(m["m"]), None, source, this_year)
    return None


def date_from_url(url: str) -> PartialDate | None:
    """Return the date in a URL's path ("/2023/02/01/", "/20230201/") or date query, or None."""
    parts = urlsplit(url)
    path = parts.path
    this_year = _current_year()
    for regex in (_URL_DAY_RE, _URL_COMPACT_RE):
        for m in regex.finditer(path):
            found = _make(int(m[1]), int(m[2]), int(m[3]), "url", this_year)
            if found:
                return found
    for key, value in parse_qsl(parts.query):
        if _DATE_QUERY_KEY_RE.search(key):
            found = parse_date(value, "url")
            if found and found.precision in ("day", "month"):
                return found
    for m in _URL_MONTH_RE.finditer(path):
        found = _make(int(m[1]), int(m[2]), None, "url", this_year)
        if found:
            return found
    return None


def _month_before(text: str, pos: int) -> re.Match | None:
    """Return the month name just before pos ("Feb. |1"), or None."""
    end = pos
    while end > 0 and pos - end < 3 and (text[end - 1].isspace() or text[end - 1] == "."):
        end -= 1
    if end == pos or end == 0 or not text[end - 1].isalpha():
        return None
    return _MONTH_AT_END_RE.search(text, max(0, end - _LONGEST_MONTH), end)


def _text_date(name: str, day: str, year: str | None, this_year: int) -> PartialDate | None:
    """Build the date of a month-name phrase in running text, or None if it is not one."""
    month = _month(name)
    if month is None or (name.lower() in _ORDINARY_WORDS and name[0].islower()):
        return None
    # "On 1 February 1500 people marched": an impossible year is a count, the date has no year.
    return (_make(int(year), month, int(day), "text", this_year) if year else None) or _make(
        None, month, int(day), "text", this_year
    )


def _text_candidate(
    text: str, pos: int, after_word: bool, this_year: int, dayfirst: bool | None = None
) -> tuple[PartialDate | None, int, int]:
    """Read the date around the number at pos: (date or None, start, end of the phrase)."""
    m = None if after_word else _TEXT_AT_NUMBER_RE.match(text, pos)
    if m is None:
        name = _month_before(text, pos)
        tail = _TEXT_DAY_YEAR_RE.match(text, pos) if name else None
        if tail is None:
            return None, pos, pos + 1
        return _text_date(name.group(), tail["d"], tail["y"], this_year), name.start(), tail.end()
    if m["iy"]:
        return _make(int(m["iy"]), int(m["im"]), int(m["id"]), "text", this_year), pos, m.end()
    if m["na"]:
        if _PHONE_OR_VERSION_BEFORE_RE.search(text, max(0, pos - 20), pos):
            return None, pos, m.end()
        found = _numeric(int(m["na"]), int(m["nb"]), int(m["ny"]), m["ns"], dayfirst, "text", this_year)
        return found, pos, m.end()
    return _text_date(m["dm"], m["dd"], m["dy"], this_year), pos, m.end()


def date_from_text(text: str, *, limit: int = 3000) -> PartialDate | None:
    """Return the first publication-date-like phrase in the start of body text, or None."""
    head = text[:limit]
    this_year = _current_year()
    first: PartialDate | None = None
    resume = 0
    for number in _TEXT_NUMBER_RE.finditer(head):
        if number.start() < resume:
            continue  # Already read as part of the previous phrase ("2023" in "February 1, 2023").
        found, start, resume = _text_candidate(head, number.start(), number["after_word"] is not None, this_year)
        if found is None:
            continue
        if found.year is not None and (first is None or start < _LEAD_CHARS):
            return found
        if first is None:
            first = found
        if start >= _LEAD_CHARS:
            break
    return first


def full_dates(text: str, *, dayfirst: bool | None = None) -> list[str]:
    """Return every full date (day, month and year) written in a text, as YYYY-MM-DD, as often as it is written."""
    this_year = _current_year()
    found: list[str] = []
    resume = 0
    for number in _TEXT_NUMBER_RE.finditer(text):
        if number.start() < resume:
            continue
        date, _, resume = _text_candidate(text, number.start(), number["after_word"] is not None, this_year, dayfirst)
        if date is not None and date.precision == "day":
            found.append(date.iso())
    return found


def dates_in_text(text: str, *, dayfirst: bool | None = None) -> set[str]:
    """Return every full date (day, month and year) written in a text, as YYYY-MM-DD."""
    return set(full_dates(text, dayfirst=dayfirst))


# Labels that say the date after them is the publication's ("Published: ...", "Erschienen am ..."); a capital
# first letter, because running text ("the report was published on 3 May") names other events' dates.
_PUBLISHED_LABEL_RE = re.compile(
    r"(?<![^\W\d_])(?:Published|Posted|Written|Released|Publication date|Date published|Veröffentlicht|"
    r"Veröffentlichungsdatum|Erschienen|Erstellt|Publié|Publiée|Mise? en ligne|Date de publication|Publicado|"
    r"Fecha de publicación|Pubblicato|Data di pubblicazione|Gepubliceerd|Geplaatst|Publicatiedatum|"
    r"Opublikowano|Data publikacji|Опубликовано|Опубліковано|Апублікавана|Дата публикации|Дата публікації)"
    r"(?:\s+(?:on|am|le|el|il|op|dnia))?\s*:?\s*",
)
# The date follows its label at once, or after a weekday ("Published on Tuesday, 3 May 2022").
_LABEL_GAP = 25


def labelled_date(text: str, *, dayfirst: bool | None = None) -> PartialDate | None:
    """Return the first full date that a "Published:" label, in one of several languages, puts before it."""
    this_year = _current_year()
    for label in _PUBLISHED_LABEL_RE.finditer(text):
        number = _TEXT_NUMBER_RE.search(text, label.end(), label.end() + _LABEL_GAP + 5)
        if number is None or number.start() - label.end() > _LABEL_GAP:
            continue
        found, _, _ = _text_candidate(text, number.start(), number["after_word"] is not None, this_year, dayfirst)
        if found is not None and found.precision == "day":
            return PartialDate(found.year, found.month, found.day, "label")
    return None


def day_first(lang: str | None) -> bool | None:
    """Return whether a language writes 03/05/2022 day first (all but American English do), None if unknown."""
    if not lang:
        return None
    return lang.lower().replace("_", "-") not in ("en", "en-us")


def combine(extracted: PartialDate | None, signal: PartialDate | None) -> PartialDate | None:
    """Give a no-year date the year of a signal (URL, header) whose month agrees or is unknown."""
    if extracted is None:
        return signal
    if extracted.year is not None or signal is None or signal.year is None:
        return extracted
    if signal.month is not None and signal.month != extracted.month:
        return extracted
    if extracted.month is None or extracted.day is None or not _valid_day(signal.year, extracted.month, extracted.day):
        return extracted  # 29 February cannot take a non-leap year.
    return PartialDate(signal.year, extracted.month, extracted.day, f"{extracted.source}+{signal.source}")


# A dateline or "On February 1 ..." opens a paragraph; a date further in, or quoted, is an event.
DATELINE_MAX_OFFSET = 60
LEAD_PARAGRAPHS = 3
_QUOTES = set('"“”„«»')
# "Last updated: 7 January 2025" opens a paragraph too, but dates an edit.
_UPDATED_RE = re.compile(
    r"(?<![^\W\d_])(?:updated|modified|aktualisiert|geändert|mis à jour|actualizado|aggiornato|bijgewerkt|"
    r"zaktualizowano|обновлено|оновлено|абноўлена)(?![^\W\d_])",
    re.IGNORECASE,
)


def date_from_lead(paragraphs: list[str], *, dayfirst: bool | None = None) -> PartialDate | None:
    """Return a date that opens one of the first paragraphs (a dateline), not one the text mentions."""
    this_year = _current_year()
    for para in paragraphs[:LEAD_PARAGRAPHS]:
        head = para[: DATELINE_MAX_OFFSET + 40]
        resume = 0
        for number in _TEXT_NUMBER_RE.finditer(head):
            if number.start() < resume:
                continue
            after_word = number["after_word"] is not None
            found, start, resume = _text_candidate(head, number.start(), after_word, this_year, dayfirst)
            if start > DATELINE_MAX_OFFSET:
                break
            if found is not None and not _QUOTES & set(head[:start]) and not _UPDATED_RE.search(head, 0, start):
                return found
    return None
