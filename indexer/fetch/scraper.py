"""Fetch press-release pages politely and save them, with a metadata sidecar, for the cleaner."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
import urllib.robotparser
import xml.etree.ElementTree as ET
import xml.parsers.expat
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import urllib3

from indexer.extract.metadata_files import sidecar_path

USER_AGENT = "searchapp-pressrelease-scraper/0.1 (+https://github.com/searchapp)"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
XML_ACCEPT = "application/xml,text/xml,application/rss+xml,application/atom+xml;q=0.9,*/*;q=0.1"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# A longer Retry-After is the server asking us to come back another time, not in this run.
MAX_RETRY_AFTER = 30.0
# RFC 9309 asks crawlers to read at least 500 KiB of robots.txt; beyond that we parse what we have.
ROBOTS_MAX_BYTES = 512 * 1024
# Sitemap indexes may not nest by the spec, but some sites do; these bounds stop loops and floods.
MAX_SITEMAP_DEPTH = 3
MAX_SITEMAPS = 1000
SLUG_MAX = 80
# Page extensions that add nothing to a file name (the saved file is .html anyway).
_PAGE_EXTENSION = re.compile(r"\.(s?html?|php\d?|aspx?|jsp|cfm)$", re.IGNORECASE)


class ScrapeError(Exception):
    """A URL not fetched: outcome "skipped" (by rule) or "failed" (worth trying again later)."""

    def __init__(self, outcome: str, reason: str, status: int | None = None):
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class FetchResult:
    """What happened to one URL: "saved", "unchanged", "skipped" or "failed", and why."""

    url: str
    outcome: str
    reason: str | None = None
    path: Path | None = None
    final_url: str | None = None
    status: int | None = None

    @property
    def failed(self) -> bool:
        """Return True when the URL failed (network error or server error after retries)."""
        return self.outcome == "failed"


def host_dir(url: str) -> str:
    """Return the folder name for a URL's host: safe characters, plus the port if not default."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    # Dots at the ends are stripped so that a host like ".." cannot climb out of the corpus.
    name = re.sub(r"[^a-z0-9.-]", "_", host.lower()).strip(".") or "_"
    port = parts.port
    if port is not None and port != {"http": 80, "https": 443}.get(parts.scheme):
        name += f"_{port}"
    return name


def page_slug(url: str) -> str:
    """Return the file stem for a URL: words of its path plus a short hash of the whole URL."""
    path = _PAGE_EXTENSION.sub("", unquote(urlsplit(url).path))
    words = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")[:SLUG_MAX].rstrip("-")
    # The hash keeps apart URLs whose paths read the same (query strings, non-Latin paths).
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()[:10]
    return f"{words or 'index'}-{digest}"


