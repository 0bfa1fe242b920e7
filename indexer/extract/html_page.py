"""HTML pages: the release's text without site chrome, and the metadata the page carries."""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import htmldate
import lxml.html
import trafilatura
from lxml import etree

from indexer.extract.chrome import (
    CHROME_CLASS_WORDS,
    CHROME_TAGS,
    strip_chrome_lines,
    strip_headline_and_kickers,
    strip_trailer,
    title_key,
)
from indexer.extract.dates import (
    PartialDate,
    combine,
    date_from_text,
    dates_in_text,
    day_first,
    full_dates,
    labelled_date,
    parse_date,
)
from indexer.extract.text_page import pop_source_line

# lxml refuses a str that still carries its encoding; the text is decoded by now, so the declaration is spent.
XML_DECLARATION = re.compile(r"\A\s*<\?xml\b[^>]*>")
# Characters XML cannot hold: lxml parses them but refuses them when the text is set; \v and \f are HTML spaces.
# Regexes, not str.translate with a table: that copies every character of the page through a dict lookup.
NOT_XML_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\ufffe\uffff]")
HTML_SPACE_CHARS = re.compile(r"[\x0b\x0c]")
# The same characters in UTF-8, where a control character is its own byte: bytes.translate finds them in one
# pass in C, many times faster than a regex over the text, so the regexes run only on the rare page that needs them.
NOT_XML_BYTES = bytes([*range(0x09), *range(0x0E, 0x20)])
NOT_XML_UTF8 = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")
HTML_SPACE_BYTES = b"\x0b\x0c"
# Challenge pages of bot walls, by the title they show or the machinery they load (not a contact form's captcha).
# The whole title is the challenge's: "Access denied to the press" and "Access denied | Press office" are headlines.
BOT_WALL_TITLE = re.compile(
    r"(just a moment|attention required|access denied|checking your browser|ddos-guard|"
    r"are you a robot|are you human|human verification|pardon our interruption)[\s.!?…]*(?:[|–—-]\s*cloudflare)?",
    re.IGNORECASE,
)
BOT_WALL_MACHINERY = (
    "/cdn-cgi/challenge-platform/",
    "cf-browser-verification",
    "cf-chl-",
    "challenge-form",
    "captcha-delivery.com",
    "px-captcha",
    "_incapsula_resource",
)
BOT_WALL_MARKUP = re.compile("|".join(map(re.escape, BOT_WALL_MACHINERY)), re.IGNORECASE)
# The same search, case-sensitive, in the page's UTF-8 with ASCII letters lowered: an IGNORECASE search tests the
# case of every character, 8 ms on a 140 KB page against 1.5. IGNORECASE also matches "i" with "İ" and "ı", and "s"
# with "ſ" (no other letter of these names has such a twin): the bytes pattern takes those too.
BOT_WALL_MARKUP_UTF8 = re.compile(
    b"|".join(
        re.escape(name.encode()).replace(b"i", "(?:i|İ|ı)".encode()).replace(b"s", "(?:s|ſ)".encode())
        for name in BOT_WALL_MACHINERY
    )
)
BOT_WALL = "a bot wall (a challenge or captcha page) stands in front of the text"
# A challenge page says a few sentences ("Checking your browser..."); a release says more.
BOT_WALL_CHARS = 600
# Below this much visible text, a page that loads scripts is an app shell that renders in the browser.
APP_SHELL_CHARS = 200
JSONLD_WRAPPER = re.compile(r"^\s*(?:<!\[CDATA\[|<!--)|(?:\]\]>|-->)\s*$")
# Separators between a headline and the site name in <title> ("Headline | Site", "Site - Headline").
# A colon is not one: "Evolve: Shared Mutable History" is a headline with a subtitle.
TITLE_SEPARATORS = re.compile(r"\s+[|\-–—·•»«/]+\s+|\s*[|·•»«]\s*")
# JSON-LD types whose fields describe the release itself.
ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "pressrelease",
    "blogposting",
    "report",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "webpage",
    "creativework",
    "socialmediaposting",
    "liveblogposting",
}
# Meta tags that carry the publication date, most trusted first.
DATE_META = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "publication_date",
    "date",
    "dc.date.issued",
    "dc.date",
    "dcterms.issued",
    "dcterms.created",
    "dcterms.date",
    "citation_publication_date",
    "citation_date",
    "sailthru.date",
    "parsely-pub-date",
    "article.published",
    "created",
    "originalpublicationdate",
    "og:updated_time",
)
# Other meta names that say "published date" in their own words ("article:publicationdate").
DATE_META_NAME = re.compile(r"(publi|issued|release|created).*(date|time)|(date|time).*(publi|issued|release)")
# Elements whose class or id words mark a date line, and those that mark other dates.
DATED_CLASS_WORDS = frozenset(
    {
        "date",
        "time",
        "published",
        "posted",
        "pubdate",
        "dateline",
        "timestamp",
        "byline",
        "publish",
        "datetime",
        "postdate",
        "entrydate",
        # German, Dutch and Scandinavian, and Spanish, for "date".
        "datum",
        "fecha",
    }
)
UNDATED_CLASS_WORDS = frozenset(
    {
        "comment",
        "comments",
        "updated",
        "modified",
        "reply",
        "event",
        "events",
        "calendar",
        "archive",
        "footer",
        "copyright",
    }
)
MAX_DATED_TEXT = 200
MODIFIED_META = re.compile(r"modif|updated")
# A byline sits right below the headline; a date further down is an event's, a review's or a cookie notice's.
HEADLINE_DATE_CHARS = 200
# A kicker above it ("02.02.2022 10:16 - Sport - Press release") is shorter; further up are menus and teasers.
ABOVE_HEADLINE_CHARS = 80
# Elements whose dates are a comment's or an edit's. Not footers: a page may write its only date there.
OTHER_DATE_CLASS_WORDS = frozenset({"comment", "comments", "reply", "updated", "modified"})
EDIT_CLASS_WORDS = frozenset({"updated", "modified"})
# Elements that may have those words, found by XPath, which runs in C ("omment" for "comment" and "Comment").
# Asked of the attributes, not of every element: half the time, the same elements in document order.
OTHER_DATE_ELEMENTS = etree.XPath(
    "//@class[contains(., 'omment') or contains(., 'eply') or contains(., 'pdated') or contains(., 'odified')]/.."
    "|//@id[contains(., 'omment')]/.."
)
# Where the dates are those of other posts or comments.
ASIDE_CLASS_WORDS = frozenset({"comment", "comments", "widget", "sidebar", "related"})
# Text a reader sees: not scripts or styles, whose dates are code's (their text has no child elements, so
# the parent alone decides, which is much cheaper than asking every ancestor). "descendant::", not "//": the
# same nodes without the intermediate set of every node of the page.
VISIBLE_TEXT = etree.XPath(
    "//body/descendant::text()[not(parent::script or parent::style or parent::template)]", smart_strings=False
)
NODE_VISIBLE_TEXT = etree.XPath(
    "descendant::text()[not(parent::script or parent::style or parent::template)]", smart_strings=False
)
YEAR = re.compile(r"\b(?:19[7-9]\d|20\d\d)\b")
SOURCE_META = ("og:site_name", "application-name", "dc.publisher", "publisher", "twitter:site")
# Nesting deeper than this is pathological (or hostile) and would make the parsers recurse forever.
MAX_DEPTH = 400


