"""The product's search on PostgreSQL, served over real HTTP, while a replica dies, the primary dies or a replica lags.

The app is configured with the primary (`INDEX`) and both replicas (`SEARCHAPP_REPLICAS`); eight clients search it
without pause, and every answer must be a 200 equal, byte for byte with its ETag, to the answer the healthy
deployment gave: no search may fail while one node is down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner

from indexer.index.reindex import reindex
from searchapp import create_app
from searchapp.cli import cli
from searchapp.index_check import check_index_state

from conftest import ROOT
from search_fixtures import DOCUMENTS, write_corpus
from site_fixtures import serve_app

pytestmark = pytest.mark.slow

CLIENTS = 8
# Searches of the hand-counted corpus (tests/search_fixtures.py) and how many releases each finds there.
SEARCHES = {
    "/api/search?" + urlencode({"q": "sanctions"}): 3,
    "/api/search?" + urlencode({"q": "Lukashenka"}): 3,
    "/api/search?" + urlencode({"q": '"political prisoners"'}): 3,
    "/api/search?" + urlencode({"q": "prisoners", "source": "Viasna"}): 3,
    "/api/search?" + urlencode({"language": "uk"}): 1,
    "/api/search?" + urlencode({"q": "sanctions", "year": "2022"}): 1,
    "/api/search": len(DOCUMENTS) + 1,
}
PATHS = [*SEARCHES, "/?q=sanctions", "/feed.atom?q=sanctions"]
# Answers a phase of a test waits for: every path several times over, from every client.
ENOUGH = 6 * len(PATHS)
# The application name the app's connections carry, to find them among the servers' backends.
APP_NAME = "searchapp-failover-test"
NEW_PAGE = ("zz-new.txt", "Viasna", "2024-01-10", "en", "Zebra statement", "The zebra council met in Vilnius.")


@dataclass
class Answer:
    """One search's answer over HTTP, and when it was asked and came."""

    asked: float
    at: float
    path: str
    status: int
    etag: str | None
    version: str | None  # the index state that answered
    body: bytes


VERSION = "X-Index-Version"


def get(url: str) -> Answer:
    """GET a URL; its answer, whatever its status."""
    path, asked = "/" + url.split("/", 3)[3], time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body, headers = response.read(), response.headers
            return Answer(asked, time.monotonic(), path, response.status, headers["ETag"], headers[VERSION], body)
    except urllib.error.HTTPError as error:
        body, headers = error.read(), error.headers
        return Answer(asked, time.monotonic(), path, error.code, headers["ETag"], headers[VERSION], body)


class Clients:
    """Threads that search the served app without pause, each taking the paths in turn from its own start."""

    def __init__(self, base: str, count: int = CLIENTS):
        self.base = base
        self.answers: list[Answer] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(first,), daemon=True) for first in range(count)]

    def _run(self, turn: int) -> None:
        while not self._stop.is_set():
            path = PATHS[turn % len(PATHS)]
            turn += 1
            try:
                self.answers.append(get(self.base + path))
            except OSError as error:
                self.errors.append(f"{path}: {error}")

    def since(self, moment: float) -> list[Answer]:
        """The answers that came after a moment."""
        return [answer for answer in list(self.answers) if answer.at > moment]

    def wait_for(self, count: int, after: float) -> None:
        """Wait until `count` answers came after a moment; fail if the clients stall (a search hangs)."""
        deadline = time.monotonic() + 120
        while len(self.since(after)) < count:
            assert time.monotonic() < deadline, f"only {len(self.since(after))} answers in 120 s: {self.errors[:3]}"
            time.sleep(0.05)

    def __enter__(self) -> Clients:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)


def wrong_answers(answers: list[Answer], expected: dict[str, Answer]) -> list[str]:
    """What differs, in each answer, from the answer the healthy deployment gave to its path."""
    wrong = []
    for answer in answers:
        want = expected[answer.path]
        if (answer.status, answer.etag, answer.body) != (want.status, want.etag, want.body):
            wrong.append(
                f"{answer.path}: {answer.status} from {answer.version} (ETag {answer.etag}): {answer.body[:200]!r}; "
                f"expected the answer of {want.version} (ETag {want.etag})"
            )
    return wrong


def app_backends(db, server) -> int:
    """How many connections the app holds to the test's database on one server."""
    with db.connect(server) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [APP_NAME],
        ).fetchone()
    return count


