"""Page chrome: the lines and elements that belong to a website, not to a press release."""

from __future__ import annotations

import re

# Whole lines that website builders and CMSs put around every page (matched case-insensitively).
CHROME_LINE_PATTERNS = [
    r"top of page",
    r"bottom of page",
    r"back to top",
    r"to top",
    r"scroll to top",
    r"skip to (the )?(main )?(content|navigation|menu)",
    r"skip (navigation|to main)",
    r"jump to (main )?content",
    r"share( this)?( page| article| post| story| release)?:?",
    r"print( this)?( page| article)?",
    r"e-?mail( this)?( page| article)?",
    r"tweet",
    r"pin it",
    r"copy link",
    r"share (on|via|to) (facebook|twitter|x|linkedin|whatsapp|telegram|e-?mail|vk|reddit)",
    r"(facebook|twitter|linkedin|whatsapp|telegram|instagram|youtube|vk|x)",
    r"follow us( on .{1,40})?:?",
    r"subscribe( to our newsletter| now)?:?",
    r"sign up for (our|the) .{0,40}newsletter",
    r"(accept|reject|allow|decline)( all)?( cookies)?",
    r"(manage|cookie) (settings|preferences)",
    r"(this|our) (web)?site uses cookies.*",
    r"we use cookies.*",
    r"read more",
    r"continue reading",
    r"related( posts| articles| news| stories| content| links)?:?",
    r"recent (posts|news|articles):?",
    r"more (news|stories|press releases):?",
    r"(previous|next)( post| article| story)?",
    r"menu",
    r"search",
    r"home",
    r"close",
    r"open menu",
    r"toggle navigation",
    r"log ?in",
    r"sign ?in",
    r"sign ?up",
    r"register",
    # Russian, Ukrainian, Belarusian and Polish sites' equivalents.
    r"поделиться",
    r"поділитися",
    r"падзяліцца",
    r"версия для печати",
    r"версія для друку",
    r"друк",
    r"печать",
    r"наверх",
    r"вгору",
    r"уверх",
    r"читать далее",
    r"читати далі",
    r"чытаць далей",
    r"udostępnij",
    r"drukuj",
    # German, Dutch, French and Polish sites' equivalents.
    r"(artikel |seite )?(teilen|drucken)",
    r"mehr erfahren",
    r"weiterlesen",
    r"nach oben",
    r"zurück( zur (liste|übersicht))?",
    r"(delen|printen|lees meer|lees verder|naar boven)",
    r"(partager|imprimer|lire la suite|en savoir plus|retour en haut( de (la )?page)?)",
    r"(czytaj (dalej|więcej)|do góry)",
]
CHROME_LINE = re.compile(r"^\W*(?:" + "|".join(CHROME_LINE_PATTERNS) + r")\W*$", re.IGNORECASE)

# A breadcrumb trail: short items joined by arrows or chevrons ("Home › News › Press releases").
BREADCRUMB_LINE = re.compile(r"^(?:[^›»>/|\n]{1,40}\s*[›»>]\s*){2,}[^›»>\n]{0,80}$")
# Guillemets share the breadcrumb's chevron: « 1 » ou « 1* » (French) and »Wir« und »nein« (German) are quotes.
QUOTED = re.compile(r"«[^»\n]*»|»[^«\n]*«")

# Headings after which a page lists other content, never the release itself.
TRAILING_LIST_HEADINGS = re.compile(
    r"^\W*(related( posts| articles| news| stories| content| links)?|recent (posts|news|articles)|"
    r"more (news|stories|press releases|from .{1,40})|you (may|might) also (like|be interested in)|"
    r"read (also|next)|see also|популярное|читайте также|читайте також|похожие новости|схожі новини|"
    r"das könnte (sie|dich) auch interessieren|(lesen sie|lies) auch|mehr zu (diesem|dem) thema|mehr zum thema|"
    r"(ähnliche|verwandte|weitere) (artikel|beiträge|nachrichten|meldungen)|zum weiterlesen|auch interessant|"
    r"lees ook|gerelateerde (artikelen|berichten)|(à )?lire aussi|sur le même (sujet|thème)|articles similaires|"
    r"dans la même rubrique|czytaj (też|także|również)|zobacz (też|także|również)|(podobne|powiązane) artykuły)\W*$",
    re.IGNORECASE,
)

