"""Where the app's settings come from, and one CORS policy for the API, the feeds and the embed script."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from searchapp import INSTANCE_ENV, create_app

from conftest import ROOT
from search_backends import index_options

PARTNER = "https://partner.example"
OTHER = "https://other.example"
# What other sites load from a browser, each a cross-origin resource under the same policy.
CROSS_ORIGIN_PATHS = ["/api/search?q=prisoners", "/feed.atom?q=prisoners", "/embed.js"]
SERVER_START_SECONDS = 30


def write_instance(folder: Path, settings: str) -> Path:
    """Make an instance folder whose config.py holds these settings; return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.py").write_text(settings, encoding="utf-8")
    return folder


def clean_environment(**extra: str) -> dict:
    """Return this process's environment without the app's own settings or a PYTHONPATH, plus extra."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SEARCHAPP_") and k not in ("PYTHONPATH", "PYTHONHOME", "FLASK_APP")
    }
    return {**env, **extra}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str, origin: str | None = None):
    """GET a URL; return (status, headers, body), HTTP errors included."""
    request = urllib.request.Request(url, headers={"Origin": origin} if origin else {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@contextmanager
def serving(command: list[str], *, cwd: Path, env: dict, log: Path, ready: str = "/embed.js"):
    """Run `command ... serve --port P` until `ready` answers 200; yield (base URL, log path).

    Stopped after with SIGTERM, as a supervisor stops it: it must exit 0.
    """
    port = free_port()
    with open(log, "wb") as output:
        # Unbuffered, so the log holds what the server said as soon as it said it.
        server = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=cwd,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"the server exited with {server.returncode}:\n{log.read_text(errors='replace')}")
            try:
                if get(base + ready)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                said = log.read_text(errors="replace")
                pytest.fail(f"the server did not answer in {SERVER_START_SECONDS} s:\n{said}")
            time.sleep(0.1)
        yield base, log
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    # Reached only when the block passed: a failure inside it stays the one reported.
    assert server.returncode == 0, f"the server did not stop cleanly on SIGTERM:\n{log.read_text(errors='replace')}"


def searchapp_command() -> list[str]:
    """Return the installed `searchapp` command of this environment."""
    script = Path(sys.executable).parent / "searchapp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "searchapp"]


# -- the real command, as a server --


@pytest.mark.slow
def test_serve_applies_the_instance_cors_origins(tmp_path, site_index):
    instance = write_instance(tmp_path / "instance", f"CORS_ORIGINS = {PARTNER!r}\n")
    env = clean_environment(**{INSTANCE_ENV: str(instance)})
    with serving(
        [*searchapp_command(), "serve", *index_options(site_index)], cwd=tmp_path, env=env, log=tmp_path / "serve.log"
    ) as (base, log):
        for path in CROSS_ORIGIN_PATHS:
            status, headers, body = get(base + path, PARTNER)
            assert status == 200 and body, path
            assert headers["Access-Control-Allow-Origin"] == PARTNER, path
            assert "Origin" in headers["Vary"], path
            assert "Access-Control-Allow-Credentials" not in headers, path
            status, headers, _ = get(base + path, OTHER)
            assert status == 200, path
            assert "Access-Control-Allow-Origin" not in headers, path
            assert "Origin" in headers["Vary"], path
        # The settings came from the file; the index from --index, on top of them.
        assert f"Settings: {instance / 'config.py'}\n" in log.read_text()
        assert f"Searching {site_index} on {base}/" in log.read_text()


@pytest.mark.slow
def test_serve_opens_cors_to_every_origin_by_default(tmp_path, site_index):
    env = clean_environment(**{INSTANCE_ENV: str(tmp_path / "empty-instance")})
    with serving(
        [*searchapp_command(), "serve", *index_options(site_index)], cwd=tmp_path, env=env, log=tmp_path / "serve.log"
    ) as (base, log):
        for path in CROSS_ORIGIN_PATHS:
            for origin in (PARTNER, OTHER, None):
                status, headers, _ = get(base + path, origin)
                assert status == 200 and headers["Access-Control-Allow-Origin"] == "*", (path, origin)
                assert "Access-Control-Allow-Credentials" not in headers
        assert "(none there: the defaults apply)" in log.read_text()


# -- the factory --


@pytest.fixture
def instance(tmp_path, monkeypatch, site_index):
    """An instance folder chosen by $SEARCHAPP_INSTANCE, its config.py naming the index and one allowed origin."""
    monkeypatch.delenv("SEARCHAPP_INDEX", raising=False)
    folder = write_instance(
        tmp_path / "instance", f"INDEX = {str(site_index)!r}\nCORS_ORIGINS = {PARTNER!r}\nCACHE_SECONDS = 5\n"
    )
    monkeypatch.setenv(INSTANCE_ENV, str(folder))
    return folder


def test_factory_reads_the_instance_config(instance, site_index):
    app = create_app()
    assert app.instance_path == str(instance)
    assert app.config["INDEX"] == str(site_index) and app.config["CORS_ORIGINS"] == PARTNER
    client = app.test_client()
    for path in CROSS_ORIGIN_PATHS:
        allowed = client.get(path, headers={"Origin": PARTNER})
        assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == PARTNER, path
        denied = client.get(path, headers={"Origin": OTHER})
        assert denied.status_code == 200 and "Access-Control-Allow-Origin" not in denied.headers, path
        assert "Origin" in allowed.headers["Vary"] and "Origin" in denied.headers["Vary"], path
    assert client.get("/api/search").headers["Cache-Control"] == "public, max-age=5"


def test_overrides_win_over_the_instance_config(instance, tmp_path):
    app = create_app(overrides={"INDEX": str(tmp_path / "other")})
    assert app.config["INDEX"] == str(tmp_path / "other") and app.config["CORS_ORIGINS"] == PARTNER


def test_environment_index_wins_over_the_instance_config(instance, tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCHAPP_INDEX", str(tmp_path / "from-env"))
    assert create_app().config["INDEX"] == str(tmp_path / "from-env")


def test_test_config_replaces_the_instance_config(instance, tmp_path):
    app = create_app({"TESTING": True, "INDEX": str(tmp_path / "test")})
    assert app.config["CORS_ORIGINS"] == "*" and app.config["INDEX"] == str(tmp_path / "test")


def test_a_checkout_keeps_its_instance_folder_beside_the_package(monkeypatch):
    monkeypatch.delenv(INSTANCE_ENV, raising=False)
    assert Path(create_app().instance_path) == ROOT / "instance"


def test_relative_instance_folder_is_taken_from_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(INSTANCE_ENV, "settings")
    assert create_app().instance_path == str(tmp_path / "settings")


@pytest.mark.parametrize(
    "setting, origin, allowed",
    [
        ("*", OTHER, "*"),
        (f"{OTHER}, {PARTNER}", PARTNER, PARTNER),
        (f" {PARTNER}/ ,", PARTNER, PARTNER),
        ([PARTNER, OTHER], OTHER, OTHER),
        (f"{PARTNER}, *", OTHER, "*"),
        (PARTNER, "https://partner.example.evil", None),
        (PARTNER, "null", None),
        ("", PARTNER, None),
    ],
)
def test_cors_origins_setting(search_index, setting, origin, allowed):
    client = create_app({"TESTING": True, "INDEX": str(search_index), "CORS_ORIGINS": setting}).test_client()
    for path in ["/api/search", "/feed.atom", "/embed.js", "/api/documents/nope", "/api/search?page=0"]:
        response = client.get(path, headers={"Origin": origin})
        assert response.headers.get("Access-Control-Allow-Origin") == allowed, path
        assert response.headers["Access-Control-Expose-Headers"] == "ETag, X-Index-Version"
        assert ("Origin" in response.headers.get("Vary", "")) is (allowed != "*"), path


def test_pages_are_not_opened_to_other_sites(client):
    for path in ["/", "/?q=sanctions", "/documents/nope"]:
        assert "Access-Control-Allow-Origin" not in client.get(path, headers={"Origin": OTHER}).headers


def test_api_errors_are_readable_cross_origin(client):
    for path, status in [("/api/search?page=0", 400), ("/api/documents/nope", 404)]:
        response = client.get(path, headers={"Origin": OTHER})
        assert response.status_code == status and response.get_json()["status"] == status
        assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_no_index_is_a_503_in_every_format(tmp_path):
    client = create_app({"TESTING": True, "INDEX": str(tmp_path / "none")}).test_client()
    api = client.get("/api/search")
    assert api.status_code == 503 and api.get_json()["ok"] is False
    assert api.headers["Access-Control-Allow-Origin"] == "*"
    page = client.get("/")
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert client.get("/feed.atom").status_code == 503