class Scraper:
    """Fetches pages into out_dir/<host>/<slug>.html with a <slug>.meta.json sidecar."""

    def __init__(
        self,
        out_dir: str | os.PathLike,
        *,
        user_agent: str = USER_AGENT,
        delay: float = 1.0,
        max_bytes: int = 10_000_000,
        timeout: float = 20.0,
        retries: int = 3,
        backoff: float = 1.0,
    ):
        self.out_dir = Path(out_dir)
        self.user_agent = user_agent
        self.delay = delay
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=timeout, read=timeout))
        self._robots: dict[str, urllib.robotparser.RobotFileParser | ScrapeError] = {}
        self._last_request: dict[str, float] = {}

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.clear()

    def __enter__(self) -> Scraper:
        """Return the scraper; leaving the block closes its connections."""
        return self

    def __exit__(self, *exc) -> None:
        """Close the pooled connections."""
        self.close()

    def path_for(self, url: str) -> Path:
        """Return where the page of `url` is saved."""
        return self.out_dir / host_dir(url) / (page_slug(url) + ".html")

    def scrape(self, urls: Iterable[str]) -> Iterator[FetchResult]:
        """Fetch each URL once, in order, yielding a result as each finishes."""
        seen = set()
        for url in urls:
            url = urldefrag(url.strip()).url
            if url in seen:  # sitemaps and feeds often list the same page
                continue
            seen.add(url)
            yield self.fetch(url)

    def fetch(self, url: str) -> FetchResult:
        """Fetch one page and save it unless it is unchanged, skipped or failed."""
        url = urldefrag(url.strip()).url
        try:
            return self._fetch(url)
        except ScrapeError as exc:
            return FetchResult(url, exc.outcome, exc.reason, status=exc.status)

    def urls_from_sitemap(self, url: str) -> list[str]:
        """Return the page URLs of a sitemap or (nested) sitemap index, gzipped or not."""
        urls: list[str] = []
        self._walk_sitemap(url, 0, urls, {url})
        return list(dict.fromkeys(urls))

    def urls_from_feed(self, url: str) -> list[str]:
        """Return the item links of an RSS 2.0/1.0 or Atom feed."""
        base, root = self._fetch_xml(url)
        urls = []
        if _local(root.tag) == "feed":
            for entry in _children(root, "entry"):
                for link in _children(entry, "link"):
                    if link.get("rel", "alternate") == "alternate" and link.get("href"):
                        urls.append(urljoin(base, link.get("href").strip()))
                        break
        elif _local(root.tag) in ("rss", "RDF"):
            for item in (el for el in root.iter() if _local(el.tag) == "item"):
                link = _child_text(item, "link")
                guid = next(_children(item, "guid"), None)
                if not link and guid is not None and guid.get("isPermaLink", "true") == "true":
                    link = (guid.text or "").strip()
                if link:
                    urls.append(urljoin(base, link))
        else:
            raise ScrapeError("failed", f"not an RSS or Atom feed (root element <{_local(root.tag)}>)")
        return list(dict.fromkeys(u for u in urls if _is_http(u)))

    # -- pages ---------------------------------------------------------------

    def _fetch(self, url: str) -> FetchResult:
        """Fetch and save one page; raise ScrapeError when it is skipped or fails."""
        _check_url(url)
        page = self.path_for(url)
        sidecar = sidecar_path(page)
        old = _read_sidecar(sidecar) if page.is_file() else None
        headers = {"Accept": PAGE_ACCEPT}
        if old:
            if old.get("etag"):
                headers["If-None-Match"] = old["etag"]
            if old.get("last_modified"):
                headers["If-Modified-Since"] = old["last_modified"]
        final_url, resp = self._open(url, headers)
        complete = False
        try:
            if resp.status == 304 and old is not None:
                return FetchResult(url, "unchanged", path=page, final_url=final_url, status=304)
            if resp.status != 200:
                raise ScrapeError("skipped", _status_text(resp), resp.status)
            content_type = resp.headers.get("Content-Type")
            mime, charset = _parse_content_type(content_type)
            if mime not in HTML_TYPES:
                raise ScrapeError("skipped", f"not HTML ({mime or 'no Content-Type'})", resp.status)
            body = self._read(resp, self.max_bytes)
            complete = True
        finally:
            _finish(resp, complete)

        meta = {
            "url": url,
            "final_url": final_url,
            "fetched_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "etag": resp.headers.get("ETag"),
            "last_modified": resp.headers.get("Last-Modified"),
            "content_type": content_type,
            "charset": charset,
            "status": resp.status,
        }
        try:
            page.parent.mkdir(parents=True, exist_ok=True)
            if page.is_file() and page.read_bytes() == body:
                # Keep the validators current so the next run can ask for a 304.
                if old is None or _without_time(old) != _without_time(meta):
                    _write_atomic(sidecar, _json_bytes(meta))
                return FetchResult(url, "unchanged", path=page, final_url=final_url, status=200)
            # Page first: a crash in between leaves an old sidecar, never a sidecar without a page.
            _write_atomic(page, body)
            _write_atomic(sidecar, _json_bytes(meta))
        except OSError as exc:
            raise ScrapeError(
                "failed", f"could not write {page}: {exc.strerror or exc}; check that --out is writable"
            ) from exc
        return FetchResult(url, "saved", path=page, final_url=final_url, status=200)

    def _read(self, resp, limit: int, truncate: bool = False) -> bytes:
        """Read the body, refusing (or with truncate, cutting) anything over `limit` bytes."""
        length = resp.headers.get("Content-Length", "")
        if not truncate and length.isdigit() and int(length) > limit:
            raise ScrapeError("skipped", _too_big(limit), resp.status)
        chunks, total = [], 0
        try:
            for chunk in resp.stream(64 * 1024):
                total += len(chunk)
                if total > limit:
                    if truncate:
                        chunks.append(chunk[: len(chunk) - (total - limit)])
                        break
                    # Stop reading here: a truncated page would be cleaned as if it were whole.
                    raise ScrapeError("skipped", _too_big(limit), resp.status)
                chunks.append(chunk)
        except urllib3.exceptions.HTTPError as exc:
            problem, hint = _network_problem(exc, self.timeout)
            raise ScrapeError("failed", f"{problem} while reading; {hint}") from exc
        return b"".join(chunks)

    # -- HTTP ----------------------------------------------------------------

    def _open(self, url: str, headers: dict, check_robots: bool = True):
        """Return (final URL, open response) after redirects; the caller reads or closes it."""
        for _ in range(MAX_REDIRECTS + 1):
            if check_robots:
                self._check_robots(url)
            resp = self._request(url, headers)
            location = resp.headers.get("Location")
            if resp.status not in REDIRECT_STATUSES or not location:
                return url, resp
            _finish(resp, complete=False)
            url = urldefrag(urljoin(url, location.strip())).url
            if not _is_http(url):
                raise ScrapeError("skipped", f"redirected to a non-HTTP URL: {url}", resp.status)
        raise ScrapeError("skipped", f"more than {MAX_REDIRECTS} redirects")

    def _request(self, url: str, headers: dict):
        """GET, retrying with backoff on network errors, 5xx and 429; return the response."""
        attempts = self.retries + 1
        for attempt in range(attempts):
            self._wait_for_host(url)
            wait = self.backoff * 2**attempt
            try:
                resp = self._http.request(
                    "GET",
                    url,
                    headers={"User-Agent": self.user_agent, **headers},
                    preload_content=False,
                    redirect=False,
                    retries=False,
                )
            except urllib3.exceptions.HTTPError as exc:
                (problem, hint), status = _network_problem(exc, self.timeout), None
            else:
                if resp.status < 500 and resp.status != 429:
                    return resp
                problem, status, hint = _status_text(resp), resp.status, "try again later"
                retry_after = _retry_after(resp.headers.get("Retry-After"))
                _finish(resp, complete=False)
                if retry_after is not None:
                    if retry_after > MAX_RETRY_AFTER:
                        raise ScrapeError(
                            "failed", f"{problem}; the server asks to wait {retry_after:.0f} s, try again later", status
                        )
                    wait = retry_after
            if attempt + 1 < attempts:
                time.sleep(wait)
        tries = f"{attempts} attempt" + ("s" if attempts > 1 else "")
        raise ScrapeError("failed", f"{problem} ({tries}); {hint}", status)

    def _wait_for_host(self, url: str) -> None:
        """Sleep so that requests to one host start at least `delay` seconds apart."""
        host = urlsplit(url).netloc.lower()
        last = self._last_request.get(host)
        if last is not None:
            remaining = last + self.delay - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)
        self._last_request[host] = time.monotonic()

    # -- robots.txt ----------------------------------------------------------

    def _check_robots(self, url: str) -> None:
        """Raise ScrapeError unless the host's robots.txt lets us fetch `url`."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        rules = self._robots.get(origin)
        if rules is None:
            rules = self._robots[origin] = self._load_robots(origin)
        if isinstance(rules, ScrapeError):
            raise ScrapeError(rules.outcome, rules.reason, rules.status)
        if not rules.can_fetch(self.user_agent, url):
            raise ScrapeError("skipped", "disallowed by robots.txt")

    def _load_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | ScrapeError:
        """Fetch and parse a host's robots.txt, or return the error that stops us using the host."""
        rules = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        try:
            _, resp = self._open(origin + "/robots.txt", {"Accept": "text/plain,*/*;q=0.1"}, check_robots=False)
        except ScrapeError as exc:
            if exc.status is not None and (exc.status >= 500 or exc.status == 429):
                # RFC 9309: a server error on robots.txt means stay away from the whole host.
                return ScrapeError(
                    "skipped", f"robots.txt unavailable (HTTP {exc.status}); host skipped, try again later", exc.status
                )
            if exc.outcome == "failed":
                return ScrapeError("failed", f"robots.txt: {exc.reason}", exc.status)
            rules.allow_all = True  # too many redirects counts as "unavailable", i.e. allowed
            return rules
        complete = False
        try:
            if not 200 <= resp.status < 300:
                # RFC 9309: robots.txt missing or refused (4xx) means no rules.
                rules.allow_all = True
                return rules
            text = self._read(resp, ROBOTS_MAX_BYTES, truncate=True).decode("utf-8", "replace")
            complete = True
        finally:
            _finish(resp, complete)
        rules.parse(text.splitlines())
        return rules

    # -- sitemaps and feeds --------------------------------------------------

    def _walk_sitemap(self, url: str, depth: int, urls: list[str], seen: set[str]) -> None:
        """Add the page URLs of one sitemap to `urls`, following index entries."""
        base, root = self._fetch_xml(url)
        kind = _local(root.tag)
        if kind not in ("urlset", "sitemapindex"):
            raise ScrapeError("failed", f"{url} is not a sitemap (root element <{kind}>)")
        entries = _children(root, "url" if kind == "urlset" else "sitemap")
        locs = [urljoin(base, loc) for loc in (_child_text(e, "loc") for e in entries) if loc]
        if kind == "urlset":
            urls.extend(u for u in locs if _is_http(u))
            return
        if depth >= MAX_SITEMAP_DEPTH:
            raise ScrapeError(
                "failed",
                f"sitemap indexes nested more than {MAX_SITEMAP_DEPTH} "
                f"deep at {url}; pass the inner sitemaps with --sitemap",
            )
        for loc in locs:
            if loc in seen or not _is_http(loc):
                continue
            if len(seen) >= MAX_SITEMAPS:
                raise ScrapeError(
                    "failed", f"more than {MAX_SITEMAPS} sitemaps under {url}; pass the ones you need with --sitemap"
                )
            seen.add(loc)
            self._walk_sitemap(loc, depth + 1, urls, seen)

    def _fetch_xml(self, url: str) -> tuple[str, ET.Element]:
        """Fetch an XML document (gunzipping it if needed); return (final URL, root element)."""
        url = urldefrag(url.strip()).url
        _check_url(url)
        try:
            final_url, resp = self._open(url, {"Accept": XML_ACCEPT})
        except ScrapeError as exc:
            raise ScrapeError("failed", exc.reason, exc.status) from exc
        complete = False
        try:
            if resp.status != 200:
                raise ScrapeError("failed", f"{_status_text(resp)}; check the URL", resp.status)
            try:
                data = self._read(resp, self.max_bytes)
            except ScrapeError as exc:
                raise ScrapeError("failed", exc.reason, exc.status) from exc
            complete = True
        finally:
            _finish(resp, complete)
        if data[:2] == b"\x1f\x8b":  # .xml.gz served as a file, not as Content-Encoding
            data = _gunzip(data, self.max_bytes)
        return final_url, parse_xml(data)


