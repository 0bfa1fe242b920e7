"""Extract: turn a saved page (HTML, text, Markdown) and the metadata beside it into one clean document."""
