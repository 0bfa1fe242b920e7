"""`searchapp serve` as a public site runs it: gunicorn workers under load while reindexes land, logs, SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from indexer.engine.storage import current_generation, generations
from indexer.index.reindex import reindex

from conftest import ROOT
from search_fixtures import write_corpus

# A line of the Combined Log Format, then the time taken in microseconds.
ACCESS_LINE = re.compile(r'^127\.0\.0\.1 - - \[[^\]]+\] "GET /\S* HTTP/1\.1" \d{3} \d+ "[^"]*" "[^"]*" \d+$')
PROBE = "zebra"
# Reindexes land as Whoosh generations the workers switch to and free: the PostgreSQL failover tests serve theirs.
pytestmark = [pytest.mark.slow, pytest.mark.whoosh_only]


def start_server(index: Path, tmp: Path, *args: str) -> tuple[subprocess.Popen, str]:
    """Start `searchapp serve` on a free port; return the process and its base URL once it answers."""
    log = open(tmp / "server.log", "w+", encoding="utf-8")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "searchapp", "serve", "--index", str(index), "--port", "0", *args],
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)|Running on http://127\.0\.0\.1:(\d+)", read(tmp))
        if found:
            base = f"http://127.0.0.1:{found.group(1) or found.group(2)}"
            try:
                if get(base + "/healthz")[0] == 200:
                    return process, base
            except OSError:
                pass
        if process.poll() is not None:
            raise AssertionError(f"the server exited: {read(tmp)}")
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the server did not answer: {read(tmp)}")


def read(tmp: Path) -> str:
    return (tmp / "server.log").read_text(encoding="utf-8")


def get(url: str) -> tuple[int, dict, dict]:
    """Return (status, headers, JSON body) of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"{}")


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


@pytest.fixture
def site(tmp_path):
    corpus = write_corpus(tmp_path / "corpus" / "listed").parent
    (corpus / "more").mkdir()
    index = tmp_path / "var" / "index"
    reindex(corpus, index, workers=1)
    return corpus, index


def test_workers_serve_through_reindexes_with_no_error_and_each_answer_from_one_state(site, tmp_path):
    corpus, index = site
    process, base = start_server(index, tmp_path, "--workers", "2", "--threads", "4", "--access-log", "access.log")
    seen: list[tuple[str, int]] = []
    errors: list[str] = []
    stopping = threading.Event()

    def client():
        urls = [f"/api/search?q={PROBE}", "/api/search?q=sanctions&source=Viasna", "/?q=belarus", "/healthz"]
        i = 0
        while not stopping.is_set():
            url = base + urls[i % len(urls)]
            i += 1
            try:
                status, headers, body = get(url) if "/api/" in url or "healthz" in url else (*get_page(url), {})
            except Exception as error:  # any failure to answer counts
                errors.append(f"{url}: {error!r}")
                continue
            if status != 200:
                errors.append(f"{url}: {status}")
            elif "q=zebra" in url:
                seen.append((headers["X-Index-Version"], body["total"]))

    threads = [threading.Thread(target=client) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        versions = [get(base + "/healthz")[2]["index_version"]]
        (corpus / "more" / "zebra.txt").write_text("Zebra statement\n\nThe zebra council met.\n", encoding="utf-8")
        for command in (["reindex"], ["reindex", "--full"]):
            done = subprocess.run(
                [sys.executable, "-m", "searchapp", *command, "--corpus", str(corpus), "--index", str(index)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
            live = current_generation(index)
            # Both workers switch within seconds (each answers /healthz for itself).
            deadline = time.monotonic() + 15
            pids: dict[int, str] = {}
            while time.monotonic() < deadline and (
                len(pids) < 2 or any(v.split(".")[0] != live.name for v in pids.values())
            ):
                health = get(base + "/healthz")[2]
                pids[health["pid"]] = health["index_version"]
            assert switched(pids, live.name), pids
            versions.append(next(iter(pids.values())))
        time.sleep(0.3)
    finally:
        stopping.set()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    # Every answer came from one whole state: before the page was added, or after.
    expected = {versions[0]: 0, versions[1]: 1, versions[2]: 1}
    assert seen and all(total == expected[version] for version, total in seen), set(seen) - set(expected.items())
    assert {version for version, _ in seen} == set(versions)
    # Replaced generations are deleted once no worker reads them.
    deadline = time.monotonic() + 10
    while generations(index) != [current_generation(index)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert generations(index) == [current_generation(index)]
    assert stop(process) == 0
    lines = (tmp_path / "access.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) > 20 and all(ACCESS_LINE.match(line) for line in lines), lines[:3]
    assert "Shutting down: Master" in read(tmp_path)


def switched(versions_by_pid: dict, generation: str) -> bool:
    """Return True once both workers have answered from the generation."""
    return len(versions_by_pid) == 2 and all(v.split(".")[0] == generation for v in versions_by_pid.values())


def get_page(url: str) -> tuple[int, dict]:
    """Return (status, headers) of an HTML page."""
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        return response.status, dict(response.headers)


def test_sigterm_stops_the_server_cleanly_after_the_requests_it_took(site, tmp_path):
    _, index = site
    process, base = start_server(index, tmp_path, "--workers", "2", "--threads", "2", "--access-log", "")
    statuses = [get(base + f"/api/search?q=sanctions&page={page}")[0] for page in (1, 2, 3)]
    assert stop(process) == 0 and statuses == [200, 200, 200]
    log = read(tmp_path)
    assert "Handling signal: term" in log and "Shutting down: Master" in log and "Traceback" not in log
    with pytest.raises(OSError):
        get(base + "/healthz")


def test_healthz_says_how_to_build_a_missing_index_and_the_server_picks_it_up(site, tmp_path):
    corpus, _ = site
    index = tmp_path / "later" / "index"
    process = subprocess.Popen(
        [sys.executable, "-m", "searchapp", "serve", "--index", str(index), "--port", "0", "--workers", "1"],
        cwd=tmp_path,
        stdout=open(tmp_path / "server.log", "w", encoding="utf-8"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", read(tmp_path)):
            assert time.monotonic() < deadline, read(tmp_path)
            time.sleep(0.1)
        base = "http://127.0.0.1:" + re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", read(tmp_path)).group(1)
        status, headers, body = get(base + "/healthz")
        assert status == 503 and "run `searchapp reindex`" in body["error"]
        assert headers["Cache-Control"] == "no-store"
        reindex(corpus, index, workers=1)
        deadline = time.monotonic() + 15
        while get(base + "/healthz")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        status, _, body = get(base + "/healthz")
        assert body["documents"] == 9 and body["generation"] == current_generation(index).name
        assert 0 <= body["generation_age_seconds"] < 60
        # An index folder has no servers to report.
        assert body["nodes"] is None
    finally:
        assert stop(process) == 0


def test_the_development_server_still_serves(site, tmp_path):
    _, index = site
    process, base = start_server(index, tmp_path, "--dev")
    try:
        status, _, body = get(base + "/api/search?q=sanctions")
        assert status == 200 and body["total"] > 0
        assert "development server" in read(tmp_path)
    finally:
        process.terminate()
        process.wait(timeout=30)
