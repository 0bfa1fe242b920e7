"""Names of the languages documents are in, from Unicode's CLDR through Babel: their own names and English ones."""

from __future__ import annotations

import functools
import re

from babel import Locale, localedata

from indexer.engine.schema import UNKNOWN_LANGUAGE

UNKNOWN_NAME = "Unknown language"
# Only language codes reach CLDR's files: a locale is looked up by a file name.
CODE = re.compile(r"[a-z]{2,3}")


@functools.cache
def own_name(code: str) -> str:
    """Return a language's name in that language ("українська"), else its English name, else the code."""
    if code == UNKNOWN_LANGUAGE:
        return UNKNOWN_NAME
    if CODE.fullmatch(code) and localedata.exists(code):
        name = Locale(code).languages.get(code)
        if name:
            return name
    return english_name(code)


@functools.cache
def english_name(code: str) -> str:
    """Return a language's English name ("Ukrainian"), or the code itself when CLDR does not know it."""
    if code == UNKNOWN_LANGUAGE:
        return UNKNOWN_NAME
    if not CODE.fullmatch(code):
        return code
    return Locale("en").languages.get(code) or code
