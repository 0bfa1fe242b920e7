"""The reindex's corpus scan against a brute-force one: the same pages, row digests and signatures, cached or not."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer.extract.clean import iter_pages
from indexer.extract.metadata_files import MetadataFiles
from indexer.index.manifest_digests import ManifestDigests
from indexer.index.pages import page_signature, scan_corpus

FOLDERS = ["", "a", "a/b", "a/b/c", "a/b/c/d", "a/b/c/d/e", ".hidden", "z"]
NAMES = ["p.html", "q.HTM", "r.md", "s.txt", "t.pdf", "README.md", "x.y.html", ".dot.html", "noext"]
NAMES += ["u.meta.json", "p.meta.json", "x.y.meta.json"]
LISTED = ["p.html", "r.md", "b/p.html", "c/s.txt", "x.y.html"]
# Where a test can look far ahead: a manifest written before this is as old as the scan trusts.
LATER_NS = 10**19


def model(corpus: Path) -> list[tuple[str, str, str]]:
    """Return (relpath, row digest, signature) of each page as iter_pages and MetadataFiles find them."""
    metadata = MetadataFiles()
    out = []
    for path in iter_pages(corpus, metadata):
        manifest = metadata.collection_of(path)
        row = manifest.rows.get(metadata.relpath(manifest, path)) if manifest else None
        digest = hashlib.sha1(json.dumps(row, sort_keys=True).encode()).hexdigest() if row is not None else ""
        out.append((path.relative_to(corpus).as_posix(), digest, page_signature(str(path), digest)))
    return out


def scanned(corpus: Path, manifests: ManifestDigests | None = None, started_ns: int = 0):
    """Return what scan_corpus finds, in the model's terms."""
    return [(p.relpath, p.metadata_digest, p.signature) for p in scan_corpus(corpus, manifests, started_ns)]


def write_manifest(folder: Path, rows: list[tuple[str, str]], kind: str) -> None:
    """Write a folder's manifest listing (path, title) rows."""
    if kind == "csv":
        with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["path", "title"])
            writer.writerows(rows)
    else:
        (folder / "manifest.json").write_text(json.dumps([{"file": p, "title": t} for p, t in rows]))


files = st.lists(
    st.tuples(st.sampled_from(FOLDERS), st.sampled_from(NAMES), st.binary(max_size=5), st.booleans()), max_size=14
)
manifests = st.dictionaries(
    st.sampled_from(FOLDERS),
    st.tuples(
        st.sampled_from(["csv", "json"]),
        st.lists(st.tuples(st.sampled_from(LISTED), st.text(max_size=4))),
    ),
    max_size=3,
)


def build(corpus: Path, tree_files, tree_manifests) -> None:
    """Write a corpus of the given files and manifests, replacing whatever was there."""
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir()
    for folder, name, data, sidecar in tree_files:
        (corpus / folder).mkdir(parents=True, exist_ok=True)
        (corpus / folder / name).write_bytes(data)
        if sidecar:
            (corpus / folder / (os.path.splitext(name)[0] + ".meta.json")).write_bytes(data)
    for folder, (kind, rows) in tree_manifests.items():
        (corpus / folder).mkdir(parents=True, exist_ok=True)
        write_manifest(corpus / folder, rows, kind)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files, manifests, manifests)
def test_the_scan_finds_what_the_model_does_before_and_after_manifests_change(tmp_path, tree, before, after):
    corpus, cache = tmp_path / "corpus", tmp_path / "cache" / "digests"
    cache.unlink(missing_ok=True)
    build(corpus, tree, before)
    assert scanned(corpus) == model(corpus)
    # Recorded as old enough to trust, then read back from the file by the next run.
    recorder = ManifestDigests(cache, "f")
    assert scanned(corpus, recorder, LATER_NS) == model(corpus)
    recorder.save()
    assert scanned(corpus, ManifestDigests(cache, "f"), LATER_NS) == model(corpus)
    # Every manifest is written again, and its size differs from before wherever its rows do.
    for folder in before:
        for name in ("manifest.csv", "manifest.json"):
            (corpus / folder / name).unlink(missing_ok=True)
    for folder, (kind, rows) in after.items():
        (corpus / folder).mkdir(parents=True, exist_ok=True)
        write_manifest(corpus / folder, rows + [("pad" * (len(rows) + 1), "")] * 3, kind)
    assert scanned(corpus, ManifestDigests(cache, "f"), time.time_ns()) == model(corpus)


def test_a_recent_manifest_is_read_again_until_it_is_old_enough(tmp_path):
    corpus, cache = tmp_path / "corpus", tmp_path / "digests"
    build(corpus, [("", "p.html", b"x", False)], {"": ("csv", [("p.html", "one")])})
    recorder = ManifestDigests(cache, "f")
    scanned(corpus, recorder, time.time_ns())
    recorder.save()
    assert not cache.exists()
    # An edit in the same timestamp tick that keeps the size: seen because the entry was not kept.
    stat = (corpus / "manifest.csv").stat()
    write_manifest(corpus, [("p.html", "two")], "csv")
    os.utime(corpus / "manifest.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert scanned(corpus, ManifestDigests(cache, "f"), time.time_ns()) == model(corpus)


def test_another_cleaner_or_a_full_reindex_reads_every_manifest(tmp_path, monkeypatch):
    corpus, cache = tmp_path / "corpus", tmp_path / "digests"
    build(corpus, [("", "p.html", b"x", False)], {"": ("csv", [("p.html", "one")])})
    recorder = ManifestDigests(cache, "f")
    scanned(corpus, recorder, LATER_NS)
    recorder.save()
    assert cache.exists()
    # An entry that no longer matches its file would be believed: prove the cases below never use it.
    stale = ManifestDigests(cache, "f")
    first = scanned(corpus, stale, LATER_NS)
    for entry in stale._entries.values():
        entry[1]["p.html"] = "stale"
    stale._changed = True
    stale.save()
    assert scanned(corpus, ManifestDigests(cache, "f"), LATER_NS)[0][1] == "stale"
    assert scanned(corpus, ManifestDigests(cache, "other cleaner"), LATER_NS) == first
    assert scanned(corpus, ManifestDigests(cache, "f", reread=True), LATER_NS) == first
