"""The scraper against a real HTTP server on 127.0.0.1: saving, politeness, limits, feeds."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from indexer.extract.clean import clean_file
from indexer.extract.metadata_files import sidecar_path
from indexer.fetch.scraper import (
    USER_AGENT,
    FetchResult,
    ScrapeError,
    Scraper,
    host_dir,
    page_slug,
    parse_xml,
)

from conftest import ROOT

ROBOTS = "User-agent: *\nDisallow: /private/\n"
LAST_MODIFIED = "Wed, 01 Feb 2023 10:00:00 GMT"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
CYRILLIC = "Правозащитники требуют освободить задержанных"


def html(title: str, body: str = "Full text of the release.") -> bytes:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{body}</p></body></html>"
    ).encode()


CP1251_PAGE = (f"<html><head><title>{CYRILLIC}</title></head><body><p>{CYRILLIC}.</p></body></html>").encode(
    "windows-1251"
)
HUGE = b"<html><body>" + b"x" * 200_000 + b"</body></html>"


class Site:
    """What the test server serves, and every request it saw."""

    def __init__(self):
        self.base = ""
        self.robots: str | int | None = ROBOTS  # text, an error status, or None for 404
        self.plain = html("Plain release")
        self.log: list[tuple[str, dict, float]] = []
        self.hits: Counter = Counter()
        self.release = threading.Event()  # lets /slow answer at teardown

    def url(self, path: str) -> str:
        return self.base + path

    def requests(self, path: str) -> list[dict]:
        return [headers for p, headers, _ in self.log if p == path]

    def sitemap(self, paths) -> bytes:
        urls = "".join(f"<url><loc>{self.url(p)}</loc></url>" for p in paths)
        return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="{SITEMAP_NS}">{urls}</urlset>').encode()

    def route(self, path: str, headers) -> tuple[int, dict, bytes]:
        """Return (status, headers, body) for a request."""
        page = {"Content-Type": "text/html; charset=utf-8"}
        xml_type = {"Content-Type": "application/xml"}
        if path == "/robots.txt":
            if isinstance(self.robots, str):
                return 200, {"Content-Type": "text/plain"}, self.robots.encode()
            return self.robots or 404, {}, b""
        if path == "/news/etag.html":
            if headers.get("If-None-Match") == '"v1"':
                return 304, {"ETag": '"v1"'}, b""
            validators = {"ETag": '"v1"', "Last-Modified": LAST_MODIFIED}
            return 200, {**page, **validators}, html("ETag release")
        if path == "/news/lastmod.html":
            if headers.get("If-Modified-Since") == LAST_MODIFIED:
                return 304, {}, b""
            return 200, {**page, "Last-Modified": LAST_MODIFIED}, html("Dated release")
        if path == "/news/plain.html":
            return 200, page, self.plain
        if path == "/news/cp1251.html":
            return 200, {"Content-Type": "text/html; charset=windows-1251"}, CP1251_PAGE
        if path == "/news/page.xhtml":
            return 200, {"Content-Type": "application/xhtml+xml"}, html("XHTML release")
        if path == "/private/secret.html":
            return 200, page, html("Secret")
        if path == "/error":
            return 500, {}, b"boom"
        if path == "/flaky":
            if self.hits[path] == 1:
                return 500, {}, b"boom"
            return 200, page, html("Flaky release")
        if path == "/busy":
            if self.hits[path] == 1:
                return 429, {"Retry-After": "0"}, b""
            return 200, page, html("Busy release")
        if path == "/busy-long":
            return 429, {"Retry-After": "3600"}, b""
        if path == "/redirect":
            return 302, {"Location": "/news/plain.html"}, b""
        if path == "/loop":
            return 302, {"Location": "/loop"}, b""
        if path == "/slow":
            self.release.wait(5)
            return 200, page, html("Slow release")
        if path == "/huge":
            return 200, page, HUGE
        if path == "/huge-stream":
            return 200, {**page, "Content-Length": None}, HUGE
        if path == "/doc.pdf":
            return 200, {"Content-Type": "application/pdf"}, b"%PDF-1.4 not a page"
        if path == "/sitemap.xml":
            return 200, xml_type, self.sitemap(["/news/etag.html", "/news/plain.html"])
        if path == "/sitemap-more.xml.gz":
            body = gzip.compress(self.sitemap(["/news/cp1251.html", "/news/plain.html"]))
            return 200, {"Content-Type": "application/x-gzip"}, body
        if path == "/sitemap-index.xml":
            maps = "".join(
                f"<sitemap><loc>{self.url(p)}</loc></sitemap>"
                for p in ("/sitemap.xml", "/sitemap-more.xml.gz", "/sitemap.xml")
            )
            body = f'<sitemapindex xmlns="{SITEMAP_NS}">{maps}</sitemapindex>'
            return 200, xml_type, body.encode()
        if path == "/sitemap-loop.xml":
            return 200, xml_type, (b"<sitemapindex><sitemap><loc>/sitemap-loop.xml</loc></sitemap></sitemapindex>")
        if path == "/feed.rss":
            return (
                200,
                {"Content-Type": "application/rss+xml"},
                f"""<?xml version="1.0"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
  <title>News</title><link>{self.base}/</link>
  <atom:link href="{self.base}/feed.rss" rel="self"/>
  <item><title>One</title><link>{self.base}/news/etag.html</link></item>
  <item><title>Two</title><link> {self.base}/news/cp1251.html </link></item>
  <item><title>Three</title><guid>{self.base}/news/plain.html</guid></item>
  <item><title>No link</title><guid isPermaLink="false">tag:1</guid></item>
