"""The embed script other sites load with one <script> tag: /embed.js."""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory

from searchapp.headers import cross_origin

bp = Blueprint("embed", __name__)
bp.after_request(cross_origin)
EMBED_SCRIPT = "embed.js"
# Sites keep the script an hour; the ETag makes a later check cheap.
EMBED_CACHE_SECONDS = 3600


@bp.get("/embed.js")
def embed_js():
    """Serve the widget script to other sites: cacheable, as JavaScript, with the app's CORS policy."""
    response = send_from_directory(
        current_app.static_folder, EMBED_SCRIPT, mimetype="text/javascript", max_age=EMBED_CACHE_SECONDS
    )
    response.headers["Cache-Control"] = f"public, max-age={EMBED_CACHE_SECONDS}"
    # Pages that isolate themselves (COEP) may still load it.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
