"""Search press releases across many organisations: web UI, JSON API and CLI."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from indexer.config import index_path


def create_app(test_config: dict | None = None) -> Flask:
    """Create the web app: defaults, then instance config or `test_config`; register blueprints."""
    root = Path(__file__).resolve().parent.parent
    app = Flask(__name__, instance_relative_config=True, template_folder=str(root / "templates"),
                static_folder=str(root / "static"))
    app.config.from_mapping(
        # $SEARCHAPP_INDEX, else var/index relative to where the app runs.
        INDEX=str(index_path()),
        # Origins allowed to call the API from a browser; "*" lets any site embed the search.
        CORS_ORIGINS="*",
        # Seconds browsers and proxies may keep a result before asking again (ETag revalidates).
        CACHE_SECONDS=60,
        SITE_NAME="Press release search",
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    from searchapp import api, display, embed, errors, feeds, headers, index_access, pages

    index_access.init_app(app)
    display.init_app(app)
    errors.init_app(app)
    headers.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(embed.bp)
    return app