</channel></rss>""".encode(),
            )
        if path == "/feed.atom":
            return (
                200,
                {"Content-Type": "application/atom+xml"},
                f"""<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>News</title>
  <link rel="self" href="{self.base}/feed.atom"/>
  <entry><title>One</title>
    <link rel="enclosure" href="/doc.pdf"/><link rel="alternate" href="/news/plain.html"/></entry>
  <entry><title>Two</title><link href="{self.base}/news/lastmod.html"/></entry>
</feed>""".encode(),
            )
        if path == "/evil.xml":
            return (
                200,
                xml_type,
                b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<urlset><url><loc>http://127.0.0.1/&b;</loc></url></urlset>""",
            )
        return 404, {"Content-Type": "text/html"}, b"<html><body>Not here</body></html>"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

    def do_GET(self):
        site = self.server.site
        site.log.append((self.path, dict(self.headers), time.monotonic()))
        site.hits[self.path] += 1
        status, headers, body = site.route(self.path, self.headers)
        self.send_response(status)
        if headers.get("Content-Length", "") is None:  # no length: the body ends when we close
            self.close_connection = True
            headers = {k: v for k, v in headers.items() if k != "Content-Length"}
            headers["Connection"] = "close"
        else:
            headers = {**headers, "Content-Length": str(len(body))}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (timeout or size limit)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], OSError):  # clients hanging up on purpose are fine
            super().handle_error(request, client_address)


@pytest.fixture
def site():
    state = Site()
    server = Server(("127.0.0.1", 0), Handler)
    server.site = state
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def out(tmp_path):
    return tmp_path / "corpus"


@pytest.fixture
def scraper(out):
    with Scraper(out, delay=0, timeout=2, retries=2, backoff=0.01) as s:
        yield s


