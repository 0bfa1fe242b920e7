"""The search engine: the only code that knows Whoosh.

Its modules, by job: schema (fields and how a document fills them), analysis (text to terms),
storage (generation folders behind CURRENT; opening views), writing (a generation's one writer),
view (a searchable state and its shared caches), query (user text to Whoosh queries), spelling
(close words), postings (fast matched sets and top hits), internals (the private Whoosh reads it
needs, checked by tests), bitmaps (document sets). interface.py is the contract the rest of the
product uses, and that another backend would meet.
"""

from indexer.engine.internals import check_whoosh

# Another package depending on `Whoosh` can install it over the pinned whoosh3, whose internals
# the postings cache reads: refuse to run on it, and say how to mend it.
check_whoosh()