def _html_parser(encoding: str | None = None) -> etree.HTMLParser:
    """Return an HTML parser that gives lxml.html's element classes, looked up in C instead of in Python."""
    # lxml.html's lookup is a Python callback for every element proxy, a few thousand a page; this one is a table.
    fallback = etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
    lookup = etree.ElementNamespaceClassLookup(fallback)
    classes = lookup.get_namespace(None)
    classes.update(lxml.html.HtmlElementClassLookup._default_element_classes)
    parser = etree.HTMLParser(encoding=encoding)
    parser.set_element_class_lookup(lookup)
    return parser


HTML_PARSER = _html_parser()
# lxml hands libxml2 a str that is not ASCII as UTF-16 or UTF-32, which it converts; UTF-8 it reads as it is, and
# the text is the same: a third less time to parse such a page.
UTF8_HTML_PARSER = _html_parser("utf-8")


# Tags that never hold release text, ARIA roles of page furniture and words hidden from screen readers: the
# markup itself says they are chrome. Hidden words go before extraction, as they sit inside the release's paragraphs.
HIDDEN_WORDS = "@aria-hidden='true' and (self::span or self::i or self::b or self::em or self::strong or self::small)"
CHROME_XPATH = etree.XPath(
    "|".join(f"//{tag}" for tag in CHROME_TAGS if tag != "form")
    + "|//@role[.='navigation' or .='search' or .='contentinfo']/.."
    + f"|//@aria-hidden[.='true']/parent::*[{HIDDEN_WORDS}]"
)
# Chrome by a guess: a form may wrap a whole ASP.NET page, and a saved page may hide its article behind an open
# dialog; these, like elements chrome by their class or id words, are checked against the trusted extraction.
GUESSED_CHROME_XPATH = etree.XPath(f"//form|//@aria-hidden[.='true']/parent::*[not({HIDDEN_WORDS})]")
CLASSED_XPATH = etree.XPath("/descendant::*[@class or @id]")
TIME_OR_CLASSED = etree.XPath("/descendant::*[self::time or @class or @id]")
CLASS_WORD = re.compile(r"[a-z]+")
CHROME_ID_FILLERS = frozenset(
    {
        "banner",
        "bar",
        "box",
        "block",
        "buttons",
        "links",
        "widget",
        "container",
        "wrapper",
        "area",
        "list",
        "nav",
        "top",
        "bottom",
        "main",
        "site",
        "page",
    }
)
# Class names of an article's own container ("entry-content", "article-body", "story"), and words that make a chrome
# word in a class name a state or a layout of the page ("no-share", "has-sidebar", "sticky-sidebar-parent").
# Not "post": WordPress gives every teaser in a list of other posts "post post-123" too.
ARTICLE_CLASS_WORDS = frozenset({"article", "entry", "story"})
ARTICLE_CLASS_PARTS = ARTICLE_CLASS_WORDS | {"content", "body", "text", "main", "single", "full", "post"}
CHROME_STATE_WORDS = frozenset({"no", "has", "with", "without", "layout", "parent", "relative"})
# A chrome element never holds most of the page's text; if it seems to, the guess was wrong.
MAX_CHROME_SHARE = 0.4
WHITESPACE = re.compile(r"\s+")
# A line this long is a sentence or more, not a menu's or a button's words.
MIN_PROSE_CHARS = 100
# A table row as trafilatura writes it: "| cell | cell |".
TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
# RDFa and microdata dates on visible elements (Drupal's property="dc:date", itemprop="datePublished").
DATED_ELEMENTS = etree.XPath(
    "//@property[contains(translate(., 'DATE', 'date'), 'date')]/.."
    "|//@itemprop[.='datePublished' or .='dateCreated']/.."
)
# Microdata of the last edit (<time itemprop="dateModified">), which htmldate may take for the publication's.
MODIFIED_ELEMENTS = etree.XPath("//@itemprop[. = 'dateModified']/..")
BLOCK_TAGS = (
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "blockquote",
    "pre",
    "tr",
    "br",
    "section",
    "article",
    "header",
    "footer",
    "table",
    "ul",
    "ol",
    "dd",
    "dt",
)
# Elements whose removal would take the release with them.
NEVER_REMOVED = {"html", "body", "main", "article"}