def parse_xml(data: bytes) -> ET.Element:
    """Parse XML, refusing any DOCTYPE or entity declaration so nothing can expand."""
    builder = ET.TreeBuilder()
    parser = xml.parsers.expat.ParserCreate(namespace_separator="}")

    def refuse(*_):
        raise ScrapeError("failed", "XML with a DOCTYPE or entity declaration is refused")

    def refuse_doctype(name, *_):
        if (name or "").lower() == "html":
            raise ScrapeError("failed", "an HTML page, not XML; check the URL")
        refuse()

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = lambda name, attrs: builder.start(
        _clark(name), {_clark(k): v for k, v in attrs.items()}
    )
    parser.EndElementHandler = lambda name: builder.end(_clark(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise ScrapeError("failed", f"not valid XML ({exc})") from exc
    return builder.close()


def _clark(name: str) -> str:
    """Turn expat's "ns}local" into ElementTree's "{ns}local"."""
    return "{" + name if "}" in name else name


def _local(tag: str) -> str:
    """Return a tag without its namespace."""
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element, name: str) -> Iterator[ET.Element]:
    """Yield the direct children of `el` with local name `name`, any namespace."""
    return (child for child in el if _local(child.tag) == name)


def _child_text(el: ET.Element, name: str) -> str | None:
    """Return the stripped text of the first child named `name`, or None when empty."""
    for child in _children(el, name):
        text = (child.text or "").strip()
        if text:
            return text
    return None


def _gunzip(data: bytes, limit: int) -> bytes:
    """Decompress gzip data, refusing more than `limit` bytes of output."""
    try:
        out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, limit + 1)
    except zlib.error as exc:
        raise ScrapeError("failed", f"not valid gzip ({exc})") from exc
    if len(out) > limit:
        raise ScrapeError("failed", _too_big(limit) + " once decompressed")
    return out


