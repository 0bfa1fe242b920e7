"""The PostgreSQL backend: the same documents, analysis and search served from a primary and its replicas."""
