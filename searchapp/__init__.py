"""Search press releases across many organisations: web UI, JSON API and CLI."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from indexer.config import INDEX_ENV
from indexer.engine.backends import BACKEND_ENV, index_location

PACKAGE = Path(__file__).resolve().parent
# Where instance/config.py is read from, instead of Flask's default instance folder.
INSTANCE_ENV = "SEARCHAPP_INSTANCE"


def create_app(test_config: dict | None = None, *, overrides: dict | None = None) -> Flask:
    """Create the web app: defaults, instance config and $SEARCHAPP_INDEX (or `test_config`), `overrides`."""
    instance = os.environ.get(INSTANCE_ENV)
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.path.abspath(instance) if instance else None,
        template_folder=str(_resource_folder("templates")),
        static_folder=str(_resource_folder("static")),
    )
    app.config.from_mapping(
        # $SEARCHAPP_BACKEND (a PostgreSQL URL), else $SEARCHAPP_INDEX, else var/index relative to where the app runs.
        INDEX=str(index_location()),
        # Origins allowed to read the API, the feeds and the embed script from a browser: "*" lets any
        # site embed the search; else a comma-separated list such as "https://a.example, https://b.example".
        CORS_ORIGINS="*",
        # Seconds browsers and proxies may keep a result before asking again (ETag revalidates).
        CACHE_SECONDS=60,
        SITE_NAME="Press release search",
        # Postings kept in memory per process, in MB: what makes repeated words fast.
        SEARCH_CACHE_MB=256,
        # Whole result pages kept per process, in MB: a search many visitors make is worked out once per reindex.
        RESULT_CACHE_MB=32,
        # Seconds one search may spend matching and ranking; past it, it answers with what it has and says so.
        # None: the engine's default (0.3).
        SEARCH_SECONDS=None,
        # Read the index files on demand (the page cache is shared by every process), or through the engine's mmap,
        # which copies each file into every process's memory (see indexer/engine/storage.py).
        INDEX_MMAP=False,
        # None: each request checks for a reindex and opens it at once. Seconds: a thread checks this often
        # and switches once the new view is warm (`searchapp serve` sets it).
        WATCH_SECONDS=None,
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        # The environment is more particular than the file, as a command-line option is more than both.
        if os.environ.get(BACKEND_ENV):
            app.config["INDEX"] = os.environ[BACKEND_ENV]
        elif os.environ.get(INDEX_ENV):
            app.config["INDEX"] = os.environ[INDEX_ENV]
    else:
        app.config.from_mapping(test_config)
    app.config.from_mapping(overrides or {})

    from searchapp import api, display, embed, errors, feeds, headers, health, index_access, pages

    index_access.init_app(app)
    display.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(embed.bp)
    app.register_blueprint(health.bp)
    return app


def _resource_folder(name: str) -> Path:
    """Return templates/ or static/: inside the installed package, else at the top of the checkout."""
    installed = PACKAGE / name
    return installed if installed.is_dir() else PACKAGE.parent / name
