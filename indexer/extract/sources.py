"""The publishing organisation of a page: from its metadata, or a domain map users can edit."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_MAP = Path(__file__).with_name("sources.json")
# A user's own map (JSON object, domain -> organisation) extends and overrides the bundled one.
USER_MAP_ENV = "SEARCHAPP_SOURCES"


@lru_cache(maxsize=8)
def _load_map(user_path: str | None) -> dict[str, str]:
    """Read the bundled domain map, then the user's over it."""
    mapping = json.loads(DEFAULT_MAP.read_text(encoding="utf-8"))
    if user_path:
        try:
            mapping.update(json.loads(Path(user_path).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read the source map {user_path} ({USER_MAP_ENV}): {exc}") from exc
    return {k.lower().removeprefix("www."): v for k, v in mapping.items() if not k.startswith("_")}


def host_of(url: str | None) -> str | None:
    """Return a URL's host without "www.", or None."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None


def source_for_url(url: str | None) -> str | None:
    """Return the organisation the domain map gives for a URL's host or any parent domain."""
    host = host_of(url)
    if not host:
        return None
    mapping = _load_map(os.environ.get(USER_MAP_ENV))
    parts = host.split(".")
    for i in range(len(parts) - 1):
        name = mapping.get(".".join(parts[i:]))
        if name:
            return name
    return None