def _is_http(url: str) -> bool:
    """Return True for an absolute http(s) URL with a host."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _check_url(url: str) -> None:
    """Raise ScrapeError for a URL we cannot fetch, saying what a good one looks like."""
    if not _is_http(url):
        raise ScrapeError("failed", "not an http(s) URL; give a full address such as https://example.org/news/1")
    try:
        _ = urlsplit(url).port  # a port out of range raises only when asked for
    except ValueError as exc:
        raise ScrapeError("failed", f"bad URL ({exc})") from exc


def _parse_content_type(value: str | None) -> tuple[str, str | None]:
    """Return (media type in lower case, charset parameter or None) of a Content-Type header."""
    if not value:
        return "", None
    mime, _, params = value.partition(";")
    match = re.search(r"""charset\s*=\s*["']?([^"';\s]+)""", params, re.IGNORECASE)
    return mime.strip().lower(), match.group(1) if match else None


def _status_text(resp) -> str:
    """Return e.g. "HTTP 404 Not Found"."""
    reason = resp.reason
    if not reason:
        try:
            reason = HTTPStatus(resp.status).phrase
        except ValueError:
            reason = ""
    return f"HTTP {resp.status} {reason}".rstrip()


def _network_problem(exc: Exception, timeout: float) -> tuple[str, str]:
    """Return (what went wrong in a few words, what to do next) for a urllib3 error."""
    # Connection errors subclass urllib3's TimeoutError, so they are told apart first.
    if isinstance(exc, urllib3.exceptions.NameResolutionError):
        return "host name not found", "check the URL"
    if isinstance(exc, urllib3.exceptions.NewConnectionError):
        cause = exc.__cause__ or exc.__context__
        detail = getattr(cause, "strerror", None) or "connection failed"
        return f"could not connect ({detail})", "check the URL or try again later"
    if isinstance(exc, urllib3.exceptions.TimeoutError):
        return f"timed out after {timeout:g} s", "try again later or raise --timeout"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return f"TLS error ({exc})", "check the URL (http or https?)"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return "connection broken", "try again later"
    return f"network error ({type(exc).__name__})", "try again later"


def _retry_after(value: str | None) -> float | None:
    """Return the seconds a Retry-After header asks for (number or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _too_big(limit: int) -> str:
    """Return the reason for a body over the size limit."""
    return f"larger than {limit} bytes; raise --max-bytes to save it"


def _finish(resp, complete: bool) -> None:
    """Give the connection back; close it first if its body was not read to the end."""
    if not complete:
        resp.close()  # unread body bytes would corrupt the next request on this connection
    resp.release_conn()


def _read_sidecar(path: Path) -> dict | None:
    """Return a sidecar's contents, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _without_time(meta: dict) -> dict:
    """Return a sidecar without its fetch time, to compare what the server said."""
    return {k: v for k, v in meta.items() if k != "fetched_at"}


def _json_bytes(meta: dict) -> bytes:
    """Return a sidecar as UTF-8 JSON."""
    return (json.dumps(meta, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new contents, never a part."""
    # The leading dot and .tmp suffix keep a crash's leftover out of the cleaner's *.html walk;
    # os.open with 0o666 (not mkstemp's 0o600) lets the umask decide who may read the corpus.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
