"""Index: keep the index up to date with a corpus: find changed pages, clean them in parallel, write, check, swap."""
