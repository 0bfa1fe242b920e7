"""The Atom feed of a search: valid Atom, honest dates, links that open a page, and revalidation."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest

from indexer.index.stats import index_stats

from site_fixtures import EXTRA_FOLDER

ATOM = "{http://www.w3.org/2005/Atom}"
UNDATED_TITLE = "Undated appeal for the release of prisoners"


def feed(client, query: str = "") -> ET.Element:
    """Fetch /feed.atom?query and return its parsed root, checked against what Atom requires."""
    response = client.get(f"/feed.atom?{query}")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{ATOM}feed"
    for element in [root, *root.iter(f"{ATOM}entry")]:
        for required in ("id", "title", "updated"):
            assert len(element.findall(f"{ATOM}{required}")) == 1, (required, ET.tostring(element)[:300])
        for when in element.findall(f"{ATOM}updated") + element.findall(f"{ATOM}published"):
            atom_time(when.text)
    for entry in root.iter(f"{ATOM}entry"):
        assert entry.find(f"{ATOM}link").get("href") and entry.find(f"{ATOM}author/{ATOM}name").text
    return root


def atom_time(text: str) -> datetime:
    """Parse an Atom timestamp as the feed writes it (RFC 3339, UTC)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def entry_titled(root: ET.Element, title: str) -> ET.Element:
    """Return the feed's entry with this title."""
    return next(e for e in root.iter(f"{ATOM}entry") if e.find(f"{ATOM}title").text == title)


def updated_times(root: ET.Element) -> list[datetime]:
    """Return the <updated> time of every entry."""
    return [atom_time(e.find(f"{ATOM}updated").text) for e in root.iter(f"{ATOM}entry")]


@pytest.mark.parametrize(
    "query", ["", "q=prisoners", "year=unknown", "q=hostile+markup", "source=NAM-media", "q=zzzqqq", "q=%22unbalanced"]
)
def test_feed_is_valid_atom(site_client, query):
    feed(site_client, query)


def test_release_without_url_links_to_its_page_here(site_client):
    entry = entry_titled(feed(site_client, "q=undated+appeal+prisoners"), UNDATED_TITLE)
    href = entry.find(f"{ATOM}link").get("href")
    doc_id = site_client.get("/api/search?q=undated+appeal+prisoners").get_json()["results"][0]["id"]
    assert href == f"http://localhost/documents/{doc_id}"
    page = site_client.get(urlsplit(href).path)
    assert page.status_code == 200 and page.mimetype == "text/html" and UNDATED_TITLE in page.get_data(as_text=True)


def test_javascript_url_never_becomes_the_link(site_client):
    root = feed(site_client, "q=javascript+URL+never+link")
    entry = entry_titled(root, 'Link test "><svg onload=alert(4)> release')
    assert entry.find(f"{ATOM}link").get("href").startswith("http://localhost/documents/")


def test_release_with_a_url_links_to_the_original(site_client):
    entry = entry_titled(feed(site_client, "q=journalists+detained"), "Journalists detained while covering protests")
    assert entry.find(f"{ATOM}link").get("href") == "https://example.org/press"
    assert entry.find(f"{ATOM}published").text == entry.find(f"{ATOM}updated").text == "2020-11-03T00:00:00Z"


def test_undated_release_is_not_dated_1970(site_client, site_corpus):
    entry = entry_titled(feed(site_client, "year=unknown"), UNDATED_TITLE)
    assert entry.find(f"{ATOM}published") is None
    # It changed when its page file last did, which is when this copy of it was written.
    page_file = site_corpus / EXTRA_FOLDER / "undated.txt"
    expected = datetime.fromtimestamp(page_file.stat().st_mtime_ns // 1_000_000_000, timezone.utc)
    assert atom_time(entry.find(f"{ATOM}updated").text) == expected


def test_release_without_a_year_has_no_published_date(site_client):
    root = feed(site_client, "q=Dannigan")
    entries = list(root.iter(f"{ATOM}entry"))
    assert entries, "the seed release, dated 1 February of an unknown year"
    for entry in entries:
        assert entry.find(f"{ATOM}published") is None
        assert atom_time(entry.find(f"{ATOM}updated").text).year > 1970


def test_feed_updated_is_its_newest_entry(site_client):
    dated = feed(site_client, "q=sanctions&year=2022")
    assert atom_time(dated.find(f"{ATOM}updated").text) == max(updated_times(dated))
    assert atom_time(dated.find(f"{ATOM}updated").text).year == 2022
    mixed = feed(site_client, "q=prisoners")
    assert atom_time(mixed.find(f"{ATOM}updated").text) == max(updated_times(mixed))


def test_empty_feed_is_updated_when_the_index_went_live(site_client, site_index):
    empty = feed(site_client, "q=zzzqqq")
    assert not empty.findall(f"{ATOM}entry")
    stats = index_stats(site_index)
    published = datetime.fromisoformat(stats["published_at"])
    assert atom_time(empty.find(f"{ATOM}updated").text) == published
    # Published when the reindex that built the state ended, a little after it began.
    built = datetime.fromisoformat(stats["built_at"]).astimezone(timezone.utc)
    assert built.replace(microsecond=0) <= published <= built + timedelta(minutes=10)


def test_feed_links_itself_and_its_search_page(site_client):
    root = feed(site_client, "q=sanctions&source=NAM-media")
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links == {
        "self": "http://localhost/feed.atom?q=sanctions&source=NAM-media",
        "alternate": "http://localhost/?q=sanctions&source=NAM-media",
    }


def test_feed_is_the_same_until_the_index_changes(site_client):
    first = site_client.get("/feed.atom?q=prisoners")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public, max-age=") and first.headers["X-Index-Version"]
    again = site_client.get("/feed.atom?q=prisoners")
    assert again.headers["ETag"] == etag and again.data == first.data
    revalidated = site_client.get("/feed.atom?q=prisoners", headers={"If-None-Match": etag})
    assert revalidated.status_code == 304 and revalidated.data == b""
    assert revalidated.headers["ETag"] == etag
    other = site_client.get("/feed.atom?q=sanctions", headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["ETag"] != etag


def test_bad_parameter_in_a_feed_is_a_400(site_client):
    response = site_client.get("/feed.atom?year=abc")
    assert response.status_code == 400
