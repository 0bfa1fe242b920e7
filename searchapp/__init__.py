"""Search press releases across many organisations: web UI, JSON API and CLI."""
