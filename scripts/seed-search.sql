-- Words for the search benchmark, on top of scripts/seed-large.sql (every message there reads "seeded message N",
-- so "seeded" and "message" are the common words, in all 1,000,000 messages). This adds a rare word and a
-- medium one:
--   "zanzibar" in 10 messages (1 in 100,000), "lunch" in 10,000 (1 in 100).
--   psql "$DATABASE_URL" -f scripts/seed-search.sql
\set ON_ERROR_STOP on
UPDATE messages SET content = content || ' zanzibar' WHERE id % 100000 = 7;
UPDATE messages SET content = content || ' lunch' WHERE id % 100 = 3;
VACUUM ANALYZE messages;