def saved_files(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def sidecar(page: Path) -> dict:
    return json.loads(page.with_name(page.stem + ".meta.json").read_text(encoding="utf-8"))


# -- names ---------------------------------------------------------------------------------


def test_page_slug_is_path_words_plus_hash_of_the_url():
    url = "https://Example.org/news/2023/Release_1.html?id=5"
    digest = hashlib.sha256(url.encode()).hexdigest()[:10]
    assert page_slug(url) == f"news-2023-release-1-{digest}"
    assert page_slug("https://example.org/").startswith("index-")
    cyrillic_path = "https://example.org/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8"
    assert page_slug(cyrillic_path).startswith("index-")
    # Same path, different query: different files.
    one, two = "https://example.org/news.php?id=1", "https://example.org/news.php?id=2"
    assert page_slug(one) != page_slug(two)
    long = page_slug("https://example.org/" + "word/" * 100)
    assert len(long) <= 80 + 11 and not long.startswith("-")


def test_host_dir_is_safe_and_keeps_non_default_ports():
    assert host_dir("https://Example.ORG:443/a") == "example.org"
    assert host_dir("http://127.0.0.1:8080/a") == "127.0.0.1_8080"
    assert host_dir("http://[::1]:8080/") == "__1_8080"
    assert host_dir("http://../x") == "_"  # never climbs out of the corpus folder


# -- pages ---------------------------------------------------------------------------------


def test_fetch_saves_raw_page_and_sidecar(site, scraper, out):
    url = site.url("/news/etag.html")
    result = scraper.fetch(url)
    page = out / f"127.0.0.1_{site.base.rsplit(':', 1)[1]}" / (page_slug(url) + ".html")
    assert result == FetchResult(url, "saved", path=page, final_url=url, status=200)
    assert page.read_bytes() == html("ETag release")
    meta = sidecar(page)
    fetched_at = datetime.fromisoformat(meta.pop("fetched_at").replace("Z", "+00:00"))
    assert abs(datetime.now(timezone.utc) - fetched_at) < timedelta(minutes=1)
    assert meta == {
        "url": url,
        "final_url": url,
        "etag": '"v1"',
        "last_modified": LAST_MODIFIED,
        "content_type": "text/html; charset=utf-8",
        "charset": "utf-8",
        "status": 200,
    }
    assert sidecar_path(page).is_file()  # where the cleaner looks for it
    assert saved_files(out) == sorted(
        [str(page.relative_to(out)), str(page.relative_to(out)).replace(".html", ".meta.json")]
    )
    assert site.requests("/news/etag.html")[0]["User-Agent"] == USER_AGENT
    assert USER_AGENT == "searchapp-pressrelease-scraper/0.1 (+https://github.com/searchapp)"


def test_windows_1251_page_is_saved_byte_for_byte(site, scraper):
    result = scraper.fetch(site.url("/news/cp1251.html"))
    assert result.outcome == "saved"
    assert result.path.read_bytes() == CP1251_PAGE
    assert result.path.read_bytes().decode("windows-1251").count(CYRILLIC) == 2
    meta = sidecar(result.path)
    assert meta["charset"] == "windows-1251"
    assert meta["content_type"] == "text/html; charset=windows-1251"
    # The cleaner reads the page through its sidecar: right text, and the URL it came from.
    doc = clean_file(result.path)
    assert doc.title == CYRILLIC and doc.paragraphs == [CYRILLIC + "."]
    assert doc.url == site.url("/news/cp1251.html") and doc.provenance["url"] == "sidecar"


def test_xhtml_is_accepted_and_non_html_is_skipped(site, scraper, out):
    assert scraper.fetch(site.url("/news/page.xhtml")).outcome == "saved"
    pdf = scraper.fetch(site.url("/doc.pdf"))
    assert (pdf.outcome, pdf.reason) == ("skipped", "not HTML (application/pdf)")
    assert not any(name.endswith(".pdf") or "doc-" in name for name in saved_files(out))


def test_robots_txt_disallow_is_obeyed_and_fetched_once(site, scraper):
    secret = scraper.fetch(site.url("/private/secret.html"))
    assert (secret.outcome, secret.reason) == ("skipped", "disallowed by robots.txt")
    assert scraper.fetch(site.url("/news/plain.html")).outcome == "saved"
    assert site.hits["/robots.txt"] == 1
    assert site.hits["/private/secret.html"] == 0
    assert site.requests("/robots.txt")[0]["User-Agent"] == USER_AGENT


def test_robots_txt_group_for_our_user_agent_wins(site, scraper):
    site.robots = "User-agent: searchapp-pressrelease-scraper\nDisallow: /news/\n\nUser-agent: *\nDisallow:\n"
    assert scraper.fetch(site.url("/news/plain.html")).reason == "disallowed by robots.txt"
    assert scraper.fetch(site.url("/private/secret.html")).outcome == "saved"


def test_missing_robots_txt_allows_everything(site, scraper):
    site.robots = None
    assert scraper.fetch(site.url("/private/secret.html")).outcome == "saved"


def test_robots_txt_server_error_skips_the_host(site, scraper):
    site.robots = 503
    results = list(scraper.scrape([site.url("/news/plain.html"), site.url("/news/etag.html")]))
    assert [(r.outcome, r.reason) for r in results] == [
        ("skipped", "robots.txt unavailable (HTTP 503); host skipped, try again later")
    ] * 2
    assert site.hits["/robots.txt"] == 3  # 1 + 2 retries, then cached for the host
    assert site.hits["/news/plain.html"] == site.hits["/news/etag.html"] == 0


def test_404_is_skipped_not_failed(site, scraper):
    result = scraper.fetch(site.url("/missing"))
    assert (result.outcome, result.reason, result.status) == ("skipped", "HTTP 404 Not Found", 404)
    assert not result.failed
    assert site.hits["/missing"] == 1  # no retry on 4xx


def test_server_error_fails_after_retries(site, scraper, out):
    result = scraper.fetch(site.url("/error"))
    assert result.failed
    assert result.reason == "HTTP 500 Internal Server Error (3 attempts); try again later"
    assert site.hits["/error"] == 3
    assert saved_files(out) == []


def test_flaky_server_error_is_retried(site, scraper):
    assert scraper.fetch(site.url("/flaky")).outcome == "saved"
    assert site.hits["/flaky"] == 2


def test_429_retry_after_small_is_waited_and_large_gives_up(site, scraper):
    assert scraper.fetch(site.url("/busy")).outcome == "saved"
    assert site.hits["/busy"] == 2
    result = scraper.fetch(site.url("/busy-long"))
    assert result.failed
    assert result.reason == ("HTTP 429 Too Many Requests; the server asks to wait 3600 s, try again later")
    assert site.hits["/busy-long"] == 1


def test_connection_refused_fails(out):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with Scraper(out, delay=0, retries=1, backoff=0.01) as scraper:
        result = scraper.fetch(f"http://127.0.0.1:{port}/news")
    assert result.failed
    assert result.reason == (
        "robots.txt: could not connect (Connection refused) (2 attempts); check the URL or try again later"
    )


def test_not_an_http_url_fails_with_an_example(scraper):
    result = scraper.fetch("example.org/news/1")
    assert result.failed
    assert result.reason == ("not an http(s) URL; give a full address such as https://example.org/news/1")


def test_redirect_is_followed_and_final_url_recorded(site, scraper):
    url = site.url("/redirect")
    result = scraper.fetch(url)
    assert result.outcome == "saved"
    assert result.final_url == site.url("/news/plain.html")
    assert result.path == scraper.path_for(url)
    meta = sidecar(result.path)
    assert (meta["url"], meta["final_url"]) == (url, site.url("/news/plain.html"))


def test_redirect_loop_is_bounded(site, scraper):
    result = scraper.fetch(site.url("/loop"))
    assert (result.outcome, result.reason) == ("skipped", "more than 5 redirects")
    assert site.hits["/loop"] == 6


def test_slow_page_times_out(site, out):
    with Scraper(out, delay=0, timeout=0.2, retries=0) as scraper:
        start = time.monotonic()
        result = scraper.fetch(site.url("/slow"))
    assert time.monotonic() - start < 2
    assert result.failed
    assert result.reason == "timed out after 0.2 s (1 attempt); try again later or raise --timeout"


@pytest.mark.parametrize("path", ["/huge", "/huge-stream"])
def test_page_over_max_bytes_is_skipped_not_truncated(site, out, path):
    with Scraper(out, delay=0, max_bytes=50_000) as scraper:
        result = scraper.fetch(site.url(path))
        assert (result.outcome, result.reason) == ("skipped", "larger than 50000 bytes; raise --max-bytes to save it")
        assert not any(name.endswith(".html") for name in saved_files(out))
        # The connection is still usable for the next page.
        assert scraper.fetch(site.url("/news/plain.html")).outcome == "saved"


def test_etag_gives_304_and_nothing_is_rewritten(site, scraper):
    url = site.url("/news/etag.html")
    first = scraper.fetch(url)
    meta_path = first.path.with_name(first.path.stem + ".meta.json")
    before = [(p.read_bytes(), p.stat().st_mtime_ns) for p in (first.path, meta_path)]
    time.sleep(0.01)
    second = scraper.fetch(url)
    assert (second.outcome, second.status, second.path) == ("unchanged", 304, first.path)
    assert site.requests("/news/etag.html")[1]["If-None-Match"] == '"v1"'
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in (first.path, meta_path)] == before


