/// The search database, `search.sqlite`: its own file next to `index.sqlite`, so the search
/// indexer never holds the lock the commit path's index writer needs.
///
/// `docs` has one row per original (docid = archive order, so newest first = highest
/// docid first); `arrivals` one per arrival of it. The two FTS5 tables are contentless
/// (the archive holds the text) and split text the way `SearchQuery` splits a query:
/// `unicode61 remove_diacritics 2` over text that went through `SearchText.segmented`.
public enum SearchSchema {
    /// Stored in `meta` by whoever creates the database; a different value means rebuild.
    public static let version = 1

    /// The statements that create an empty search database, in order.
    public static let statements: [String] = [
        "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE progress(singleton INTEGER PRIMARY KEY CHECK (singleton = 0), segment INTEGER NOT NULL, offset INTEGER NOT NULL)",
        """
        CREATE TABLE docs(docid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL UNIQUE, message_id TEXT, \
        date INTEGER NOT NULL, received_at INTEGER NOT NULL, size INTEGER NOT NULL, has_attachment INTEGER NOT NULL)
        """,
        "CREATE TABLE arrivals(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, docid INTEGER NOT NULL, received_at INTEGER NOT NULL)",
        """
        CREATE VIRTUAL TABLE docs_text USING fts5(sender, recipients, cc, bcc, subject, body, filename, \
        content='', tokenize='unicode61 remove_diacritics 2')
        """,
        """
        CREATE VIRTUAL TABLE arrival_text USING fts5(sender, recipients, cc, bcc, \
        content='', tokenize='unicode61 remove_diacritics 2')
        """,
        // What the query operators look up: message-id:, after:/before:, larger:/smaller:,
        // received-after:/received-before: and an arrival's original.
        "CREATE INDEX docs_message_id ON docs(message_id)",
        "CREATE INDEX docs_date ON docs(date)",
        "CREATE INDEX docs_size ON docs(size)",
        "CREATE INDEX docs_received_at ON docs(received_at)",
        "CREATE INDEX arrivals_received_at ON arrivals(received_at)",
        "CREATE INDEX arrivals_docid ON arrivals(docid)",
    ]
}
