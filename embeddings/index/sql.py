"""The index database's schema and every statement run on it, by name (run only by `store.py`).

Statements with ``{marks}`` take an ``IN (...)`` list of placeholders; ``{where}``, a condition on posts built by
`IndexStore._filter_sql` from bound parameters only.
"""

SCHEMA = """
CREATE TABLE threads (
    thread_id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL,
    post_count INTEGER NOT NULL, first_posted_at TEXT NOT NULL, last_posted_at TEXT NOT NULL
);
CREATE TABLE posts (
    post_id TEXT PRIMARY KEY, thread_id TEXT NOT NULL REFERENCES threads(thread_id),
    post_index INTEGER NOT NULL, author TEXT NOT NULL, posted_at TEXT NOT NULL,
    body TEXT NOT NULL, source TEXT NOT NULL, line INTEGER NOT NULL, url TEXT,
    utc_offset INTEGER, excluded TEXT
);
CREATE INDEX posts_thread ON posts(thread_id, post_index);
CREATE INDEX posts_author ON posts(author COLLATE NOCASE);
CREATE INDEX posts_date ON posts(posted_at);
CREATE TABLE passages (
    passage_id INTEGER PRIMARY KEY, post_id TEXT NOT NULL REFERENCES posts(post_id),
    start INTEGER NOT NULL, end INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX passages_post ON passages(post_id);
CREATE TABLE quotes (
    quote_id INTEGER PRIMARY KEY, thread_id TEXT NOT NULL,
    quoting_post_id TEXT NOT NULL, quoting_start INTEGER NOT NULL, quoting_end INTEGER NOT NULL,
    source_post_id TEXT NOT NULL, source_start INTEGER NOT NULL, source_end INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX quotes_quoting ON quotes(quoting_post_id);
CREATE INDEX quotes_source ON quotes(source_post_id);
CREATE TABLE outside_quotes (
    post_id TEXT NOT NULL REFERENCES posts(post_id), start INTEGER NOT NULL, end INTEGER NOT NULL,
    depth INTEGER NOT NULL, attributed_to TEXT, in_archive INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outside_quotes_post ON outside_quotes(post_id, start);
CREATE VIRTUAL TABLE passages_fts USING fts5(text, content='passages', content_rowid='passage_id',
                                             tokenize='porter unicode61 remove_diacritics 2');
"""

# --- an index whose posts lack utc_offset and excluded (made by an older threadbot) ------------------
# It still loads: a view of the same name over its posts table, in the connection's own (temporary) schema, adds
# the missing columns as NULL, so every statement below reads it as it reads a new one. ({nulls}: "NULL AS name"
# for each missing column.)
POST_COLUMNS = "PRAGMA main.table_info(posts)"
ADDED_POST_COLUMNS = ("utc_offset", "excluded")
OLD_POSTS_VIEW = "CREATE TEMP VIEW posts AS SELECT *, {nulls} FROM main.posts"