@dataclass
class HtmlPage:
    """What an HTML page says of itself, and its cleaned body paragraphs."""

    title: str | None
    paragraphs: list[str]
    url: str | None = None
    date: PartialDate | None = None
    source: str | None = None
    source_line: str | None = None
    lang: str | None = None
    # A full date written just below the headline, for a page whose markup gives none: a last resort.
    headline_date: PartialDate | None = None
    # Whether the visible text writes the date: a timestamp it never shows yields to a dateline that does.
    date_shown: bool = True
    # The text of the page's <title>, which tells a bot wall's challenge without parsing the page again.
    title_tag: str = ""


def _class_and_id_words(node) -> set[str]:
    """Return the lowercase words of an element's class and id attributes."""
    return set(CLASS_WORD.findall(f"{node.get('class') or ''} {node.get('id') or ''}".lower()))


def _text(node) -> str:
    """Return an element's visible text on one line."""
    return " ".join(" ".join(node.itertext()).split()) if node is not None else ""


def _text_start(node, chars: int) -> str:
    """Return the start of _text(node), all of it or its first `chars` characters at least."""
    # A comment section or a whole article may hold a date line's class; its first words are enough.
    text = ""
    for piece in node.itertext():
        words = " ".join(piece.split())
        if words:
            text = f"{text} {words}" if text else words
            if len(text) >= chars:
                break
    return text


def _jsonld_items(tree) -> list[dict]:
    """Return every JSON-LD object on the page, @graph members included; bad JSON is skipped."""
    items = []
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        try:
            # CMSs wrap JSON-LD in CDATA or comments and leave raw newlines in strings.
            data = json.loads(JSONLD_WRAPPER.sub("", script.text or ""), strict=False)
        except ValueError:
            continue
        stack = [data]
        while stack:
            obj = stack.pop()
            if isinstance(obj, list):
                stack.extend(obj)
            elif isinstance(obj, dict):
                items.append(obj)
                if "@graph" in obj:
                    stack.append(obj["@graph"])
    return items


def _jsonld_type(item: dict) -> set[str]:
    """Return an item's @type values, lower-cased."""
    kind = item.get("@type", [])
    kinds = kind if isinstance(kind, list) else [kind]
    return {str(k).lower() for k in kinds}


def _name(value) -> str | None:
    """Return the name of a JSON-LD organisation or a plain string."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name")
    return " ".join(str(value).split()) if isinstance(value, str) and value.strip() else None


def _meta(tree) -> dict[str, str]:
    """Return the page's meta tags by lower-cased name/property/itemprop; the first wins."""
    metas = {}
    for tag in tree.iter("meta"):
        key = tag.get("property") or tag.get("name") or tag.get("itemprop")
        content = tag.get("content")
        if key and content and content.strip():
            metas.setdefault(key.strip().lower(), content.strip())
    return metas


def _title_parts(title: str) -> list[str]:
    """Split a <title> into its parts around site-name separators."""
    return [p.strip() for p in TITLE_SEPARATORS.split(title) if p.strip()]


