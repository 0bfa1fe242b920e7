"""The database's tables, as numbered migrations: a reindex applies those not yet applied, a search checks them.

Each migration runs once, in its own transaction, under an advisory lock, and is recorded in
`schema_migrations`; a migration is never edited once released, a new one is added instead.
"""

from __future__ import annotations

import psycopg

# Held while migrating, so that two reindexes starting together do not both create the tables.
MIGRATION_LOCK = 0x5EA2C4A1
DOCUMENT_PARTITIONS = 8
POSTING_PARTITIONS = 32


class SchemaOutdatedError(RuntimeError):
    """The database has no tables of this version yet; the message says to run a reindex."""


def _partitions(table: str, count: int) -> str:
    return "\n".join(
        f"CREATE TABLE {table}_{n} PARTITION OF {table} FOR VALUES WITH (MODULUS {count}, REMAINDER {n});"
        for n in range(count)
    )


MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "segments, documents, postings, states and the published state",
        f"""
        CREATE TABLE segments (
            id bigserial PRIMARY KEY,
            base bigint NOT NULL,
            count integer NOT NULL,
            -- Per field: each document's length as Whoosh stores it (one byte, length_to_byte), and the total.
            fields text[] NOT NULL,
            lengths bytea[] NOT NULL,
            totals bigint[] NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE documents (
            docnum bigint NOT NULL,
            segment bigint NOT NULL,
            doc_id text NOT NULL,
            stored bytea NOT NULL,
            source text NOT NULL,
            date integer NOT NULL,
            year integer NOT NULL,
            month integer NOT NULL,
            date_precision text NOT NULL,
            language text NOT NULL,
            PRIMARY KEY (docnum)
        ) PARTITION BY HASH (docnum);
        {_partitions("documents", DOCUMENT_PARTITIONS)}
        CREATE INDEX documents_doc_id ON documents (doc_id);
        CREATE INDEX documents_segment ON documents (segment);
        -- One row per term per segment: its postings as packed arrays (ids int32, weights float32, values).
        CREATE TABLE postings (
            segment bigint NOT NULL,
            field text NOT NULL,
            term bytea NOT NULL,
            doc_freq integer NOT NULL,
            total_weight double precision NOT NULL,
            max_weight real NOT NULL,
            min_length integer,
            max_length integer NOT NULL,
            ids bytea NOT NULL,
            weights bytea NOT NULL,
            vals bytea NOT NULL,
            PRIMARY KEY (field, term, segment)
        ) PARTITION BY HASH (term);
        {_partitions("postings", POSTING_PARTITIONS)}
        -- Merging and deleting segments find their rows without reading every partition whole.
        CREATE INDEX postings_segment ON postings (segment);
        -- Packed arrays are stored as they are: compressing them costs the load and every read more than it saves.
        ALTER TABLE postings ALTER COLUMN ids SET STORAGE EXTERNAL, ALTER COLUMN weights SET STORAGE EXTERNAL,
            ALTER COLUMN vals SET STORAGE EXTERNAL;
        CREATE TABLE states (
            id bigserial PRIMARY KEY,
            segments bigint[] NOT NULL,
            -- A bitmap of the deleted global document numbers (bit n: document n), little-endian.
            deleted bytea NOT NULL,
            doc_count integer NOT NULL,
            schema_version integer NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE published (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            state bigint NOT NULL REFERENCES states (id),
            -- The state published before: kept for the readers still on it.
            previous bigint REFERENCES states (id),
            published_at timestamptz NOT NULL DEFAULT now()
        );
        """,
    ),
    (
        2,
        "the reindex's record of each page file, per state",
        """
        CREATE TABLE file_states (
            state bigint PRIMARY KEY REFERENCES states (id) ON DELETE CASCADE,
            -- indexer.index.state.IndexState.to_json(), compressed.
            data bytea NOT NULL
        );
        """,
    ),
]
LATEST = MIGRATIONS[-1][0]


def applied_version(conn: psycopg.Connection) -> int:
    """The newest migration applied to the database, 0 for none; leaves no transaction open."""
    with conn.transaction():
        exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
        if not exists:
            return 0
        return conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


def migrate(conn: psycopg.Connection, *, up_to: int = LATEST) -> list[int]:
    """Apply the migrations the database lacks, up to `up_to`, each in a transaction; return those applied."""
    applied = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, description text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, description, sql in MIGRATIONS:
            if version in done or version > up_to:
                continue
            with conn.transaction():
                conn.execute(sql)
                conn.execute(
                    "INSERT INTO schema_migrations (version, description) VALUES (%s, %s)", [version, description]
                )
            applied.append(version)
    return applied


def check_migrated(conn: psycopg.Connection, where: str) -> None:
    """Raise SchemaOutdatedError unless every migration of this version is applied."""
    version = applied_version(conn)
    if version < LATEST:
        state = "has no search tables" if version == 0 else f"has the tables of an older version ({version})"
        raise SchemaOutdatedError(
            f"The PostgreSQL database at {where} {state}: run `searchapp reindex --backend URL` with its URL"
        )


def drop_tables(conn: psycopg.Connection) -> None:
    """Drop every table of the index (for benchmarks that start from an empty database)."""
    for table in ("published", "file_states", "states", "postings", "documents", "segments", "schema_migrations"):
        conn.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