# --- writing a new store ---------------------------------------------------------------------------
INSERT_THREAD = "INSERT INTO threads VALUES (?, ?, ?, ?, ?, ?)"
INSERT_POST = "INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_PASSAGE = "INSERT INTO passages VALUES (?, ?, ?, ?, ?)"
REBUILD_FTS = "INSERT INTO passages_fts(passages_fts) VALUES ('rebuild')"
INSERT_OUTSIDE_QUOTE = "INSERT INTO outside_quotes VALUES (?, ?, ?, ?, ?, ?)"
INSERT_QUOTE = (
    "INSERT INTO quotes (thread_id, quoting_post_id, quoting_start, quoting_end, source_post_id,"
    " source_start, source_end, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

# --- threads and authors -----------------------------------------------------------------------------
ALL_THREADS = "SELECT * FROM threads ORDER BY first_posted_at, title"
THREAD_BY_ID = "SELECT * FROM threads WHERE thread_id = ?"
THREAD_BY_TITLE = "SELECT * FROM threads WHERE title = ? COLLATE NOCASE ORDER BY first_posted_at"
THREADS_LIKE = (
    "SELECT * FROM threads WHERE title LIKE ? ESCAPE '\\' OR thread_id LIKE ? ESCAPE '\\'"
    " ORDER BY (title LIKE ? ESCAPE '\\') DESC, post_count DESC, title LIMIT ?"
)
AUTHORS_LIKE = (
    "SELECT author, COUNT(*) AS n FROM posts WHERE author LIKE ? ESCAPE '\\' GROUP BY author"
    " ORDER BY (author LIKE ? ESCAPE '\\') DESC, n DESC, author LIMIT ?"
)
DISTINCT_AUTHORS = "SELECT DISTINCT author FROM posts"
AUTHOR_COUNT = "SELECT COUNT(DISTINCT author) FROM posts"

# --- posts and passages ------------------------------------------------------------------------------
POSTS_OF_THREAD = "SELECT * FROM posts WHERE thread_id = ? ORDER BY post_index"
POST_AT = "SELECT * FROM posts WHERE thread_id = ? AND post_index = ?"
POSTS_WITH_THREADS = (
    "SELECT p.*, t.title AS thread_title, t.post_count FROM posts p JOIN threads t USING (thread_id)"
    " WHERE p.post_id IN ({marks})"
)
PASSAGES_BY_ID = "SELECT * FROM passages WHERE passage_id IN ({marks})"
PASSAGE_POSTS = "SELECT passage_id, post_id FROM passages"
PASSAGE_COUNT = "SELECT COUNT(*) FROM passages"
EXPORT_POSTS = (
    "SELECT p.*, t.title FROM posts p JOIN threads t USING (thread_id) {where}"
    " ORDER BY t.first_posted_at, t.thread_id, p.post_index"
)
FILTERED_PASSAGE_IDS = "SELECT x.passage_id FROM passages x JOIN posts p USING (post_id) WHERE {where}"

# --- keyword search (FTS5) ---------------------------------------------------------------------------
KEYWORD_RANKING = (
    "SELECT f.rowid, bm25(passages_fts) AS s FROM passages_fts f"
    " JOIN passages x ON x.passage_id = f.rowid JOIN posts p ON p.post_id = x.post_id"
    " WHERE passages_fts MATCH ? AND {where} ORDER BY s, f.rowid LIMIT ?"
)
TERM_FREQUENCY = "SELECT COUNT(*) FROM passages_fts WHERE passages_fts MATCH ?"
PASSAGES_WITH_TERM = "SELECT rowid FROM passages_fts WHERE passages_fts MATCH ? AND rowid IN ({marks})"

# --- quotes ------------------------------------------------------------------------------------------
QUOTERS_OF_SPAN = (
    "SELECT DISTINCT p.post_id, p.thread_id, p.post_index, p.author, p.posted_at, p.utc_offset FROM quotes q"
    " JOIN posts p ON p.post_id = q.quoting_post_id"
    " WHERE q.source_post_id = ? AND q.source_start < ? AND q.source_end > ? ORDER BY p.posted_at"
)
QUOTES_OF_SPAN = (
    "SELECT q.quoting_post_id, q.quoting_start, q.quoting_end FROM quotes q JOIN posts p"
    " ON p.post_id = q.quoting_post_id WHERE q.source_post_id = ? AND q.source_start < ? AND q.source_end > ?"
    " ORDER BY p.posted_at, p.post_index"
)
QUOTED_SPANS_OF_POST = (
    "SELECT q.quoting_start, q.quoting_end, s.post_id, s.thread_id, s.post_index, s.author, s.posted_at,"
    " s.utc_offset FROM quotes q JOIN posts s ON s.post_id = q.source_post_id WHERE q.quoting_post_id = ?"
    " ORDER BY q.quoting_start"
)
OUTSIDE_QUOTES_OF_POST = (
    "SELECT p.post_id, p.thread_id, o.start, o.end, o.depth, o.attributed_to, o.in_archive"
    " FROM outside_quotes o"
    " JOIN posts p USING (post_id) WHERE o.post_id = ? ORDER BY o.start"
)
HAS_OUTSIDE_QUOTES = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outside_quotes'"
OUTSIDE_QUOTE_COUNT = "SELECT COUNT(*) FROM outside_quotes"
QUOTES_OVERLAPPING = (
    "SELECT * FROM quotes WHERE quoting_post_id = ? AND quoting_start < ? AND quoting_end > ?"
    " ORDER BY (MIN(quoting_end, ?) - MAX(quoting_start, ?)) DESC"
)
QUOTE_RELATIONS = (
    "SELECT q.*, a.post_index AS quoting_post_index, a.author AS quoting_author,"
    " a.posted_at AS quoting_posted_at, s.post_index AS source_post_index, s.author AS source_author,"
    " s.posted_at AS source_posted_at, s.thread_id AS source_thread_id, a.utc_offset AS quoting_utc_offset,"
    " s.utc_offset AS source_utc_offset FROM quotes q"
    " JOIN posts a ON a.post_id = q.quoting_post_id JOIN posts s ON s.post_id = q.source_post_id"
    " {where} ORDER BY a.posted_at, q.quoting_start"
)
