"""/healthz: whether this process can search, and which index state it serves, for load balancers and monitors."""

from __future__ import annotations

import os
import time

from flask import Blueprint, jsonify

from indexer.engine.backends import unavailable_errors
from indexer.engine.storage import IndexMissingError
from searchapp.index_access import live_index
from searchapp.results import error_dict

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The live index's version, document count and age as this worker process serves it, and its servers' health."""
    live = live_index()
    try:
        status = live.status()
    except (IndexMissingError, *unavailable_errors()) as error:
        response = jsonify(error_dict(503, str(error), None))
        response.status_code = 503
    else:
        published = status["published_at"]
        response = jsonify(
            {
                "ok": True,
                "status": 200,
                "index_version": status["version"],
                "documents": status["documents"],
                "generation": status["generation"],
                "generation_age_seconds": round(time.time() - published, 3) if published else None,
                "switches": status["switches"],
                "pid": os.getpid(),
                "nodes": status["nodes"],
            }
        )
    # Always the state of now: never from a cache.
    response.headers["Cache-Control"] = "no-store"
    return response