def test_last_modified_gives_304(site, scraper):
    url = site.url("/news/lastmod.html")
    assert scraper.fetch(url).outcome == "saved"
    assert "If-Modified-Since" not in site.requests("/news/lastmod.html")[0]
    assert scraper.fetch(url).outcome == "unchanged"
    assert site.requests("/news/lastmod.html")[1]["If-Modified-Since"] == LAST_MODIFIED


def test_identical_200_is_unchanged_and_a_change_is_saved(site, scraper):
    url = site.url("/news/plain.html")
    first = scraper.fetch(url)
    mtime = first.path.stat().st_mtime_ns
    time.sleep(0.01)
    assert scraper.fetch(url).outcome == "unchanged"
    assert first.path.stat().st_mtime_ns == mtime
    site.plain = html("Plain release", "Corrected text.")
    again = scraper.fetch(url)
    assert (again.outcome, again.path) == ("saved", first.path)
    assert first.path.read_bytes() == site.plain
    assert not list(first.path.parent.glob(".*.tmp"))


def test_scrape_fetches_each_url_once(site, scraper):
    url = site.url("/news/plain.html")
    results = list(scraper.scrape([url, url + "#top", url]))
    assert [r.outcome for r in results] == ["saved"]
    assert site.hits["/news/plain.html"] == 1


