"""Plain-text and Markdown pages: paragraphs, a title, and what the text says of itself."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from indexer.extract.chrome import strip_chrome_lines, title_key

FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
# "Source: NAM-media" as website builders' text exports write it; the source, not release text.
SOURCE_LINE = re.compile(r"^\s*(?:source|джерело|источник|крыніца|źródło|quelle)\s*:\s*(.{2,80}?)\s*$", re.IGNORECASE)
SOURCE_LINE_WITHIN = 6
MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
MD_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()]|\([^)]*\))*\)")
MD_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~)(?=\S)(.+?)(?<=\S)\1")
MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
MD_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
MD_QUOTE = re.compile(r"^\s*>\s?")
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
MD_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
# A title line is short and does not read as a sentence of the body.
MAX_TITLE_CHARS = 200


@dataclass
class TextPage:
    """What a text or Markdown page says: title, paragraphs and front-matter fields."""

    title: str | None
    paragraphs: list[str]
    fields: dict[str, str] = field(default_factory=dict)
    source_line: str | None = None


def pop_source_line(paragraphs: list[str]) -> tuple[str | None, list[str]]:
    """Take a "Source: X" line from the top of a page: it names the publisher, it is not release text."""
    for i, para in enumerate(paragraphs[:SOURCE_LINE_WITHIN]):
        match = SOURCE_LINE.match(para)
        if match:
            return match.group(1), paragraphs[:i] + paragraphs[i + 1 :]
    return None, paragraphs


def split_front_matter(text: str) -> tuple[dict, str]:
    """Split YAML front matter off a Markdown page; bad YAML is treated as text."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, text
    if not isinstance(data, dict):
        return {}, text
    fields = {str(k).lower(): str(v) for k, v in data.items() if v is not None and not isinstance(v, (list, dict))}
    return fields, text[match.end() :]


def markdown_to_lines(text: str) -> list[tuple[str, bool]]:
    """Return (line, is_heading) pairs with Markdown markup reduced to plain text."""
    out = []
    for raw in text.split("\n"):
        if MD_RULE.match(raw):
            out.append(("", False))
            continue
        heading = MD_HEADING.match(raw)
        line = heading.group(1) if heading else raw
        line = MD_QUOTE.sub("", line)
        line = MD_LIST.sub("", line)
        line = MD_IMAGE.sub("", line)
        line = MD_LINK.sub(r"\1", line)
        line = HTML_TAG.sub("", line)
        line = MD_EMPHASIS.sub(r"\2", line)
        out.append((line, bool(heading)))
    return out


def paragraphs_from_lines(lines: list[str]) -> list[str]:
    """Group lines into paragraphs: blank lines separate; without any, each line is one."""
    has_blank = any(not line.strip() for line in lines)
    paragraphs, current = [], []
    for line in lines:
        line = " ".join(line.split())
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
        elif has_blank:
            current.append(line)
        else:
            paragraphs.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def looks_like_title(line: str) -> bool:
    """Return True for a short line that reads as a headline, not a body sentence."""
    return 0 < len(line) <= MAX_TITLE_CHARS and not line.rstrip().endswith((".", ",", ";", ":"))


def extract_text(text: str, *, markdown: bool, given_title: str | None = None) -> TextPage:
    """Read a text or Markdown page into title, paragraphs and the fields it declares.

    A title known from a manifest or front matter is only dropped from the body where the body repeats
    it; without one, a short first line set apart by a blank line is the headline.
    """
    fields, body = split_front_matter(text) if markdown else ({}, text)
    if markdown:
        pairs = markdown_to_lines(body)
        lines = [line for line, _ in pairs]
        headings = {line.strip() for line, is_heading in pairs if is_heading}
    else:
        lines, headings = body.split("\n"), set()
    paragraphs = strip_chrome_lines(paragraphs_from_lines(lines))
    source_line, paragraphs = pop_source_line(paragraphs)

    title = fields.get("title")
    known = given_title or title
    if known:
        # A page that is only its title (a caption for a video) keeps it as its text.
        while len(paragraphs) > 1 and title_key(paragraphs[0]) == title_key(known):
            paragraphs = paragraphs[1:]
    elif (
        paragraphs
        and (paragraphs[0] in headings or (not markdown and _stands_alone(body, paragraphs)))
        and looks_like_title(paragraphs[0])
    ):
        title, paragraphs = paragraphs[0], paragraphs[1:]
    return TextPage(title=title, paragraphs=paragraphs, fields=fields, source_line=source_line)


def _stands_alone(body: str, paragraphs: list[str]) -> bool:
    """Return True when the first paragraph is set apart by a blank line, as headlines are."""
    return len(paragraphs) > 1 and "\n\n" in body.strip()
