"""The `searchapp` command line: a thin layer over the functions the web app uses."""

from __future__ import annotations

import json
import sys
import time

import click

from indexer import config
from indexer.engine.backends import BACKEND_ENV, index_location, open_view, unavailable_errors
from indexer.engine.interface import ReindexBusyError
from indexer.engine.storage import IndexMissingError
from indexer.extract.clean import clean_paths
from indexer.extract.decode import MAX_BYTES
from indexer.fetch.scraper import ScrapeError, Scraper
from indexer.index.reindex import CorpusMissingError, IndexCheckError, Reporter, WriterProcessError
from indexer.index.reindex import reindex as reindex_corpus
from indexer.index.stats import index_stats
from searchapp.index_check import check_index_state
from searchapp.results import result_dict
from searchapp.search import MAX_PER_PAGE, SORTS, BadParameter, SearchRequest
from searchapp.search import search as run_search


@click.group()
@click.version_option(package_name="searchapp")
def cli():
    """Search press releases of NGOs, human-rights groups and governments."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per document, one per line.")
@click.option("--no-manifest", is_flag=True, help="Ignore manifests and sidecars; use only what the page says.")
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=MAX_BYTES,
    show_default=True,
    help="Refuse files larger than this.",
)
def clean(paths, as_json, no_manifest, max_bytes):
    """Clean saved pages (HTML, text, Markdown) into documents and print them.

    PATHS are files or folders (folders are walked). Metadata from a
    manifest.csv/manifest.json beside the files, or a NAME.meta.json sidecar,
    wins over what is extracted from the page. A file that cannot be cleaned
    is reported on stderr and the rest still come out; the exit status is 1
    when any file failed.
    """
    failed = 0
    for path, doc, error in clean_paths(paths, use_metadata_files=not no_manifest, max_bytes=max_bytes):
        if error is not None:
            failed += 1
            click.echo(f"error: {path}: {error}", err=True)
            continue
        if as_json:
            click.echo(json.dumps(doc.to_dict(), ensure_ascii=False))
        else:
            click.echo(_format_document(doc))
    if failed:
        click.echo(f"{failed} file(s) could not be cleaned.", err=True)
        sys.exit(1)


def _format_document(doc) -> str:
    """Return a readable block for one document."""
    date = doc.date_iso or "date unknown"
    if doc.date and doc.date.year is None:
        date = f"{doc.date_iso} (year unknown)"
    lines = [
        f"== {doc.title}",
        f"path:     {doc.path}",
        f"id:       {doc.id}",
        f"url:      {doc.url or '-'}",
        f"source:   {doc.source or '-'}",
        f"date:     {date}" + (f"  [from {doc.date.source}]" if doc.date else ""),
        f"language: {doc.language or '-'}",
        "",
        doc.body,
        "",
    ]
    return "\n".join(lines)


@cli.command()
@click.argument("urls", nargs=-1)
@click.option(
    "--sitemap",
    "sitemaps",
    multiple=True,
    metavar="URL",
    help="Also fetch every page a sitemap or sitemap index lists (may be gzipped).",
)
@click.option(
    "--feed", "feeds", multiple=True, metavar="URL", help="Also fetch every page an RSS or Atom feed links to."
)
@click.option(
    "--out",
    default="corpus/scraped",
    show_default=True,
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="Folder to save pages in, one subfolder per host.",
)
@click.option(
    "--delay",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Seconds to wait between requests to the same host.",
)
@click.option(
    "--max-bytes",
    default=10_000_000,
    show_default=True,
    type=click.IntRange(min=1),
    metavar="N",
    help="Skip pages larger than this many bytes.",
)
@click.option(
    "--timeout",
    default=20.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Seconds to wait for a server to connect or send data.",
)
@click.option(
    "--retries",
    default=3,
    show_default=True,
    type=click.IntRange(min=0),
    metavar="N",
    help="Retries, with growing waits, after a network error, a 5xx or a 429.",
)
def scrape(urls, sitemaps, feeds, out, delay, max_bytes, timeout, retries):
    """Download press-release pages into the corpus, politely.

    Each page is saved exactly as received as OUT/HOST/NAME.html, beside a
    NAME.meta.json sidecar (URL, final URL after redirects, fetch time,
    ETag, Last-Modified, Content-Type, charset) that `searchapp clean` reads.
    robots.txt is obeyed and requests to one host are spaced by --delay. A
    page saved before is asked for with its ETag and Last-Modified, and its
    file is rewritten only when its content changed.

    Prints one line per URL (saved, unchanged, skipped or failed) and a
    summary. The exit status is 1 when a URL failed (network error, or a
    server error after retries) or a sitemap or feed could not be read;
    pages skipped by rule (robots.txt, not HTML, too big, 404) do not count.
    """
    if not (urls or sitemaps or feeds):
        raise click.UsageError("Give at least one URL, --sitemap or --feed.")
    counts = dict.fromkeys(("saved", "unchanged", "skipped", "failed"), 0)
    options = dict(delay=delay, max_bytes=max_bytes, timeout=timeout, retries=retries)
    with Scraper(out, **options) as scraper:
        found = list(urls)
        sources = [(u, scraper.urls_from_sitemap) for u in sitemaps]
        sources += [(u, scraper.urls_from_feed) for u in feeds]
        for source, read_urls in sources:
            try:
                found.extend(read_urls(source))
            except ScrapeError as exc:
                counts["failed"] += 1
                click.echo(f"failed {source}: {exc}", err=True)
        for result in scraper.scrape(found):
            counts[result.outcome] += 1
            click.echo(_format_result(result), err=result.failed)
    click.echo(", ".join(f"{n} {outcome}" for outcome, n in counts.items()))
    if counts["failed"]:
        sys.exit(1)


def _format_result(result) -> str:
    """Return the line `searchapp scrape` prints for one URL."""
    if result.outcome == "saved":
        return f"saved {result.url} -> {result.path}"
    if result.outcome == "unchanged":
        return f"unchanged {result.url}"
    return f"{result.outcome} {result.url}: {result.reason}"


# Exit status of `reindex --no-wait` when another reindex holds the index: "try again later".
EXIT_INDEX_BUSY = 75
PROGRESS_REDRAW_SECONDS = 0.2
INDEX_HELP = f"Index folder. [default: ${config.INDEX_ENV} or {config.DEFAULT_INDEX}]"
CORPUS_HELP = f"Folder of pages to index. [default: ${config.CORPUS_ENV} or {config.DEFAULT_CORPUS}]"
BACKEND_HELP = (
    f"A PostgreSQL database to use instead of the index folder (its primary; replicas: $SEARCHAPP_REPLICAS). "
    f"[default: ${BACKEND_ENV}]"
)
backend_option = click.option("--backend", metavar="URL", help=BACKEND_HELP)


def _index(index, backend):
    """Return the index the options name: a database URL, or a folder."""
    try:
        return index_location(index, backend)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--backend") from exc


@cli.command()
@click.option("--corpus", metavar="DIR", help=CORPUS_HELP)
@click.option("--index", metavar="DIR", help=INDEX_HELP)
@backend_option
@click.option("--full", is_flag=True, help="Rebuild from scratch beside the live index, then swap it in.")
@click.option(
    "--no-wait", is_flag=True, help=f"Exit at once (status {EXIT_INDEX_BUSY}) if another reindex holds the index."
)
@click.option(
    "--workers", type=click.IntRange(min=1), metavar="N", help="Processes that clean pages. [default: one per CPU]"
)
@click.option(
    "--writers",
    type=click.IntRange(min=1),
    metavar="N",
    help="Processes that write the index, each using up to 256 MB. [default: as --workers from 2,000 pages, else 1]",
)
def reindex(corpus, index, backend, full, no_wait, workers, writers):
    """Bring the search index up to date with the corpus.

    Only new, changed and deleted pages are read: a page whose size and
    modification time are unchanged is skipped, and one whose content hash is
    unchanged is not cleaned again. Searches running meanwhile see the index
    before or after the reindex, never in between. With --full the index is
    rebuilt beside the live one and swapped in when complete; cleaned pages are
    cached beside the index (var/cache), so only changed pages are cleaned again.
    Before a new state is swapped in, it is searched in every way the site
    searches; if that fails, the previous index keeps serving and the exit
    status is 1.

    A page that cannot be indexed costs one line on stderr; the rest are
    indexed and the exit status is 1. A second reindex of the same index waits
    for the first, saying who holds it.
    """
    corpus_dir, index_dir = config.corpus_path(corpus), _index(index, backend)
    reporter = _ReindexReporter(corpus_dir)
    try:
        summary = reindex_corpus(
            corpus_dir,
            index_dir,
            full=full,
            wait=not no_wait,
            workers=workers,
            writers=writers,
            reporter=reporter,
            check=check_index_state,
        )
    except ReindexBusyError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(EXIT_INDEX_BUSY)
    except (CorpusMissingError, IndexCheckError, WriterProcessError, *unavailable_errors()) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        reporter.finish()
    click.echo(summary.line())
    if summary.failed:
        sys.exit(1)


class _ReindexReporter(Reporter):
    """Show a reindex: a progress bar when stderr is a terminal, one line per failed page."""

    def __init__(self, corpus_dir):
        self.corpus_dir = corpus_dir
        self.bar = None
        self.unshown = 0
        self.shown_at = 0.0

    def waiting(self, holder) -> None:
        click.echo(f"Waiting for the reindex of {holder.describe()} to finish...", err=True)

    def breaking_lock(self, holder) -> None:
        click.echo(f"Breaking the lock left by {holder.describe()}, which no longer runs.", err=True)

    def note(self, message: str) -> None:
        click.echo(message, err=True)

    def start(self, total: int) -> None:
        if total and sys.stderr.isatty():
            self.bar = click.progressbar(length=total, label="Reading pages", file=sys.stderr)
            self.bar.__enter__()

    def advance(self) -> None:
        if self.bar is None:
            return
        self.unshown += 1
        # Redrawing for each of 100,000 pages would cost more than it shows.
        if time.monotonic() - self.shown_at >= PROGRESS_REDRAW_SECONDS:
            self.bar.update(self.unshown)
            self.unshown, self.shown_at = 0, time.monotonic()

    def failed(self, relpath: str, reason: str) -> None:
        # On a terminal, clear the bar's line first; the bar redraws below the message.
        prefix = "\r\033[K" if self.bar is not None else ""
        click.echo(f"{prefix}error: {self.corpus_dir / relpath}: {reason}", err=True)

    def finish(self) -> None:
        """Close the progress bar, if one is shown."""
        if self.bar is not None:
            self.bar.update(self.unshown)
            self.bar.__exit__(None, None, None)
            self.bar = None


@cli.command()
@click.option("--index", metavar="DIR", help=INDEX_HELP)
@backend_option
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as one JSON object.")
def stats(index, backend, as_json):
    """Show what the index holds: documents per source and language, dates, size and age."""
    try:
        data = index_stats(_index(index, backend))
    except (IndexMissingError, *unavailable_errors()) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else _format_stats(data))


def _format_stats(data: dict) -> str:
    """Return the text `searchapp stats` prints."""
    dates = f"{data['first_date']} to {data['last_date']}" if data["first_date"] else "none with a year"
    built = data["built_at"] or "unknown"
    if data["full_built_at"] and data["full_built_at"] != data["built_at"]:
        built += f" (last full build {data['full_built_at']})"
    lines = [
        f"index:      {data['index']} ({data['generation']})",
        f"corpus:     {data['corpus'] or '-'}",
        f"documents:  {data['documents']}",
        f"size:       {data['size_bytes'] / 1_000_000:.1f} MB",
        f"built:      {built}",
        f"published:  {data['published_at'] or 'unknown'}",
        f"checked:    {data['checked_at'] or 'unknown'}",
        f"dates:      {dates}; {data['no_year']} without a year, {data['no_date']} without a date",
        "languages:  " + (", ".join(f"{lang} {n}" for lang, n in data["languages"].items()) or "-"),
        f"sources:    {len(data['sources'])}",
    ]
    width = len(str(max([*data["sources"].values(), data["no_source"]])))
    lines += [f"  {n:>{width}}  {source}" for source, n in data["sources"].items()]
    if data["no_source"]:
        lines.append(f"  {data['no_source']:>{width}}  (no source)")
    return "\n".join(lines)


@cli.command()
@click.argument("query", required=False, default="")
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="S",
    help="Only this source, by its name (any case) or a part that names one (repeat for several).",
)
@click.option(
    "--language",
    "languages",
    multiple=True,
    metavar="L",
    help='Only this language: its code (uk, en; "und" for unknown) or its name (repeat for several).',
)
@click.option("--from", "date_from", metavar="DATE", help="Earliest date, YYYY-MM-DD (or YYYY-MM, YYYY).")
@click.option("--to", "date_to", metavar="DATE", help="Latest date, YYYY-MM-DD (or YYYY-MM, YYYY).")
@click.option("--year", metavar="YEAR", help='Only this year, or "unknown" for undated releases.')
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default="relevance",
    show_default=True,
    help="Order of the results; with no QUERY there is nothing to rank, so newest first.",
)
@click.option(
    "--limit", type=click.IntRange(1, MAX_PER_PAGE), default=10, show_default=True, help="How many results to show."
)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--index", metavar="DIR", help=INDEX_HELP)
@backend_option
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON for the same search.")
def search(query, sources, languages, date_from, date_to, year, sort, limit, page, index, backend, as_json):
    """Search the index: words, "phrases", OR, -exclude, title:, source:, language:, word*.

    Prints the matching releases (title, source, date, url, snippet) and the
    counts per source, per language and per year. With --json, prints exactly what
    /api/search returns for the same parameters.
    """
    params = {
        "q": query,
        "source": list(sources),
        "language": list(languages),
        "from": date_from or "",
        "to": date_to or "",
        "year": year or "",
        "sort": sort,
        "per_page": str(limit),
        "page": str(page),
    }
    try:
        request = SearchRequest.from_args({k: v if isinstance(v, list) else [v] for k, v in params.items()})
        with open_view(_index(index, backend)) as view:
            result = run_search(view, request)
    except BadParameter as exc:
        option = {"q": "QUERY", "source": "--source", "language": "--language", "from": "--from", "to": "--to"}.get(
            exc.name, f"--{exc.name}"
        )
        raise click.BadParameter(exc.message, param_hint=option) from exc
    except (IndexMissingError, *unavailable_errors()) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result_dict(result), ensure_ascii=False, indent=2))
    else:
        click.echo(_format_results(result))


def _format_results(result) -> str:
    """Return readable search results with the facet counts."""
    shown = (
        f"{(result.request.page - 1) * result.request.per_page + 1}-"
        f"{(result.request.page - 1) * result.request.per_page + len(result.hits)}"
        if result.hits
        else "none"
    )
    noun = "press release" if result.total == 1 else "press releases"
    lines = [f"{result.total:,} {noun} (showing {shown})"]
    if result.notice:
        lines.append(result.notice)
    if result.suggestion:
        lines.append(f"Did you mean: {result.suggestion}")
    for hit in result.hits:
        language = f" | {hit['language']}" if hit["language"] not in (None, "en") else ""
        lines += [
            "",
            f"{hit['title']}",
            f"  {hit['source'] or 'unknown source'} | {_date_text(hit)}{language}",
            f"  {hit['url'] or '(no url)'}",
            f"  {hit['snippet']}",
        ]
    lines += ["", "Sources: " + "; ".join(f"{v['value']} {v['count']}" for v in result.facets["source"][:15])]
    languages = "; ".join(f"{v['name']} ({v['value']}) {v['count']}" for v in result.facets["language"])
    lines.append(f"Languages: {languages or '-'}")
    years = "; ".join(f"{v['value']} {v['count']}" for v in result.facets["year"])
    lines.append(f"Years: {years or '-'}; date unknown {result.undated}")
    return "\n".join(lines)


def _date_text(hit: dict) -> str:
    """Return a hit's date for people: the ISO date, or that it is unknown."""
    if not hit["date"]:
        return "date unknown"
    if hit["date"].startswith("--"):
        return f"{hit['date'][2:]} (year unknown)"
    return hit["date"]


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=5000, show_default=True, help="Port (0: any free one).")
@click.option("--bind", multiple=True, metavar="HOST:PORT", help="Listen here instead (repeat for several; unix:PATH).")
@click.option("--index", metavar="DIR", help=INDEX_HELP)
@backend_option
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes  [default: one per core]")
@click.option("--threads", type=click.IntRange(min=1), default=2, show_default=True, help="Threads per worker.")
@click.option(
    "--cache-mb",
    type=click.FloatRange(min=0),
    help="Postings each worker keeps in memory, in MB  [default: SEARCH_CACHE_MB, 256]",
)
@click.option(
    "--access-log",
    default="-",
    show_default=True,
    metavar="FILE",
    help="Where to write the access log ('-' for stdout, '' for none).",
)
@click.option("--dev", is_flag=True, help="Run the development server instead: one process, for one person.")
def serve(host, port, bind, index, backend, workers, threads, cache_mb, access_log, dev):
    """Serve the search page, the JSON API, the Atom feeds and /embed.js over HTTP.

    Runs gunicorn with pre-forked workers (one per core by default), each
    keeping one warmed view of the index shared by its threads; a reindex
    reaches them within seconds, once its new state is warm. SIGTERM stops
    it after the requests in progress. Reads config.py in the instance folder
    ($SEARCHAPP_INSTANCE to choose it), as `searchapp:create_app()` does under
    another WSGI server; the options win over it.
    """
    from pathlib import Path

    from searchapp import create_app
    from searchapp.server import WATCH_SECONDS, default_workers

    overrides = {"INDEX": str(_index(index, backend))} if index or backend else {}
    if cache_mb is not None:
        overrides["SEARCH_CACHE_MB"] = cache_mb
    if not dev:
        overrides["WATCH_SECONDS"] = WATCH_SECONDS
    app = create_app(overrides=overrides)
    settings = Path(app.instance_path) / "config.py"
    click.echo(f"Settings: {settings}" + ("" if settings.is_file() else " (none there: the defaults apply)"))
    addresses = list(bind) or [f"{host}:{port}"]
    shown = ", ".join(a if a.startswith("unix:") else f"http://{a}/" for a in addresses)
    if dev:
        from werkzeug.serving import run_simple

        click.echo(f"Searching {app.config['INDEX']} on http://{host}:{port}/ (development server; Ctrl+C stops)")
        run_simple(host, port, app, threaded=True, use_reloader=False)
        return
    from searchapp.server import serve as run_server

    workers = workers or default_workers()
    click.echo(f"Searching {app.config['INDEX']} on {shown} with {workers} workers x {threads} threads (Ctrl+C stops)")
    run_server(app, bind=addresses, workers=workers, threads=threads, access_log=access_log or None)
