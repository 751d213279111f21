-- Seeds the data set of the listing benchmark: 10,000 users, user 'seed1' in 1,000 one-to-one conversations,
-- 1,000,000 messages (1,000 per conversation, both participants writing). Run on a migrated, empty database:
--   psql "$DATABASE_URL" -f scripts/seed-large.sql
-- The 10,000-conversation variant (seed1 in 10,000 conversations of 100 messages, 1,000,000 messages, 10,001 users):
--   psql "$DATABASE_URL" -v conversations=10000 -f scripts/seed-large.sql
\set ON_ERROR_STOP on
\if :{?conversations}
\else
\set conversations 1000
\endif
BEGIN;
INSERT INTO users (username) SELECT 'seed' || g FROM generate_series(1, greatest(10000, :conversations + 1)) g;

INSERT INTO conversations (direct_key, participant_count, created_at, last_activity_at)
SELECT (SELECT id FROM users WHERE username = 'seed1') || ':' || u.id, 2, now() - interval '30 days', now() - interval '30 days'
FROM users u WHERE u.username <> 'seed1' ORDER BY u.id LIMIT :conversations;

INSERT INTO participants (user_id, conversation_id)
SELECT split_part(direct_key, ':', 1)::bigint, id FROM conversations WHERE direct_key IS NOT NULL
UNION ALL
SELECT split_part(direct_key, ':', 2)::bigint, id FROM conversations WHERE direct_key IS NOT NULL;

INSERT INTO messages (content, user_id, conversation_id, created_at)
SELECT 'seeded message ' || n,
       CASE WHEN n % 2 = 0 THEN split_part(c.direct_key, ':', 1)::bigint ELSE split_part(c.direct_key, ':', 2)::bigint END,
       c.id,
       now() - interval '30 days' + (n * interval '1 second') + (c.id * interval '1 millisecond')
FROM conversations c CROSS JOIN generate_series(1, 1000000 / :conversations) n
WHERE c.direct_key IS NOT NULL;

UPDATE conversations c SET last_message_id = m.id, last_activity_at = m.created_at
FROM (SELECT DISTINCT ON (conversation_id) id, conversation_id, created_at FROM messages ORDER BY conversation_id, id DESC) m
WHERE m.conversation_id = c.id;

-- The seed set the activity after inserting the participants: refresh the copies (schema/0010: seed1 keeps them,
-- being in many conversations; the check lets the same seed serve an older build in `BENCH_COMPARE_BIN=…`).
SELECT EXISTS (
    SELECT 1 FROM information_schema.columns WHERE table_name = 'participants' AND column_name = 'activity_at'
) AS has_activity \gset
\if :has_activity
UPDATE participants p SET activity_at = c.last_activity_at
FROM conversations c WHERE c.id = p.conversation_id AND p.activity_at IS NOT NULL;
\endif

-- seed1 has read all but the last 10 messages of every conversation.
UPDATE participants p SET last_read_message_id = (
    SELECT id FROM messages m WHERE m.conversation_id = p.conversation_id ORDER BY id DESC OFFSET 10 LIMIT 1)
WHERE p.user_id = (SELECT id FROM users WHERE username = 'seed1');
COMMIT;
-- Settled, as a database that grew to this size over weeks is: autovacuum would set the visibility map within a
-- minute or so of the load, in the middle of a measurement or not; now before it (index-only unread counts, 0013).
VACUUM ANALYZE;
