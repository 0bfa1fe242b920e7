"""The search engine: the only code that knows Whoosh.

Its modules, by job: schema (fields and how a document fills them), analysis (text to terms),
storage (generation folders behind CURRENT; opening views), writing (a generation's one writer),
view (a searchable state and its shared caches), query (user text to Whoosh queries), spelling
(close words), postings (fast matched sets and top hits), internals (the private Whoosh reads it
needs, checked by tests), bitmaps (document sets). interface.py is the contract the rest of the
product uses, and that another backend would meet.
"""

import sys

from indexer.engine import analysis
from indexer.engine.internals import check_whoosh

# Whoosh pickles each index's schema, naming the analyzer by its module: indexes written before the
# engine had its own package name it indexer.analysis, and must still open (to be served, or rebuilt).
sys.modules.setdefault("indexer.analysis", analysis)

# Another package depending on `Whoosh` can install it over the pinned whoosh3, whose internals
# the postings cache reads: refuse to run on it, and say how to mend it.
check_whoosh()
