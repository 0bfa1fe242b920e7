"""The `searchapp` command line: a thin layer over the functions the web app uses."""

from __future__ import annotations

import json
import sys

import click

from indexer.clean import clean_paths
from indexer.scrape import Scraper, ScrapeError


@click.group()
@click.version_option(package_name="searchapp")
def cli():
    """Search press releases of NGOs, human-rights groups and governments."""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per document, one per line.")
@click.option("--no-manifest", is_flag=True, help="Ignore manifests and sidecars; use only what the page says.")
def clean(paths, as_json, no_manifest):
    """Clean saved pages (HTML, text, Markdown) into documents and print them.

    PATHS are files or folders (folders are walked). Metadata from a
    manifest.csv/manifest.json beside the files, or a NAME.meta.json sidecar,
    wins over what is extracted from the page. A file that cannot be cleaned
    is reported on stderr and the rest still come out; the exit status is 1
    when any file failed.
    """
    failed = 0
    for path, doc, error in clean_paths(paths, use_metadata_files=not no_manifest):
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
@click.option("--sitemap", "sitemaps", multiple=True, metavar="URL",
              help="Also fetch every page a sitemap or sitemap index lists (may be gzipped).")
@click.option("--feed", "feeds", multiple=True, metavar="URL",
              help="Also fetch every page an RSS or Atom feed links to.")
@click.option("--out", default="corpus/scraped", show_default=True, metavar="DIR",
              type=click.Path(file_okay=False),
              help="Folder to save pages in, one subfolder per host.")
@click.option("--delay", default=1.0, show_default=True, type=click.FloatRange(min=0),
              metavar="SECONDS",
              help="Seconds to wait between requests to the same host.")
@click.option("--max-bytes", default=10_000_000, show_default=True, type=click.IntRange(min=1),
              metavar="N",
              help="Skip pages larger than this many bytes.")
@click.option("--timeout", default=20.0, show_default=True,
              type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Seconds to wait for a server to connect or send data.")
@click.option("--retries", default=3, show_default=True, type=click.IntRange(min=0),
              metavar="N",
              help="Retries, with growing waits, after a network error, a 5xx or a 429.")
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