def with_app_name(url: str) -> str:
    """A URL whose connections name themselves as the app's."""
    return f"{url}?application_name={APP_NAME}"


def command_environment(**extra: str) -> dict[str, str]:
    """The environment of a `searchapp` subprocess: no index, backend or libpq setting but those given."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("SEARCHAPP_", "PG"))}
    return {**kept, **extra}


@dataclass
class Deployment:
    """The fixture corpus published on the test's database, and the app served on its primary and replicas."""

    db: object
    corpus: Path
    base: str
    primary_url: str

    def answers(self) -> dict[str, Answer]:
        """The answer to every path, one request each."""
        return {path: get(self.base + path) for path in PATHS}

    def wait_for_version(self, old: str) -> dict:
        """Wait until the app answers from a state other than `old`; that answer's JSON."""
        deadline = time.monotonic() + 60
        while True:
            body = json.loads(get(self.base + "/api/search").body)
            if body["index_version"] != old:
                return body
            assert time.monotonic() < deadline, f"the app still serves {old} 60 s after a reindex"
            time.sleep(0.1)


@pytest.fixture
def deployment(pg_cluster_db, tmp_path, monkeypatch):
    """Publish the fixture corpus on the primary, wait for both replicas, and serve the app over HTTP on all three."""
    corpus = write_corpus(tmp_path / "corpus")
    primary_url = pg_cluster_db.primary_url
    summary = reindex(corpus, primary_url, workers=1, check=check_index_state)
    assert summary.failed == 0 and summary.added == len(DOCUMENTS) + 1
    pg_cluster_db.cluster.wait_caught_up()
    monkeypatch.setenv("SEARCHAPP_REPLICAS", ",".join(with_app_name(url) for url in pg_cluster_db.replica_urls))
    # A replica paused for a test lags as long as the test lasts: only the state it has may keep it out.
    monkeypatch.setenv("SEARCHAPP_REPLICA_MAX_LAG", "3600")
    app = create_app({"TESTING": True, "INDEX": with_app_name(primary_url)})
    with serve_app(app) as base:
        yield Deployment(pg_cluster_db, corpus, base, primary_url)


def healthy_answers(deployment: Deployment) -> dict[str, Answer]:
    """The answers of the healthy deployment, checked against the corpus's hand counts."""
    expected = deployment.answers()
    assert {path: answer.status for path, answer in expected.items()} == dict.fromkeys(PATHS, 200)
    assert {path: json.loads(expected[path].body)["total"] for path in SEARCHES} == SEARCHES
    return expected


def nodes_health(deployment: Deployment) -> list[tuple[str, bool, bool]]:
    """Each server's role, whether it is up and whether it serves reads, as the app's /healthz reports them."""
    answer = get(deployment.base + "/healthz")
    assert answer.status == 200, answer.body
    return [(node["role"], node["up"], node["serves_reads"]) for node in json.loads(answer.body)["nodes"]]


def test_searches_answer_from_the_others_while_a_replica_dies(deployment):
    cluster = deployment.db.cluster
    dying = cluster.replicas[0]
    expected = healthy_answers(deployment)
    with Clients(deployment.base) as clients:
        clients.wait_for(ENOUGH, after=0.0)
        # The app reads from both replicas before one dies.
        assert all(app_backends(deployment.db, replica) > 0 for replica in cluster.replicas)
        assert nodes_health(deployment) == [("primary", True, True), ("replica", True, True), ("replica", True, True)]
        cluster.kill(dying, hard=True)
        killed = time.monotonic()
        clients.wait_for(4 * ENOUGH, after=killed)
        # /healthz says which server is down while the searches go on.
        deadline = time.monotonic() + 30
        while (health := nodes_health(deployment))[1] != ("replica", False, False):
            assert time.monotonic() < deadline, f"/healthz still reports {health} 30 s after a replica died"
            time.sleep(0.2)
        assert health == [("primary", True, True), ("replica", False, False), ("replica", True, True)]
    assert not clients.errors, clients.errors[:3]
    assert clients.since(killed), "no search answered after the kill"
    assert not wrong_answers(clients.answers, expected), wrong_answers(clients.answers, expected)[:3]