def pick_title(h1s: list[str], named: list[str], doc_title: str | None, site: str | None) -> str | None:
    """Choose the headline: an <h1> that the page's metadata confirms, else the metadata's title."""
    references = [t for t in named if t]
    if doc_title:
        references.append(doc_title)
        references.extend(_title_parts(doc_title))
    keys = {title_key(r) for r in references if len(title_key(r)) > 3}
    for h1 in h1s:
        key = title_key(h1)
        if len(key) > 3 and any(key == k or (len(key) > 15 and (key in k or k in key)) for k in keys):
            return h1
    for title in named:
        if title:
            # og:title and JSON-LD headlines rarely carry the site name: cut only a part that names the site.
            return _strip_site(title, site, known_only=True)
    if doc_title:
        return _strip_site(doc_title, site)
    return h1s[0] if h1s else None


def _strip_site(title: str, site: str | None, *, known_only: bool = False) -> str:
    """Remove the site name from a title ("Headline | Site" -> "Headline")."""
    parts = _title_parts(title)
    site_key = title_key(site or "")
    if len(parts) <= 1 or (known_only and not site_key):
        return title.strip()
    kept = [p for p in parts if not site_key or (title_key(p) not in site_key and site_key not in title_key(p))]
    if known_only and len(kept) == len(parts):
        return title.strip()
    # The headline is the longest part; site names and sections are short.
    return max(kept or parts, key=len)


def _date_in(value: str | None, source: str) -> PartialDate | None:
    """Return a dated value's date: the whole value as a date, else a full date written inside it."""
    if not value:
        return None
    date = parse_date(value, source)
    if date is None:
        # "Monday, February 29, 2016 @ 11:10 PM UTC", "Fri Mar 13 21:30:09 EST 2015": a date with trimmings.
        found = date_from_text(value[:MAX_DATED_TEXT], limit=MAX_DATED_TEXT)
        years = set(YEAR.findall(value[:MAX_DATED_TEXT]))
        if found and found.year is None and len(years) == 1:
            # asctime puts the year after the clock ("Fri Mar 13 21:30:09 EST 2015"); a dated field has one year.
            found = combine(found, PartialDate(int(years.pop()), None, None, source))
        date = PartialDate(found.year, found.month, found.day, source) if found and found.year else None
    return date


def _page_date(tree, items: list[dict], metas: dict[str, str]) -> PartialDate | None:
    """Return the publication date the page's structured data, meta tags, <time> or dated elements give."""
    for item in items:
        if _jsonld_type(item) & ARTICLE_TYPES:
            for key in ("datePublished", "dateCreated", "uploadDate"):
                if isinstance(item.get(key), str):
                    date = _date_in(item[key], "json-ld")
                    if date:
                        return date
    keys = [k for k in DATE_META if k in metas] + [k for k in metas if k not in DATE_META and DATE_META_NAME.search(k)]
    for key in keys:
        date = _date_in(metas[key], "meta")
        if date:
            return date
    for node in DATED_ELEMENTS(tree):
        date = _date_in(node.get("content") or node.get("datetime") or _text(node), "meta")
        if date:
            return date
    # A <time> or byline in a comment, a sidebar or the site's header dates a reply, another post or today.
    for node in tree.iter("time"):
        date = _date_in(node.get("datetime") or _text(node), "time")
        if date and not _in_aside(node):
            return date
    for node in CLASSED_XPATH(tree):
        # A byline or "posted on" element; a comment's date or an "updated" stamp is not the release's.
        if _dated_class(node):
            date = _date_in(node.get("datetime") or node.get("title") or node.get("content") or _text(node), "byline")
            if date and not _in_aside(node):
                return date
    return None


def _other_dates(tree, dayfirst: bool | None) -> Counter:
    """Count the dates written in comments, "updated" stamps and the site's header: not the page's."""
    found: Counter = Counter()
    taken = set()
    for node in OTHER_DATE_ELEMENTS(tree):
        words = _class_and_id_words(node)
        if "published" in words:
            words -= EDIT_CLASS_WORDS  # hAtom's class="published updated": a release never edited
        # The outermost element only, read whole, so that each date it writes is counted once.
        if words & OTHER_DATE_CLASS_WORDS and not any(a in taken for a in node.iterancestors()):
            taken.add(node)
            found.update(full_dates(" ".join(" ".join(NODE_VISIBLE_TEXT(node)).split()), dayfirst=dayfirst))
    # The site's header and menus: today's date beside the logo, the dates of teasers in a menu.
    for node in tree.iter("header", "nav"):
        if not any(a.tag in ("article", "main") or a in taken for a in node.iterancestors()):
            if node.tag == "nav" or node.find(".//h1") is None:
                taken.add(node)
                found.update(full_dates(" ".join(" ".join(NODE_VISIBLE_TEXT(node)).split()), dayfirst=dayfirst))
    return found


def _modified_dates(tree, items: list[dict], metas: dict[str, str]) -> set[str]:
    """Return the days the page's metadata gives as its last modification."""
    values = [v for k, v in metas.items() if MODIFIED_META.search(k)]
    values += [item["dateModified"] for item in items if isinstance(item.get("dateModified"), str)]
    values += [node.get("content") or node.get("datetime") or _text(node) for node in MODIFIED_ELEMENTS(tree)]
    return {date.iso() for date in (parse_date(v, "meta") for v in values) if date and date.precision == "day"}


