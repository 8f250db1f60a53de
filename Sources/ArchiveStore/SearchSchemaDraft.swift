// Until the SearchQuery module lands (it owns the schema): the brief's schema, verbatim.
enum SearchSchema {
    static let version = "1"
    static let statements = [
        "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS progress(singleton INTEGER PRIMARY KEY CHECK (singleton = 0), segment INTEGER NOT NULL, offset INTEGER NOT NULL)",
        """
        CREATE TABLE IF NOT EXISTS docs(docid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL UNIQUE, message_id TEXT,
            date INTEGER NOT NULL, received_at INTEGER NOT NULL, size INTEGER NOT NULL, has_attachment INTEGER NOT NULL)
        """,
        "CREATE TABLE IF NOT EXISTS arrivals(rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, docid INTEGER NOT NULL, received_at INTEGER NOT NULL)",
        """
        CREATE VIRTUAL TABLE IF NOT EXISTS docs_text USING fts5(sender, recipients, cc, bcc, subject, body, filename,
            content='', tokenize='unicode61 remove_diacritics 2')
        """,
        """
        CREATE VIRTUAL TABLE IF NOT EXISTS arrival_text USING fts5(sender, recipients, cc, bcc,
            content='', tokenize='unicode61 remove_diacritics 2')
        """,
    ]
}
