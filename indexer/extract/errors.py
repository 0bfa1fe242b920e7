"""Errors the cleaner and scraper raise for bad input."""


class CleanError(Exception):
    """A file that cannot be turned into a document; the message says why."""