def _markup_date(tree) -> PartialDate | None:
    """Return htmldate's date from the page's markup."""
    try:
        # Not its extensive search: that falls back on copyright years, months alone and any date in the text.
        found = htmldate.find_date(tree, extensive_search=False, original_date=True)
    except Exception:  # a date is not worth losing the page for
        return None
    return parse_date(found, "htmldate") if found else None


def _at_headline(visible: str, headline: str | None, dayfirst: bool | None) -> tuple[set[str], set[str]]:
    """Return the full dates written just above the headline, where a kicker puts them, and just below it."""
    above: set[str] = set()
    below: set[str] = set()
    start = visible.find(headline) if headline else -1
    # The headline may first appear in a breadcrumb or a teaser list before the article's own.
    for _ in range(3):
        if start < 0:
            break
        end = start + len(headline)
        above |= dates_in_text(visible[max(0, start - ABOVE_HEADLINE_CHARS) : start], dayfirst=dayfirst)
        below |= dates_in_text(visible[end : end + HEADLINE_DATE_CHARS], dayfirst=dayfirst)
        start = visible.find(headline, end)
    return above, below


def _dated_class(node) -> bool:
    """Return True when an element's class or id words mark a date line, not a comment's or an update's."""
    return _dated_words(node.get("class"), node.get("id"))


# Asked of every element of the page, whose class attributes are a few repeated thousands of times.
@lru_cache(maxsize=4096)
def _dated_words(class_attr: str | None, id_attr: str | None) -> bool:
    """Return True when class and id words mark a date line (helper of _dated_class)."""
    words = set(CLASS_WORD.findall(f"{class_attr or ''} {id_attr or ''}".lower()))
    return bool(words & DATED_CLASS_WORDS) and not words & UNDATED_CLASS_WORDS


def _in_aside(node) -> bool:
    """Return True when an element sits in a comment, a sidebar widget, a caption, the page's footer or a list."""
    ancestors = [a for a in node.iterancestors() if a.tag not in ("body", "html")]
    # An <aside> or <footer> inside the article holds its own date line; the page's hold other posts'.
    in_article = any(a.tag in ("article", "main") for a in ancestors)
    for ancestor in ancestors:
        if ancestor.tag in ("figcaption", "nav") or (ancestor.tag in ("aside", "footer") and not in_article):
            return True
        # The site's header, not an article's (which holds the headline): its date is today's.
        if ancestor.tag == "header" and not in_article and ancestor.find(".//h1") is None:
            return True
        if _aside_words(ancestor.get("class") or "", ancestor.get("id") or ""):
            return True
    return _in_dated_list(node)


@lru_cache(maxsize=4096)
def _aside_words(class_attr: str, id_attr: str) -> bool:
    """Return True when an element's class or id names a comment, a widget, a sidebar or related posts."""
    # "with-double-sidebar" and "has-sidebar" say how the page is laid out, not that the element is the sidebar.
    names = [set(CLASS_WORD.findall(name)) for name in f"{class_attr} {id_attr}".lower().split()]
    return any(words & ASIDE_CLASS_WORDS and not words & CHROME_STATE_WORDS for words in names)


def _in_dated_list(node) -> bool:
    """Return True when an element is one item's date in a list whose other items carry their own (events, posts)."""
    item = next(node.iterancestors("li"), None)
    if item is None or item.getparent() is None:
        return False
    # A byline's <ul class="meta"><li class="date"> has an author beside it, not another date.
    cls = node.get("class")
    return any(
        other is not item and any(d.get("class") == cls for d in other.iter(node.tag)) for other in item.getparent()
    )


def _shown_date(tree) -> PartialDate | None:
    """Return the date the page shows its reader in a <time> or date-line element, outside asides and comments."""
    for node in TIME_OR_CLASSED(tree):
        if not (node.tag == "time" or _dated_class(node)):
            continue
        text = _text_start(node, MAX_DATED_TEXT + 1)
        # A date line is short: an <article class="status-publish"> is the whole release, not its date.
        if len(text) > MAX_DATED_TEXT:
            continue
        date = _date_in(text, "time" if node.tag == "time" else "byline")
        if date and date.year is not None and not _in_aside(node):
            return date
    return None