def test_delay_spaces_requests_to_one_host(site, out):
    with Scraper(out, delay=0.2) as scraper:
        start = time.monotonic()
        results = list(scraper.scrape([site.url("/news/plain.html"), site.url("/news/etag.html")]))
        elapsed = time.monotonic() - start
    assert [r.outcome for r in results] == ["saved", "saved"]
    times = [t for _, _, t in site.log]
    assert len(times) == 3  # robots.txt and two pages
    assert all(b - a >= 0.15 for a, b in zip(times, times[1:]))
    assert elapsed >= 0.4


# -- sitemaps and feeds --------------------------------------------------------------------


def test_urls_from_sitemap(site, scraper):
    assert scraper.urls_from_sitemap(site.url("/sitemap.xml")) == [
        site.url("/news/etag.html"),
        site.url("/news/plain.html"),
    ]


def test_urls_from_sitemap_index_with_gzip_child(site, scraper):
    assert scraper.urls_from_sitemap(site.url("/sitemap-index.xml")) == [
        site.url("/news/etag.html"),
        site.url("/news/plain.html"),
        site.url("/news/cp1251.html"),
    ]
    assert site.hits["/sitemap.xml"] == 1


def test_sitemap_index_pointing_at_itself_ends(site, scraper):
    assert scraper.urls_from_sitemap(site.url("/sitemap-loop.xml")) == []
    assert site.hits["/sitemap-loop.xml"] == 1


def test_urls_from_rss_feed(site, scraper):
    assert scraper.urls_from_feed(site.url("/feed.rss")) == [
        site.url("/news/etag.html"),
        site.url("/news/cp1251.html"),
        site.url("/news/plain.html"),
    ]


def test_urls_from_atom_feed(site, scraper):
    assert scraper.urls_from_feed(site.url("/feed.atom")) == [
        site.url("/news/plain.html"),
        site.url("/news/lastmod.html"),
    ]


def test_sitemap_and_feed_errors(site, scraper):
    with pytest.raises(ScrapeError, match="DOCTYPE or entity declaration is refused"):
        scraper.urls_from_sitemap(site.url("/evil.xml"))
    with pytest.raises(ScrapeError, match=r"is not a sitemap \(root element <rss>\)"):
        scraper.urls_from_sitemap(site.url("/feed.rss"))
    with pytest.raises(ScrapeError, match=r"not an RSS or Atom feed \(root element <urlset>\)"):
        scraper.urls_from_feed(site.url("/sitemap.xml"))
    with pytest.raises(ScrapeError, match="^HTTP 404 Not Found; check the URL$"):
        scraper.urls_from_feed(site.url("/missing.xml"))
    with pytest.raises(ScrapeError, match="^an HTML page, not XML; check the URL$"):
        scraper.urls_from_feed(site.url("/news/plain.html"))
    with pytest.raises(ScrapeError, match=r"^not valid XML \(syntax error"):
        scraper.urls_from_feed(site.url("/robots.txt"))


