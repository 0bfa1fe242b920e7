"""A small corpus whose facet counts are known by hand, and the index built from it."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.datastructures import MultiDict

from indexer.engine.backends import open_view
from indexer.index.reindex import reindex
from searchapp.index_check import check_index_state
from searchapp.search import SearchRequest, SearchResult, search

from conftest import SEED
from search_backends import Backend, Location

# (file, source, date, language, title, body). Dates: "" means "let the cleaner find it".
DOCUMENTS = [
    (
        "a1.txt",
        "Viasna",
        "2023-02-10",
        "en",
        "Sanctions on Belarus extended",
        "The sanctions against the Lukashenko regime were extended for another year, Viasna said.\n\n"
        "Political prisoners remain in detention across the country.",
    ),
    (
        "a2.txt",
        "Viasna",
        "2022-06-01",
        "en",
        "Human rights report on Belarus",
        "The annual report documents arrests of journalists and lawyers.\n\n"
        "More than a thousand political prisoners are held.",
    ),
    (
        "a3.txt",
        "Council of the EU",
        "2022-02-25",
        "en",
        "EU adopts sanctions package over Ukraine",
        "The Council adopted a package of sanctions after the invasion of Ukraine.\n\n"
        "The measures target banks and officials.",
    ),
    (
        "a4.txt",
        "Council of the EU",
        "2021-05-24",
        "en",
        "Statement on the forced landing of a Ryanair flight",
        "The forced landing of the Ryanair flight in Minsk endangered passengers.\n\n"
        "The Council calls for the release of the journalist detained.",
    ),
    (
        "a5.txt",
        "Office of the President of Ukraine",
        "2022-03-01",
        "uk",
        "Заява про нові санкції",
        "Президент закликав партнерів запровадити нові санкції проти Росії.\n\nУкраїна вдячна партнерам.",
    ),
    (
        "a6.txt",
        "Viasna",
        "",
        "en",
        "Note on prisoners' families",
        "Families of prisoners describe the conditions of their relatives in custody.\n\n"
        "Letters are delayed for months.",
    ),
    (
        "a7.txt",
        "RFE/RL",
        "2023-03-05",
        "en",
        "Lukašenka signs a new decree",
        "Alyaksandr Lukašenka signed a decree on the confiscation of property of those who left.\n\n"
        "Critics call it a new form of repression.",
    ),
    (
        "x1.txt",
        "Hostile Example",
        "2020-01-15",
        "en",
        "Release with <script>alert(1)</script> in its title",
        "This release contains <script>alert(1)</script> and <img src=x onerror=alert(2)> in its text.\n\n"
        "It must be shown as text and never run.",
    ),
]
# The brief's sample page: NAM-media, "On February 1" with no year.
SEED_ROW = ("seed.txt", "", "", "", "", None)


def write_corpus(folder: Path, documents: list[tuple] = DOCUMENTS, *, seed: bool = True) -> Path:
    """Write a corpus of (file, source, date, language, title, body) rows, pages and manifest, into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, source, date, lang, title, body in documents:
        (folder / name).write_text(f"{title}\n\n{body}\n", encoding="utf-8")
        rows.append({"path": name, "source_org": source, "date": date, "lang": lang, "title": title})
    if seed:
        shutil.copyfile(SEED, folder / "seed.txt")
        rows.append({"path": "seed.txt", "source_org": "", "date": "", "lang": "", "title": ""})
    with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "source_org", "date", "lang", "title"])
        writer.writeheader()
        writer.writerows(rows)
    return folder


def build_index(root: Path, backend: Backend) -> Location:
    """Build the fixture index from a corpus under root on a backend; return its location."""
    corpus = write_corpus(root / "corpus")
    index = backend.new_location(root)
    summary = reindex(corpus, index, workers=1, check=check_index_state)
    assert summary.failed == 0 and summary.added == len(DOCUMENTS) + 1
    return index


def index_of(root: Path, documents: list[tuple], backend: Backend) -> Location:
    """Index a corpus of (file, source, date, language, title, body) rows, written under root, on a backend."""
    index = backend.new_location(root)
    summary = reindex(write_corpus(root / "corpus", documents, seed=False), index, workers=1)
    assert summary.failed == 0 and summary.added == len(documents)
    return index


@contextmanager
def searching(index: Location) -> Iterator[Callable[..., SearchResult]]:
    """Yield a function that searches an index of either backend with URL-style parameters through search()."""
    with open_view(index) as view:
        yield lambda **params: search(view, SearchRequest.from_args(MultiDict(params)))