def _publication_date(tree, items: list[dict], metas: dict[str, str], lang: str | None, headline: str | None):
    """Return the page's date, the date below its headline where it has none with a year, and whether it shows it."""
    dayfirst = day_first(lang)
    visible = " ".join(" ".join(VISIBLE_TEXT(tree)).split())
    written = Counter(full_dates(visible, dayfirst=dayfirst))
    others = functools.cache(lambda: _other_dates(tree, dayfirst))

    def is_other(date: PartialDate | None) -> bool:
        """Return True for a date the page writes only as a comment's or an edit's, not also elsewhere."""
        return date is not None and 0 < written[date.iso()] <= others()[date.iso()]

    # What the page tells its reader ("Published: 3 May 2022") beats a machine's timestamp, which may be the
    # last edit or a UTC day. htmldate reads more markup than ours (abbr, classes of date widgets,
    # idiosyncrasies); ours adds bylines in more languages and dates without a year.
    date = labelled_date(visible, dayfirst=dayfirst)
    if is_other(date):
        date = None  # "Posted on ..." of a comment
    if date is None:
        date = _markup_date(tree)
        if is_other(date):
            date = None
        elif date and date.iso() in _modified_dates(tree, items, metas):
            # htmldate takes a "modified" meta tag when the page has no "published" one, even for the original
            # date; JSON-LD or a date line may still give the publication's.
            date = _page_date(tree, items, metas) or date
        date = date or _page_date(tree, items, metas)
        # A timestamp the page never writes, beside a date it shows, is often the last edit or a UTC day.
        if date and date.year is not None and date.iso() not in written:
            date = _shown_date(tree) or date
    above, below = _at_headline(visible, headline, dayfirst)
    if not above | below and metas.get("og:title", headline) != headline:
        # A logo in an <h1> may pass for the headline; og:title names the article's.
        above, below = _at_headline(visible, " ".join(metas["og:title"].split()), dayfirst)
    # A byline's date below the headline; else a kicker's above it, when it gives one (not a list of teasers').
    near = below or (above if len(above) == 1 else set())
    undated = date is None or date.year is None
    if near and (undated or (date.source == "htmldate" and date.iso() not in above | below)):
        near = {day for day in near if written[day] > others()[day]}
    else:
        near = set()
    if not undated and len(near) == 1:
        # htmldate falls back on any date in the text (a teaser's, a sidebar's); unless the page's structured
        # data gives the same, the one date at the headline is the page's.
        confirmed = _page_date(tree, items, metas)
        if not confirmed or confirmed.iso() != date.iso():
            date = parse_date(min(near), "headline")
    headline_date = parse_date(min(near), "headline") if undated and near else None
    return date, headline_date, bool(date and date.iso() in written)


def _page_source(items: list[dict], metas: dict[str, str]) -> str | None:
    """Return the publishing organisation named by JSON-LD or meta tags."""
    for item in items:
        if _jsonld_type(item) & ARTICLE_TYPES:
            name = _name(item.get("publisher")) or _name(item.get("sourceOrganization"))
            if name:
                return name
    for item in items:
        if _jsonld_type(item) & {"organization", "governmentorganization", "ngo", "newsmediaorganization"}:
            name = _name(item)
            if name:
                return name
    for key in SOURCE_META:
        if key in metas and not metas[key].startswith("@"):
            return metas[key]
    return None


def _page_url(tree, metas: dict[str, str]) -> str | None:
    """Return the page's canonical URL, if it declares one."""
    links = [link.get("href", "").strip() for link in tree.iter("link") if link.get("rel", "").lower() == "canonical"]
    url = next((u for u in links if u), None) or metas.get("og:url")
    return url if url and url.startswith(("http://", "https://")) else None


NESTING_TAG = re.compile(r"<(/?)(?:div|span|table|td|tr|ul|li|p|section|b|i|font|blockquote)\b", re.I)
NESTING_STEP = {"": 1, "/": -1}


def _depth_ok(html: str) -> bool:
    """Return False for markup nested so deep that parsing it would exhaust the stack."""
    steps = NESTING_TAG.findall(html)
    # Summed in C: a page has thousands of these tags.
    return len(steps) <= MAX_DEPTH or max(itertools.accumulate(map(NESTING_STEP.__getitem__, steps))) <= MAX_DEPTH


# Pages repeat a few class attributes on thousands of elements.
@lru_cache(maxsize=4096)
def _is_chrome_class(class_attr: str, id_attr: str) -> bool:
    """Return True when an element's class words, or an id made only of chrome words, mark it as chrome."""
    names = [set(CLASS_WORD.findall(name)) for name in class_attr.lower().split()]
    # A theme names the article's container as such beside its layout ("entry themeform share", "article
    # sticky-sidebar-parent"): that container is not chrome, whatever else its classes say.
    if any(words <= ARTICLE_CLASS_PARTS and words & ARTICLE_CLASS_WORDS for words in names):
        return False
    words = set().union(*names)
    # "no-share" and "has-sidebar" say what the page lacks or has, not what the element is.
    if any(n & CHROME_CLASS_WORDS and not n & CHROME_STATE_WORDS for n in names) or {"recent", "posts"} <= words:
        return True
    # Ids are often made from headings ("sharing-with-a-developer"), so only all-chrome ids count.
    id_words = set(CLASS_WORD.findall(id_attr.lower()))
    return bool(id_words & CHROME_CLASS_WORDS) and id_words <= CHROME_CLASS_WORDS | CHROME_ID_FILLERS


