"""The JSON API fuzzed against its own OpenAPI description, on a real `searchapp serve`."""

from __future__ import annotations

import json
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from test_config_and_cors import searchapp_command, serving

from indexer.index.reindex import reindex
from searchapp import INSTANCE_ENV
from searchapp.index_check import check_index_state

from conftest import CORPUS
from search_fixtures import write_corpus

# Real processes and servers: `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

# About 10 s by default; SEARCHAPP_TEST_SCALE=N tries N times as many requests per operation, for a long hunt.
SCALE = int(os.environ.get("SEARCHAPP_TEST_SCALE") or 1)
FUZZ = settings(
    max_examples=50 * SCALE,
    deadline=None,
    # The same requests on every run, so that a failure in CI is one a developer sees again.
    derandomize=True,
    database=None,
    # Each example is a real HTTP request.
    suppress_health_check=[HealthCheck.too_slow],
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    # Methods the description leaves out get a 405 that names the ones that work.
    unsupported_method,
]
# A bundled folder of Belarusian, Russian and Dutch pages with front matter: real metadata in other languages.
BUNDLED_FOLDER = "belarusians_nl_news_2022_2023"
# Words of the corpus in every form the query syntax has, to be joined at random.
QUERY_PARTS = [
    "sanctions",
    "prisoners",
    "Lukashenka",
    "беларусаў",
    '"political prisoners"',
    "OR",
    "NOT",
    "-Viasna",
    "title:report",
    "source:council",
    "source:",
    "sanction*",
    "*",
    '"unbalanced',
    "(",
    ")",
]
# Neither source nor date anywhere: the unknown-source bucket and the undated count both hold it.
LOOSE_PAGE = (
    "Appeal for the release of prisoners\n\n"
    "An appeal whose author and date nobody recorded calls for the release of all political prisoners.\n"
)


def get_json(url: str, headers: dict | None = None) -> tuple[int, dict | None]:
    """GET a URL; return its status and JSON body (None when empty), HTTP errors included."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    return status, json.loads(body) if body else None


@pytest.fixture(scope="module")
def fuzz_index(tmp_path_factory) -> Path:
    """A small real index: the hand-counted fixtures, one bundled folder, and a page with no metadata at all."""
    root = tmp_path_factory.mktemp("fuzz")
    corpus = root / "corpus"
    write_corpus(corpus / "fixtures")
    shutil.copytree(CORPUS / BUNDLED_FOLDER, corpus / BUNDLED_FOLDER)
    (corpus / "loose").mkdir()
    (corpus / "loose" / "appeal.txt").write_text(LOOSE_PAGE, encoding="utf-8")
    index = root / "index"
    summary = reindex(corpus, index, workers=1, check=check_index_state)
    assert summary.failed == 0, summary.failures
    return index


@pytest.fixture(scope="module")
def server(fuzz_index, tmp_path_factory):
    """`searchapp serve` (gunicorn, one worker) on the fuzz index on 127.0.0.1; its base URL. Stopped by SIGTERM."""
    folder = tmp_path_factory.mktemp("serve")
    # An empty instance folder: no developer's config.py may change what is served.
    env = {**os.environ, INSTANCE_ENV: str(folder / "instance")}
    command = [*searchapp_command(), "serve", "--index", str(fuzz_index), "--workers", "1", "--access-log", ""]
    with serving(command, cwd=folder, env=env, log=folder / "serve.log", ready="/healthz") as (base, _):
        yield base


@pytest.fixture(scope="module")
def served(server) -> dict:
    """The ids of every document the server holds, and the names of its sources."""
    status, data = get_json(f"{server}/api/search?per_page=100")
    assert status == 200 and data["total"] == len(data["results"]) > 0
    sources = [value["value"] for value in data["facets"]["source"]]
    # Both buckets the facets must show: releases without a known source and without a known year.
    assert data["facets"]["source"][-1]["unknown"] and data["facets"]["undated"]["count"] > 0
    return {"ids": [hit["id"] for hit in data["results"]], "sources": sources}


@pytest.fixture(scope="module")
def api_schema(server, served):
    """The server's own OpenAPI description, loaded over HTTP, with real ids, sources and query syntax mixed in."""
    schema = schemathesis.openapi.from_url(f"{server}/api/openapi.json", timeout=10)
    ids = st.sampled_from(served["ids"])
    # Full names, any case, and parts of names, as people type them.
    sources = st.sampled_from(served["sources"]).flatmap(
        lambda name: st.sampled_from([name, name.lower(), name.split()[0], name[len(name) // 3 :]])
    )
    words = st.lists(st.sampled_from(QUERY_PARTS), min_size=1, max_size=4).map(" ".join)

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        # Random ids only ever reach the 404: half of the documents asked for exist.
        if not path_parameters or "id" not in path_parameters:
            return st.just(path_parameters)
        return st.one_of(st.just(path_parameters), ids.map(lambda doc_id: {**path_parameters, "id": doc_id}))

    @schema.hook
    def flatmap_query(context, query):
        # Random text rarely names a source or uses the query syntax: half of the searches do, with the rest kept.
        if context.operation is None or context.operation.path != "/api/search":
            return st.just(query)
        real = st.fixed_dictionaries({}, optional={"q": words, "source": st.lists(sources, max_size=3)})
        return st.one_of(st.just(query), real.map(lambda parts: {**(query or {}), **parts}))

    return schema


# Every operation, the description's own among them: schemathesis leaves out the one that served the schema
# unless a filter names it.
schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex="^/")


@pytest.fixture(autouse=True)
def node_id_for_schemathesis(request):
    """Give the test the `_nodeid` that schemathesis's lazy schemas rename per operation, gone in pytest 9.2."""
    # schemathesis 4.32 reads and writes Node._nodeid; pytest 9.2 keeps the id elsewhere and reports from there.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


def test_the_description_covers_every_json_operation(api_schema):
    """The fuzzed description lists the API, its own description and the health check."""
    assert set(api_schema.raw_schema["paths"]) == {
        "/api/search",
        "/api/documents/{id}",
        "/api/openapi.json",
        "/healthz",
    }


@schema.parametrize()
@FUZZ
def test_every_operation_answers_as_described(case):
    """Every request the description allows, and many it does not, gets a documented answer and never a 5xx."""
    case.call_and_validate(checks=CHECKS, timeout=30)


@pytest.mark.parametrize("parameter", ["page", "per_page", "year", "month"])
def test_a_digit_int_cannot_read_is_a_400_naming_it(server, parameter):
    """A superscript two is a digit to Python's str.isdigit() and not a number: a bad parameter, not a crash."""
    query = f"{parameter}=%C2%B2" + ("&year=2022" if parameter == "month" else "")
    status, data = get_json(f"{server}/api/search?{query}")
    assert (status, data["parameter"]) == (400, parameter)


@pytest.mark.parametrize("path, status", [("/api/documents/no-such-id", 404), ("/api/search?page=0", 400)])
def test_if_none_match_never_turns_an_error_into_a_304(server, path, status):
    """`If-None-Match: *` matches any response there is; an error has none to match (RFC 9110, 13.2.1)."""
    assert get_json(server + path, {"If-None-Match": "*"})[0] == status