# Elements removed from HTML before extraction: never part of a release.
CHROME_TAGS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "svg",
    "canvas",
    "form",
    "button",
    "select",
    "nav",
    "dialog",
)
# Whole words in class or id attributes that mark navigation, sharing, consent banners and lists of
# other content ("share-buttons" yes, "shared-history" no).
CHROME_CLASS_WORDS = frozenset(
    {
        "breadcrumb",
        "breadcrumbs",
        "skiplink",
        "cookie",
        "cookies",
        "consent",
        "gdpr",
        "share",
        "sharing",
        "sharethis",
        "addthis",
        "social",
        "newsletter",
        "subscribe",
        "related",
        "sidebar",
        "printfriendly",
        "navbar",
        "topbar",
        "menu",
        "pagination",
        "pager",
        "comments",
        "disqus",
    }
)


def is_chrome_line(line: str) -> bool:
    """Return True when a whole line is website chrome, not release text."""
    stripped = line.strip()
    if not stripped:
        return False
    if CHROME_LINE.match(stripped):
        return True
    # A line without a chevron is no breadcrumb trail, and dropping quotes adds none.
    if "›" not in stripped and "»" not in stripped and ">" not in stripped:
        return False
    return bool(BREADCRUMB_LINE.match(QUOTED.sub("", stripped)))


def strip_chrome_lines(paragraphs: list[str]) -> list[str]:
    """Drop chrome lines, and any trailing list of other content after a "Related" heading."""
    kept = []
    for i, para in enumerate(paragraphs):
        # Only near the end: a "Related" heading mid-text may title a real section.
        if TRAILING_LIST_HEADINGS.match(para) and i >= len(paragraphs) - 12 and i > 0:
            break
        if not is_chrome_line(para):
            kept.append(para)
    return kept


# Lines before a headline are kickers ("Department of Justice", "FOR IMMEDIATE RELEASE", a date) when short.
MAX_KICKER_CHARS = 80
MAX_KICKERS = 8
# CMS footers under a release: "Updated August 3, 2016", "Component(s):" and "Tags:" with their values.
UPDATED_LINE = re.compile(r"^(updated|last (updated|modified)|modified|обновлено|оновлено)\b.{0,40}$", re.IGNORECASE)
EMPTY_LABEL = re.compile(r"^[^\W\d][\w ()/'’-]{0,40}:$")
MAX_LABEL_VALUE_CHARS = 60
TRAILER_WINDOW = 8


NOT_WORD = re.compile(r"\W+")


def title_key(text: str) -> str:
    """Return a comparison key for titles and headlines: letters and digits only, lower-case."""
    return NOT_WORD.sub("", text).lower()


def strip_headline_and_kickers(paragraphs: list[str], title: str | None) -> list[str]:
    """Drop the headline from the body, with the short kicker lines a page prints above it."""
    # A one-paragraph page that repeats its title is a one-line release, not a headline.
    if not title or len(paragraphs) < 2:
        return paragraphs
    key = title_key(title)
    for i, para in enumerate(paragraphs[: MAX_KICKERS + 1]):
        if title_key(para) == key:
            if all(len(p) <= MAX_KICKER_CHARS for p in paragraphs[:i]):
                return paragraphs[i + 1 :]
            return paragraphs[:i] + paragraphs[i + 1 :]
    return paragraphs


def strip_trailer(paragraphs: list[str]) -> list[str]:
    """Drop a CMS's metadata lines after the release: "Updated ...", empty labels and their short values."""
    end = len(paragraphs)
    floor = max(1, end - TRAILER_WINDOW)
    i = end - 1
    while i >= floor:
        para = paragraphs[i]
        if UPDATED_LINE.match(para) or EMPTY_LABEL.match(para):
            end = i
        elif len(para) <= MAX_LABEL_VALUE_CHARS and i > 0 and EMPTY_LABEL.match(paragraphs[i - 1]):
            end = i - 1
            i -= 1
        else:
            break
        i -= 1
    return paragraphs[:end]