def _remove_marked_chrome(tree, keep: list) -> None:
    """Remove scripts, styles, navigation and controls, never an ancestor of the headline."""
    protected = {node for k in keep for node in [k, *k.iterancestors()]}
    for node in CHROME_XPATH(tree):
        if node not in protected and node.tag not in NEVER_REMOVED and node.getparent() is not None:
            node.drop_tree()


def _remove_guessed_chrome(tree, keep: list) -> list[str]:
    """Remove forms, hidden parts, and share widgets and the like by their class or id; return their text."""
    protected = {node for k in keep for node in [k, *k.iterancestors()]}
    body = tree.find("body")
    total = len(_text(body if body is not None else tree)) or 1
    candidates = GUESSED_CHROME_XPATH(tree)
    candidates += [n for n in CLASSED_XPATH(tree) if _is_chrome_class(n.get("class") or "", n.get("id") or "")]
    removed, dropped = [], set()
    for node in candidates:
        if node in protected or node.tag in NEVER_REMOVED or node.getparent() is None:
            continue
        if any(a in dropped for a in node.iterancestors()):
            continue
        text = _text(node)
        if len(text) > MAX_CHROME_SHARE * total:
            continue
        removed.append(text)
        dropped.add(node)
        node.drop_tree()
    return removed


def _squeezed(text: str) -> str:
    """Return text without whitespace or a list item's dash, to find a paragraph in an element's text."""
    return WHITESPACE.sub("", text.strip().removeprefix("- "))


def _squeezed_text(node) -> str:
    """Return _squeezed(_text(node)), from the element's text in one piece instead of node by node."""
    squeezed = WHITESPACE.sub("", node.text_content())
    # Whitespace apart, the one difference: _squeezed drops a leading list dash, "- ".
    return squeezed[1:] if _text_start(node, 2).startswith("- ") else squeezed


def _without_chrome(lines: list[str], removed: list[str], kept: str) -> list[str]:
    """Drop the trusted extraction's lines that only removed chrome holds (kept: what is left, squeezed) if safe."""
    # A layout table's row is one line that may hold the release beside a sidebar: each cell is judged alone.
    rows = [[c.strip() for c in line.strip()[1:-1].split(" | ")] if TABLE_ROW.match(line) else [line] for line in lines]
    units = [(i, k) for i, cells in enumerate(rows) for k in range(len(cells))]
    keys = [_squeezed(rows[i][k]) for i, k in units]
    chrome_texts = [_squeezed(text) for text in removed]
    total = sum(map(len, keys)) or 1
    owner: dict[int, int] = {}
    for u, key in enumerate(keys):
        if key and key not in kept:
            j = next((j for j, text in enumerate(chrome_texts) if key in text), None)
            if j is not None:
                owner[u] = j
    held = [0] * len(chrome_texts)
    for u, j in owner.items():
        held[j] += len(keys[u])
    # An element holding much of the trusted text was the release's container, whatever its class or id says.
    dropped = [u for u, j in owner.items() if held[j] <= MAX_CHROME_SHARE * total]
    # Many small elements that together hold much of it were a wrong guess too.
    if sum(len(keys[u]) for u in dropped) > MAX_CHROME_SHARE * total:
        return lines
    chrome = {units[u] for u in dropped}
    result = []
    for i, cells in enumerate(rows):
        left = [cell for k, cell in enumerate(cells) if (i, k) not in chrome]
        if len(left) == len(cells):
            result.append(lines[i])
        elif left:
            result.append("| " + " | ".join(left) + " |" if TABLE_ROW.match(lines[i]) else left[0])
    return result


def _block_lines(tree) -> list[str]:
    """Return the visible text of the (already pruned) page, one line per block element."""
    body = tree.find("body")
    root = body if body is not None else tree
    # Page-level headers, footers and asides are site furniture; inside an article they may be the release's.
    for node in list(root.iter("header", "footer", "aside")):
        if not any(a.tag in ("article", "main") for a in node.iterancestors()) and not node.xpath(".//h1"):
            node.drop_tree()
    for node in root.iter(*BLOCK_TAGS):
        node.tail = "\n" + (node.tail or "")
        node.text = "\n" + (node.text or "")
    return root.text_content().split("\n")


