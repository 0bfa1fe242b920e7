"""The bundled corpus plus a few hostile and odd documents, indexed once, and servers for a real browser."""

from __future__ import annotations

import csv
import functools
import shutil
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from werkzeug.serving import make_server

from indexer.index.reindex import reindex
from searchapp.index_check import check_index_state

from conftest import CORPUS
from search_backends import Backend, Location

EXTRA_FOLDER = "zz-test-extra"
HOSTILE_TITLE = "Statement <script>alert(1)</script> on <img src=x onerror=alert(2)> hostile markup"
HOSTILE_BODY = (
    "The committee condemned the raid. <script>window.pwned = 1; alert(1)</script>\n\n"
    'Witnesses saw <img src=x onerror="window.pwned = 2; alert(2)"> in the leaked statement.\n\n'
    "A closing paragraph about hostile markup in press releases."
)
# (file, source, date, language, url, title, body); "" date: no date at all.
EXTRA_DOCUMENTS = [
    ("hostile.txt", "Hostile Test Org", "2020-06-15", "en", "https://example.org/hostile", HOSTILE_TITLE, HOSTILE_BODY),
    (
        "js-url.txt",
        "Hostile Test Org",
        "2020-07-01",
        "en",
        "javascript:alert(3)",
        'Link test "><svg onload=alert(4)> release',
        "A release whose address is a javascript: URL, which must never become a link.",
    ),
    (
        "undated.txt",
        "Prisoners Watch",
        "",
        "en",
        "",
        "Undated appeal for the release of prisoners",
        "The appeal calls for the release of all political prisoners held without charge.",
    ),
    (
        "baltic.txt",
        "Baltic Rights Monitor",
        "2019-09-12",
        "en",
        "https://example.org/baltic",
        "Monitor reports on detentions at the border",
        "The monitor documented detentions of asylum seekers at the border and called for access for lawyers.",
    ),
    (
        "press.txt",
        "Coalition for Press Freedom",
        "2020-11-03",
        "en",
        "https://example.org/press",
        "Journalists detained while covering protests",
        "Three journalists were detained while covering peaceful protests; the coalition demands their release.",
    ),
    (
        "refugee.txt",
        "Refugee Aid Council",
        "2021-03-05",
        "en",
        "https://example.org/refugee",
        "Council calls for humanitarian corridors",
        "The council calls for humanitarian corridors and the protection of civilians leaving the war zone.",
    ),
]


def write_extra_documents(folder: Path) -> None:
    """Write the extra pages and their manifest into folder."""
    folder.mkdir(parents=True)
    rows = []
    for name, source, date, lang, url, title, body in EXTRA_DOCUMENTS:
        (folder / name).write_text(f"{body}\n", encoding="utf-8")
        rows.append({"path": name, "source": source, "date": date, "lang": lang, "url": url, "title": title})
    with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "title", "source", "date", "url", "lang"])
        writer.writeheader()
        writer.writerows(rows)


def build_site_index(root: Path, backend: Backend) -> Location:
    """Index a copy (under root) of the bundled corpus plus the extra documents on a backend; return its location."""
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    write_extra_documents(corpus / EXTRA_FOLDER)
    index = backend.new_location(root)
    summary = reindex(corpus, index, check=check_index_state)
    assert summary.failed == 0, summary.failures
    return index


@contextmanager
def serve_app(app):
    """Serve a Flask app on 127.0.0.1 on a free port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


class QuietHandler(SimpleHTTPRequestHandler):
    """Serve files without logging every request to stderr."""

    def log_message(self, format, *args):
        pass


@contextmanager
def serve_folder(folder: Path):
    """Serve a folder of static files on 127.0.0.1 on a free port (a stand-in for another site)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
