"""The pipeline from pages to index: fetch (scrape sites), extract (clean pages into documents), index (reindex).

engine/ is the search engine every stage writes to and the web app reads from.
"""
