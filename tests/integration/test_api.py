"""The JSON API: envelope, errors, CORS, caching, OpenAPI, Atom, and never a 500."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from searchapp import create_app


def validator(spec: dict, name: str) -> Draft202012Validator:
    """Return a JSON Schema validator for one component of the OpenAPI document."""
    registry = Registry().with_resource("urn:spec", DRAFT202012.create_resource(spec))
    return Draft202012Validator({"$ref": f"urn:spec#/components/schemas/{name}"}, registry=registry)


def test_search_envelope_and_facets(client):
    response = client.get("/api/search?q=sanctions&source=Viasna")
    assert response.status_code == 200
    data = response.get_json()
    assert data["ok"] is True and data["status"] == 200 and data["total"] == 1
    assert data["query"]["source"] == ["Viasna"]
    viasna = next(v for v in data["facets"]["source"] if v["value"] == "Viasna")
    assert viasna == {"value": "Viasna", "count": 1, "selected": True, "unknown": False}
    assert data["facets"]["undated"] == {"count": 0, "selected": False}
    assert client.get("/api/search?q=prisoners").get_json()["facets"]["undated"]["count"] == 2
    assert data["index_version"]


@pytest.mark.parametrize(
    "query, sort",
    [
        ("", "newest"),
        ("sort=relevance", "newest"),
        ("sort=oldest", "oldest"),
        ("q=sanctions", "relevance"),
        ("q=sanctions&sort=newest", "newest"),
    ],
)
def test_the_sort_reported_is_the_order_of_the_results(client, query, sort):
    # Without words there is nothing to rank: the default order is newest first, and says so.
    data = client.get(f"/api/search?{query}").get_json()
    assert data["query"]["sort"] == sort
    if sort == "newest":
        dates = [hit["date"] for hit in data["results"] if hit["date"] and not hit["date"].startswith("--")]
        assert dates == sorted(dates, reverse=True) and len(dates) > 1


def test_responses_match_the_openapi_description(client):
    spec = client.get("/api/openapi.json").get_json()
    assert set(spec["paths"]) == {"/api/search", "/api/documents/{id}", "/api/openapi.json", "/healthz"}
    search_ok, error = validator(spec, "SearchResult"), validator(spec, "Error")
    for query in [
        "q=sanctions",
        "",
        "q=Dunnigan&year=unknown",
        "year=2022&month=6",
        "q=%22forced",
        "sort=oldest",
        "language=uk&language=und",
    ]:
        search_ok.validate(client.get(f"/api/search?{query}").get_json())
    doc_id = client.get("/api/search?q=Dunnigan").get_json()["results"][0]["id"]
    validator(spec, "Document").validate(client.get(f"/api/documents/{doc_id}").get_json())
    for path in ["/api/search?page=0", "/api/search?language=xx", "/api/documents/nope"]:
        error.validate(client.get(path).get_json())
    params = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"] if p["in"] == "query"}
    assert params == {"q", "source", "language", "year", "month", "from", "to", "sort", "page", "per_page"}


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
        ("sort=x", "sort"),
        ("from=2023-02-30", "from"),
        ("month=2", "month"),
    ],
)
def test_bad_parameter_is_a_400_naming_it(client, query, parameter):
    response = client.get(f"/api/search?{query}")
    assert response.status_code == 400
    data = response.get_json()
    assert data["ok"] is False and data["status"] == 400 and data["parameter"] == parameter
    assert data["error"].startswith(f"{parameter}: ")


def test_unknown_document_is_a_404(client):
    response = client.get("/api/documents/does-not-exist")
    assert response.status_code == 404
    assert response.get_json() == {
        "ok": False,
        "status": 404,
        "error": "No document with id 'does-not-exist'",
        "parameter": None,
    }


def test_no_index_is_a_503_naming_the_command(tmp_path):
    client = create_app({"TESTING": True, "INDEX": str(tmp_path / "none")}).test_client()
    response = client.get("/api/search?q=x")
    assert response.status_code == 503
    assert "run `searchapp reindex`" in response.get_json()["error"]


def test_cors_open_by_default_and_never_with_credentials(client):
    response = client.get("/api/search?q=x", headers={"Origin": "https://ngo.example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_cors_limited_to_configured_origins(search_index):
    client = create_app(
        {"TESTING": True, "INDEX": str(search_index), "CORS_ORIGINS": "https://a.example, https://b.example"}
    ).test_client()
    allowed = client.get("/api/search", headers={"Origin": "https://b.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert "Origin" in allowed.headers["Vary"]
    denied = client.get("/api/search", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers


def test_etag_revalidates_until_the_index_changes(client):
    first = client.get("/api/search?q=sanctions")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    again = client.get("/api/search?q=sanctions", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    other = client.get("/api/search?q=prisoners", headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_atom_feed_of_a_search(client):
    response = client.get("/feed.atom?q=sanctions&source=NAM-media")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    ns = {"a": "http://www.w3.org/2005/Atom"}
    feed = ET.fromstring(response.data)
    entries = feed.findall("a:entry", ns)
    assert [e.find("a:title", ns).text for e in entries] == ["U.S. to extend sanctions against Lukashenko regime"]
    assert entries[0].find("a:author/a:name", ns).text == "NAM-media"
    newest = ET.fromstring(client.get("/feed.atom").data).findall("a:entry", ns)
    assert newest[0].find("a:title", ns).text == "Lukašenka signs a new decree"


PARAM_NAMES = st.sampled_from(["q", "source", "year", "month", "from", "to", "sort", "page", "per_page", "x"])
VALUES = st.one_of(
    st.text(max_size=60),
    st.integers(-5, 3000).map(str),
    st.sampled_from(
        [
            "unknown",
            "2022",
            "2022-02-01",
            "newest",
            '"',
            "(",
            "*",
            "source:",
            "-",
            "NOT",
            "title:(",
            "\x00",
            "%",
            "0",
            "100",
            "101",
        ]
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(PARAM_NAMES, VALUES), max_size=6))
def test_no_parameters_ever_cause_a_500(client, pairs):
    response = client.get("/api/search", query_string=pairs)
    assert response.status_code in (200, 400), (pairs, response.data[:300])
    data = response.get_json()
    assert data["ok"] is (response.status_code == 200)
