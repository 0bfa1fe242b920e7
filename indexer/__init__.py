"""Turn saved or fetched press-release pages into clean documents and index them."""
