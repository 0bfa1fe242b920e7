"""Fetch: download press-release pages politely into the corpus, with a sidecar of what the server said."""
