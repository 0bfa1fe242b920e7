"""A document's text as paragraphs, escaped, with the words of the search that led to it marked."""

from __future__ import annotations

import re

from markupsafe import Markup

from searchapp.snippets import snippet

PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def query_terms(view, q: str) -> set[str]:
    """Return the index terms a query looks for, as the result snippets mark them."""
    if not q.strip():
        return set()
    return view.highlight_terms(view.parse(q))


def paragraphs(body: str, terms: set[str]) -> list[Markup]:
    """Return the body's paragraphs as safe HTML: the text escaped, the matched words in <mark>."""
    # snippet() escapes everything it returns and adds only <mark>: the one place markup is made.
    return [Markup(snippet(part, terms, whole=True)[0]) for part in PARAGRAPH_BREAK.split(body) if part.strip()]
