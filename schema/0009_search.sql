-- Full-text search over messages (issue 19).
--
-- A generated tsvector column with the language-neutral 'simple' configuration, and a GIN index on it. The column
-- rather than an expression index: ranking and the recency walk over common words evaluate the vector per row,
-- and recomputing to_tsvector costs ~4 µs a row against ~0.15 µs for reading a stored vector (README "Search").
-- Edits (UPDATE of content) recompute it; a deleted message keeps its row with empty content, whose vector is
-- empty and never matches.
--
-- Cost on an existing database: ADD COLUMN … STORED rewrites the table under an ACCESS EXCLUSIVE lock (sends and
-- reads of messages wait), then the index build holds a SHARE lock (sends wait). Measured on the seeded set of
-- 1,000,000 messages: 3.3–5.3 s for the column, 0.8 s for the index (README "Search" has the numbers and the
-- alternative measured).
ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, content)) STORED;
CREATE INDEX messages_search ON messages USING gin (search);

-- People and 1:1 conversations are found by a prefix of the name: `lower(username) LIKE 'ann%'` can use an index
-- only with pattern operators (the database's collation is not "C"). 10,000 users: a few milliseconds.
CREATE INDEX users_username_pattern ON users (lower(username) text_pattern_ops);
