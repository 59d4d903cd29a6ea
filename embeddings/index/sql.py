"""The index database's schema and every statement run on it, by name (run only by `store.py`, and by
`layout.py` and `lexicon.py` for the arrays a build lays out for filters and keyword ranking, and by
`search/threads.py` for a candidate's thread).

Statements with ``{marks}`` take an ``IN (...)`` list of placeholders; ``{where}``, a condition on posts built by
`IndexStore._filter_sql` from bound parameters only.
"""

FTS_TOKENIZE = "porter unicode61 remove_diacritics 2"  # passages_fts's tokenizer, also that of query terms

SCHEMA = f"""
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
                                             tokenize='{FTS_TOKENIZE}');
CREATE TABLE passage_sets (kind TEXT NOT NULL, key TEXT NOT NULL, ids BLOB NOT NULL, PRIMARY KEY (kind, key));
CREATE TABLE passage_columns (name TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE postings (token TEXT PRIMARY KEY, ids BLOB NOT NULL, tfs BLOB NOT NULL);
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
PASSAGE_POST_IDS = "SELECT passage_id, post_id FROM passages WHERE passage_id IN ({marks})"
PASSAGE_COUNT = "SELECT COUNT(*) FROM passages"
NEXT_PASSAGE_OF_POST = "SELECT start, end FROM passages WHERE post_id = ? AND start > ? ORDER BY start LIMIT 1"
EXPORT_POSTS = (
    "SELECT p.*, t.title FROM posts p JOIN threads t USING (thread_id) {where}"
    " ORDER BY t.first_posted_at, t.thread_id, p.post_index"
)
FILTERED_PASSAGE_IDS = "SELECT x.passage_id FROM passages x JOIN posts p USING (post_id) WHERE {where}"

# --- a candidate's thread and place in it (search/threads.py) -----------------------------------------
PASSAGE_PLACES = (
    "SELECT x.passage_id, p.post_id, p.thread_id, p.post_index, p.author FROM passages x JOIN posts p USING (post_id)"
    " WHERE x.passage_id IN ({marks})"
)
# per post: do its own words (its passages) hold a "?" ending a sentence (not one inside a URL), and their extent
POST_ASKS = (
    "SELECT post_id, MAX(instr(text, '? ') > 0 OR instr(text, '?' || char(10)) > 0 OR text LIKE '%?'),"
    " MAX(end) - MIN(start) FROM passages WHERE post_id IN ({marks}) GROUP BY post_id"
)
OPENING_POSTS = (
    "SELECT p.thread_id, p.author, t.title, x.passage_id FROM threads t"
    " JOIN posts p ON p.thread_id = t.thread_id AND p.post_index = 0 LEFT JOIN passages x ON x.post_id = p.post_id"
    " WHERE t.thread_id IN ({marks})"
)

# --- keyword search (FTS5) ---------------------------------------------------------------------------
KEYWORD_RANKING = (
    "SELECT f.rowid, bm25(passages_fts) AS s FROM passages_fts f"
    " JOIN passages x ON x.passage_id = f.rowid JOIN posts p ON p.post_id = x.post_id"
    " WHERE passages_fts MATCH ? AND {where} ORDER BY s, f.rowid LIMIT ?"
)
TERM_FREQUENCY = "SELECT COUNT(*) FROM passages_fts WHERE passages_fts MATCH ?"
PASSAGES_WITH_TERM = "SELECT rowid FROM passages_fts WHERE passages_fts MATCH ? AND rowid IN ({marks})"
PHRASE_SCORES = "SELECT rowid, -bm25(passages_fts) FROM passages_fts WHERE passages_fts MATCH ? ORDER BY rowid"

# --- arrays laid out by a build (layout.py: filters; lexicon.py: keyword ranking) ---------------------
# passage_sets: ("author", name with ASCII letters lowered, as NOCASE compares) or ("thread", thread id) -> the
# passage ids, ascending, little-endian int32. passage_columns: "posted_at" (int64 seconds since 1970, UTC),
# "post" (int32: the id of the first passage of the passage's post) and "length" (int32 FTS5 tokens), each
# indexed by passage id, and the thread places of places.py ("thread", "place", "extent", "opening_start",
# "opening_stop", with passage_sets ("title", token) -> thread keys). postings: an FTS5 token -> the passages
# holding it (int32, ascending) and how often (uint16).
HAS_LAYOUT = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('passage_sets', 'postings')"
INSERT_PASSAGE_SET = "INSERT INTO passage_sets VALUES (?, ?, ?)"
INSERT_PASSAGE_COLUMN = "INSERT INTO passage_columns VALUES (?, ?)"
INSERT_POSTING = "INSERT INTO postings VALUES (?, ?, ?)"
PASSAGE_SET = "SELECT ids FROM passage_sets WHERE kind = ? AND key = ?"
PASSAGE_COLUMN = "SELECT data FROM passage_columns WHERE name = ?"
POSTINGS_OF = "SELECT token, ids, tfs FROM postings WHERE token IN ({marks})"
POSTING_SIZES = "SELECT token, length(ids) / 4 FROM postings WHERE token IN ({marks})"  # the header: no blob read
FTS_INSTANCES = "CREATE VIRTUAL TABLE temp.passages_instances USING fts5vocab(main, passages_fts, instance)"
DROP_FTS_INSTANCES = "DROP TABLE temp.passages_instances"
# per token: the passages holding it and how often, as comma-separated lists (SQLite aggregates; numpy parses)
TOKEN_POSTINGS = (
    "SELECT term, group_concat(doc), group_concat(n) FROM"
    " (SELECT term, doc, COUNT(*) AS n FROM temp.passages_instances GROUP BY term, doc) GROUP BY term"
)
# query terms as FTS5 tokenizes them: an in-memory table with passages_fts's tokenizer ({tokenize})
QUERY_TOKENIZER = (
    "CREATE VIRTUAL TABLE terms USING fts5(text, tokenize='{tokenize}');"
    " CREATE VIRTUAL TABLE term_tokens USING fts5vocab(terms, instance);"
)
INSERT_TERM = "INSERT INTO terms (rowid, text) VALUES (?, ?)"
TERM_TOKENS = "SELECT doc, term FROM term_tokens ORDER BY doc, offset"
CLEAR_TERMS = "DELETE FROM terms"

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
    "SELECT p.post_id, p.thread_id, o.start, o.end, o.depth, o.attributed_to, o.in_archive FROM outside_quotes o"
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

# --- an incremental build: a copy of the previous build's store, extended with a delta store (append.py) ---
ATTACH_DELTA = "ATTACH DATABASE ? AS delta"
DETACH_DELTA = "DETACH DATABASE delta"
DELTA_TABLES = (
    "SELECT name FROM delta.sqlite_master WHERE type = 'table'"
    " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE 'passages\\_fts\\_%' ESCAPE '\\'"
)
DELTA_HAS_ROWS = "SELECT EXISTS (SELECT 1 FROM delta.{table})"  # {table}: a name DELTA_TABLES gave
APPEND_ROWS = "INSERT INTO main.{table} SELECT * FROM delta.{table}"
# a thread that gained posts: the delta counts only the new ones, all later than those the copy holds
APPEND_THREADS = (
    "INSERT INTO main.threads SELECT * FROM delta.threads WHERE true ON CONFLICT (thread_id) DO UPDATE SET"
    " post_count = threads.post_count + excluded.post_count,"
    " last_posted_at = MAX(threads.last_posted_at, excluded.last_posted_at)"
)
APPEND_QUOTES = (
    "INSERT INTO main.quotes (thread_id, quoting_post_id, quoting_start, quoting_end, source_post_id, source_start,"
    " source_end, text) SELECT thread_id, quoting_post_id, quoting_start, quoting_end, source_post_id,"
    " source_start, source_end, text FROM delta.quotes ORDER BY quote_id"
)
APPEND_FTS = (
    "INSERT INTO main.passages_fts (rowid, text) SELECT passage_id, text FROM delta.passages ORDER BY passage_id"
)
PASSAGES_HELD = "SELECT COUNT(*), MAX(passage_id) FROM passages"
# what a full build's reason names of an indexed post that reads differently now
POST_AS_STORED = (
    "SELECT p.body, p.author, p.posted_at, p.excluded, t.title FROM posts p JOIN threads t USING (thread_id)"
    " WHERE p.post_id = ?"
)
# tables of arrays about passages, joined row by row ({columns}, {match}: names from append.RULES)
DELTA_ROWS = "SELECT {columns} FROM delta.{table}"
MAIN_ROW = "SELECT {columns} FROM main.{table} WHERE {match}"
PUT_ROW = "INSERT OR REPLACE INTO main.{table} ({columns}) VALUES ({marks})"