def test_searches_answer_from_the_replicas_while_the_primary_is_down_and_a_reindex_says_what_to_do(deployment):
    cluster = deployment.db.cluster
    primary = cluster.primary
    expected = healthy_answers(deployment)
    version = json.loads(expected["/api/search"].body)["index_version"]
    # A reindex would have a page to add.
    write_corpus(deployment.corpus / "more", [NEW_PAGE], seed=False)
    args = ["reindex", "--corpus", str(deployment.corpus), "--backend", deployment.primary_url, "--workers", "1"]
    with Clients(deployment.base) as clients:
        clients.wait_for(ENOUGH, after=0.0)
        cluster.kill(primary, hard=True)
        killed = time.monotonic()
        clients.wait_for(2 * ENOUGH, after=killed)
        process = subprocess.run(
            [sys.executable, "-m", "searchapp", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=command_environment(),
            timeout=120,
            check=False,
        )
        in_process = CliRunner().invoke(cli, args)
        clients.wait_for(4 * ENOUGH, after=killed)
    assert not clients.errors, clients.errors[:3]
    assert not wrong_answers(clients.answers, expected), wrong_answers(clients.answers, expected)[:3]
    refused = f"The PostgreSQL primary at {primary.address} does not answer"
    next_step = "start it or point SEARCHAPP_BACKEND at the new primary"
    for exit_code, stdout, stderr in [
        (process.returncode, process.stdout, process.stderr),
        (in_process.exit_code, in_process.stdout, in_process.stderr),
    ]:
        assert exit_code == 1, stderr
        assert stdout == "" and "Traceback" not in stderr, stderr
        last = stderr.strip().splitlines()[-1]
        assert last.startswith(f"Error: {refused}") and next_step in last, stderr
    # The primary back: the state it published is whole, and the next reindex adds the page and publishes.
    cluster.restart(primary)
    for replica in cluster.replicas:
        cluster.wait_streaming(replica)
    assert wrong_answers([get(deployment.base + path) for path in PATHS], expected) == []
    done = subprocess.run(
        [sys.executable, "-m", "searchapp", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=command_environment(),
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"added 1, updated 0, deleted 0, unchanged {len(DOCUMENTS) + 1}, failed 0 in ")
    after = deployment.wait_for_version(version)
    assert after["total"] == len(DOCUMENTS) + 2
    found = json.loads(get(deployment.base + "/api/search?q=zebra").body)
    assert [hit["title"] for hit in found["results"]] == ["Zebra statement"]


def test_a_lagging_replica_is_skipped_for_the_state_it_does_not_have(deployment):
    cluster = deployment.db.cluster
    lagging, current = cluster.replicas
    expected = healthy_answers(deployment)
    version = json.loads(expected["/api/search"].body)["index_version"]
    cluster.pause_replay(lagging)
    write_corpus(deployment.corpus / "more", [NEW_PAGE], seed=False)
    with Clients(deployment.base) as clients:
        clients.wait_for(ENOUGH, after=0.0)
        summary = reindex(deployment.corpus, deployment.primary_url, workers=1, check=check_index_state)
        assert (summary.added, summary.failed) == (1, 0)
        cluster.wait_caught_up([current])
        newest = deployment.wait_for_version(version)
        switched = time.monotonic()
        fresh = deployment.answers()
        clients.wait_for(4 * ENOUGH, after=switched)
    assert not clients.errors, clients.errors[:3]
    # The lagging replica never replayed the reindex, so every answer from the new state came from another node.
    with cluster.connect(lagging) as conn:
        assert conn.execute("SELECT pg_is_wal_replay_paused()").fetchone() == (True,)
    assert newest["total"] == len(DOCUMENTS) + 2
    assert {fresh[path].version for path in SEARCHES} == {newest["index_version"]}
    assert all(fresh[path].etag != expected[path].etag for path in SEARCHES)
    # Searches asked once the app serves the new state answer from it, never from the one before.
    later = [answer for answer in clients.answers if answer.asked > switched]
    assert later and not wrong_answers(later, fresh), wrong_answers(later, fresh)[:3]
    found = json.loads(get(deployment.base + "/api/search?q=zebra").body)
    assert [hit["title"] for hit in found["results"]] == ["Zebra statement"]
    # Those asked before it answer from either state, whole.
    before = [answer for answer in clients.answers if answer.asked <= switched]
    assert all(not wrong_answers([a], expected) or not wrong_answers([a], fresh) for a in before)
    # A client holding the old ETag is sent the new answer, not told its copy is still good.
    request = urllib.request.Request(deployment.base + PATHS[0], headers={"If-None-Match": expected[PATHS[0]].etag})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200 and response.read() == fresh[PATHS[0]].body
