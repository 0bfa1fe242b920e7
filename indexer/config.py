"""Where the corpus and the index live: defaults, overridden by the environment, then by arguments."""

from __future__ import annotations

import os
from pathlib import Path

# Relative to the current directory; the web app passes its instance folder's path instead.
DEFAULT_INDEX = "var/index"
DEFAULT_CORPUS = "corpus"
INDEX_ENV = "SEARCHAPP_INDEX"
CORPUS_ENV = "SEARCHAPP_CORPUS"
# Cleaned pages are cached beside the index, keyed by content, so rebuilds skip unchanged pages.
CACHE_DIR_NAME = "cache"


def index_path(given: str | os.PathLike | None = None) -> Path:
    """Return the index folder: `given`, else $SEARCHAPP_INDEX, else var/index."""
    return Path(given or os.environ.get(INDEX_ENV) or DEFAULT_INDEX)


def corpus_path(given: str | os.PathLike | None = None) -> Path:
    """Return the corpus folder: `given`, else $SEARCHAPP_CORPUS, else corpus."""
    return Path(given or os.environ.get(CORPUS_ENV) or DEFAULT_CORPUS)


def cache_path(index: Path) -> Path:
    """Return the folder for the clean-result cache of an index: var/cache beside var/index."""
    return index.parent / CACHE_DIR_NAME