def test_parse_xml_refuses_entities_and_keeps_namespaces():
    with pytest.raises(ScrapeError):
        parse_xml(b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    with pytest.raises(ScrapeError):
        parse_xml('<?xml version="1.0" encoding="utf-16"?><!DOCTYPE x><x/>'.encode("utf-16"))
    root = parse_xml(b'<feed xmlns="http://www.w3.org/2005/Atom"><link href="/a"/></feed>')
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert root[0].get("href") == "/a"


# -- command line --------------------------------------------------------------------------


def run_cli(*args):
    from searchapp.cli import cli

    return CliRunner().invoke(cli, ["scrape", *args])


def test_cli_prints_a_line_per_url_and_a_summary(site, out):
    urls = [
        site.url(p) for p in ("/news/etag.html", "/news/cp1251.html", "/private/secret.html", "/doc.pdf", "/missing")
    ]
    args = [*urls, "--out", str(out), "--delay", "0"]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    with Scraper(out) as s:
        paths = [s.path_for(u) for u in urls[:2]]
    assert result.stdout.splitlines() == [
        f"saved {urls[0]} -> {paths[0]}",
        f"saved {urls[1]} -> {paths[1]}",
        f"skipped {urls[2]}: disallowed by robots.txt",
        f"skipped {urls[3]}: not HTML (application/pdf)",
        f"skipped {urls[4]}: HTTP 404 Not Found",
        "2 saved, 0 unchanged, 3 skipped, 0 failed",
    ]
    assert result.stderr == ""
    again = run_cli(*args)
    assert again.stdout.splitlines()[:2] == [f"unchanged {urls[0]}", f"unchanged {urls[1]}"]
    assert again.stdout.splitlines()[-1] == "0 saved, 2 unchanged, 3 skipped, 0 failed"


def test_cli_failure_exits_1(site, out):
    url, slow = site.url("/error"), site.url("/slow")
    result = run_cli(url, slow, "--out", str(out), "--delay", "0", "--retries", "0", "--timeout", "0.2")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"failed {url}: HTTP 500 Internal Server Error (1 attempt); try again later",
        f"failed {slow}: timed out after 0.2 s (1 attempt); try again later or raise --timeout",
    ]
    assert result.stdout == "0 saved, 0 unchanged, 0 skipped, 2 failed\n"


def test_cli_max_bytes(site, out):
    url = site.url("/huge")
    result = run_cli(url, "--out", str(out), "--delay", "0", "--max-bytes", "50000")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == (f"skipped {url}: larger than 50000 bytes; raise --max-bytes to save it")


def test_cli_sitemap_and_feed(site, out):
    result = run_cli(
        "--sitemap",
        site.url("/sitemap.xml"),
        "--feed",
        site.url("/feed.atom"),
        "--feed",
        site.url("/evil.xml"),
        "--out",
        str(out),
        "--delay",
        "0",
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert [line.split(" -> ")[0] for line in lines] == [
        f"saved {site.url('/news/etag.html')}",
        f"saved {site.url('/news/plain.html')}",
        f"saved {site.url('/news/lastmod.html')}",
        "3 saved, 0 unchanged, 0 skipped, 1 failed",
    ]
    assert result.stderr == (f"failed {site.url('/evil.xml')}: XML with a DOCTYPE or entity declaration is refused\n")


def test_cli_needs_something_to_fetch():
    result = run_cli()
    assert result.exit_code == 2
    assert "Give at least one URL, --sitemap or --feed." in result.stderr


def test_cli_help_says_what_it_does():
    result = run_cli("--help")
    assert result.exit_code == 0
    assert "Download press-release pages into the corpus, politely." in result.stdout
    assert "--out DIR" in result.stdout
    assert "corpus/scraped" in result.stdout


def test_python_m_searchapp_scrape(site, out):
    url = site.url("/news/cp1251.html")
    proc = subprocess.run(
        [sys.executable, "-m", "searchapp", "scrape", url, "--out", str(out), "--delay", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert proc.returncode == 0, proc.stderr
    with Scraper(out) as s:
        path = s.path_for(url)
    assert proc.stdout == f"saved {url} -> {path}\n1 saved, 0 unchanged, 0 skipped, 0 failed\n"
    assert path.read_bytes() == CP1251_PAGE
