"""How values read on a page: dates with their precision, language names, counts; as Jinja filters."""

from __future__ import annotations

import hashlib
import re

from indexer.engine.schema import UNKNOWN_LANGUAGE
from searchapp.facets import MONTH_NAMES
from searchapp.languages import english_name

# The interface is in English; a document in another language says which one.
INTERFACE_LANGUAGE = "en"
UNKNOWN_DATE = "date unknown"
ISO_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
NO_YEAR_DATE = re.compile(r"--(\d{2})(?:-(\d{2}))?")
WEB_URL = re.compile(r"https?://", re.IGNORECASE)


def date_text(iso: str | None) -> str:
    """Return a date as people write it: "1 February 2023", "February 2023", "1 February, year unknown"."""
    if not iso:
        return UNKNOWN_DATE
    no_year = NO_YEAR_DATE.fullmatch(iso)
    if no_year:
        return f"{_day_month(no_year[1], no_year[2])}, year unknown"
    full = ISO_DATE.fullmatch(iso)
    if not full:
        return iso
    return f"{_day_month(full[2], full[3])} {full[1]}".strip() if full[2] else full[1]


def _day_month(month: str | None, day: str | None) -> str:
    """Return "1 February", "February" or "" for the month and day parts of a date."""
    if not month or not 1 <= int(month) <= 12:
        return ""
    name = MONTH_NAMES[int(month) - 1]
    return f"{int(day)} {name}" if day else name


def machine_date(iso: str | None) -> str | None:
    """Return a date for a <time datetime> attribute, or None when its year is unknown."""
    return iso if iso and ISO_DATE.fullmatch(iso) else None


def language_name(code: str | None) -> str:
    """Return the English name of a language code, or the code itself when CLDR does not know it."""
    return english_name(code or UNKNOWN_LANGUAGE)


def foreign_language(code: str | None) -> str | None:
    """Return the code for a `lang` attribute when a text is not in the interface language, else None."""
    return code if code and code != INTERFACE_LANGUAGE else None


def web_url(url: str | None) -> str | None:
    """Return a URL fit for a link (http or https), else None: a javascript: URL must not become a link."""
    return url if url and WEB_URL.match(url) else None


def number(n: int) -> str:
    """Return a count with thousands separators: 1,234."""
    return f"{n:,}"


def releases(n: int) -> str:
    """Return "1 press release" or "1,234 press releases"."""
    return f"{n:,} press release" + ("" if n == 1 else "s")


def dom_id(value: str, prefix: str) -> str:
    """Return an element id for a value (a source name) that stays the same from page to page."""
    return f"{prefix}-{hashlib.sha1(value.encode()).hexdigest()[:10]}"


FILTERS = {
    "date_text": date_text,
    "machine_date": machine_date,
    "language_name": language_name,
    "foreign_language": foreign_language,
    "web_url": web_url,
    "number": number,
    "releases": releases,
    "dom_id": dom_id,
}


def init_app(app) -> None:
    """Make the display functions Jinja filters."""
    app.jinja_env.filters.update(FILTERS)