def _parse(html: str):
    """Return the lxml tree of a decoded page; raise ValueError when it cannot be parsed."""
    html = XML_DECLARATION.sub("", html, count=1)
    data = _utf8(html)
    if data is None or len(data.translate(None, NOT_XML_BYTES + HTML_SPACE_BYTES)) < len(data):
        html = HTML_SPACE_CHARS.sub(" ", NOT_XML_CHARS.sub("", html))
        data = None
    elif any(c in data for c in NOT_XML_UTF8):
        html = NOT_XML_CHARS.sub("", html)
        data = None
    if not _depth_ok(html):
        html = re.sub(r"</?(div|span|section|font|b|i|blockquote)\b[^>]*>", " ", html, flags=re.I)
        data = None
    if data is None:
        data = _utf8(html)
    try:
        if data is None:
            return lxml.html.document_fromstring(html, parser=HTML_PARSER)
        return lxml.html.document_fromstring(data, parser=UTF8_HTML_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ValueError(f"not parseable as HTML ({exc})") from exc


def _utf8(html: str) -> bytes | None:
    """Return the text in UTF-8, or None when it holds a lone surrogate that UTF-8 cannot."""
    try:
        return html.encode("utf-8")
    except UnicodeEncodeError:
        return None


def _trafilatura_text(tree, url: str | None) -> str:
    """Return trafilatura's main text of a page, one paragraph a line (it works on a copy of the tree)."""
    return (
        trafilatura.extract(
            tree,
            url=url,
            include_comments=False,
            include_tables=True,
            include_links=False,
            include_images=False,
            deduplicate=False,
            with_metadata=False,
            favor_recall=True,
        )
        or ""
    )


def _cleaned_lines(lines: list[str], title: str | None) -> list[str]:
    """Return the paragraphs of some text lines without chrome lines, the headline, its kickers and a CMS trailer."""
    paragraphs = [" ".join(line.split()) for line in lines]
    return strip_trailer(strip_headline_and_kickers(strip_chrome_lines([p for p in paragraphs if p]), title))


def extract_html(html: str, url: str | None = None) -> HtmlPage:
    """Extract the headline, body paragraphs and metadata from an HTML page."""
    tree = _parse(html)
    items = _jsonld_items(tree)
    metas = _meta(tree)
    page_url = _page_url(tree, metas) or url
    site = metas.get("og:site_name")

    named = []
    for item in items:
        if _jsonld_type(item) & ARTICLE_TYPES - {"webpage"} and isinstance(item.get("headline"), str):
            named.append(" ".join(item["headline"].split()))
    named += [metas.get("og:title"), metas.get("twitter:title"), metas.get("dc.title")]
    title_tag = next(tree.iter("title"), None)
    doc_title = _text(title_tag) or None
    h1_tags = [h for h in tree.iter("h1") if _text(h)]
    h1s = [_text(h) for h in h1_tags]
    title = pick_title(h1s, [n for n in named if n], doc_title, site)
    headline_tags = [h for h in h1_tags if _text(h) == title]

    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    date, headline_date, date_shown = _publication_date(
        tree, items, metas, lang if isinstance(lang, str) else None, title
    )
    source = _page_source(items, metas)

    _remove_marked_chrome(tree, headline_tags)
    # trafilatura reads the page with every guessed chrome in it (on a copy): its text is what removing that chrome
    # may only improve on.
    text = _trafilatura_text(tree, page_url)
    removed = _remove_guessed_chrome(tree, headline_tags)
    if text.strip():
        body = tree.find("body")
        lines = _without_chrome(text.split("\n"), removed, _squeezed_text(body if body is not None else tree))
    else:
        # trafilatura skips pages with under ~250 characters of text; a one-line statement is still a release.
        lines = _block_lines(tree)
    paragraphs = _cleaned_lines(lines, title)
    if not paragraphs:
        # The markup called the release's own container chrome (a whole page inside role="navigation"): what
        # trafilatura reads on the untouched page is kept if it holds prose, not just a menu's words.
        lines = _trafilatura_text(_parse(html), page_url).split("\n")
        if any(len(line.strip()) >= MIN_PROSE_CHARS for line in lines):
            paragraphs = _cleaned_lines(lines, title)
    source_line, paragraphs = pop_source_line(paragraphs)
    return HtmlPage(
        title=title,
        paragraphs=paragraphs,
        url=page_url,
        date=date,
        source=source,
        source_line=source_line,
        lang=lang if isinstance(lang, str) else None,
        headline_date=headline_date,
        date_shown=date_shown,
        title_tag=doc_title or "",
    )


def is_bot_wall(html: str, tree=None, title: str | None = None) -> bool:
    """Return True when the page is a bot wall's challenge, by its title (read from tree if not given) or machinery."""
    if BOT_WALL_MARKUP_UTF8.search(html.encode("utf-8", "surrogatepass").lower()):
        return True
    if title is not None:
        return bool(BOT_WALL_TITLE.fullmatch(title))
    if tree is None:
        try:
            tree = _parse(html)
        except ValueError:
            return False
    return bool(BOT_WALL_TITLE.fullmatch(_text(next(tree.iter("title"), None))))


def why_empty(html: str) -> str:
    """Return why a page without release text has none: a bot wall, an app shell, no text, or all chrome."""
    try:
        tree = _parse(html)
    except ValueError:
        return "the page is empty"
    if is_bot_wall(html, tree):
        return BOT_WALL
    scripts = list(tree.iter("script"))
    body = tree.find("body")
    for node in list((body if body is not None else tree).iter("script", "style", "noscript", "template")):
        node.drop_tree()
    visible = " ".join(_text(body if body is not None else tree).split())
    if scripts and len(visible) < APP_SHELL_CHARS:
        return "the page needs JavaScript: its body is a script app shell"
    if not visible:
        return "the page has no text"
    return "the page is all chrome"
