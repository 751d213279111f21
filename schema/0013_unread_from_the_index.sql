-- Unread counts answered by the index alone (issue 16).
--
-- A conversations page counts, for each conversation with something unread, the messages after the reader's last
-- read that are not the reader's own (`um.conversation_id = … AND um.id > … AND um.user_id <> …`, at most 1,000);
-- the push worker counts the same way. messages_conversation_id (conversation_id, id) found those rows, but
-- `user_id` is only in the table, so every candidate row cost a heap fetch: on the listing benchmark's seed (ten
-- unread per conversation, rows of one conversation spread over many pages) 25 counts read 325 buffers, over half
-- of the page's statement. With `user_id` carried in the index (INCLUDE: stored in the leaf entries, not part
-- of the key, so the index serves every (conversation_id, id) scan as before) the count is an index-only scan: no
-- heap fetch for rows on pages the visibility map marks all-visible, 76 buffers for those 25 counts. Measured on that
-- seed, generic plan, 500 executions per round, four rounds alternating: the page's statement p50 0.63–0.66 ms
-- against 0.75–1.08 ms, p99 0.80–0.99 ms against 1.16–1.57 ms; the send statement in pgbench, four rounds
-- alternating, unchanged within the noise (0.28–0.47 ms either way). Same number of indexes, one more 8-byte column
-- per entry.
--
-- Rebuilding takes a SHARE lock on messages for the build (sends wait; about a second per million messages here).
CREATE INDEX messages_conversation_user ON messages (conversation_id, id) INCLUDE (user_id);
DROP INDEX messages_conversation_id;
ALTER INDEX messages_conversation_user RENAME TO messages_conversation_id;

-- What lets the index alone answer is the visibility map, which VACUUM sets. On a table that is only inserted into,
-- autovacuum comes after 1,000 + 20% of the table's rows have been added (PostgreSQL's default), so on a table of
-- 10 million messages the newest two million — the ones people have not read yet — would be fetched from the heap
-- row by row. After 1% it finds ~1% of the table's pages to visit (an insert-only vacuum skips the pages already
-- all-visible and, with nothing dead, the btree indexes), and the counts stay in the index for all but the newest
-- rows.
ALTER TABLE messages SET (autovacuum_vacuum_insert_scale_factor = 0.01);
