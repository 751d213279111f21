-- Seed for the pgbench scripts here: 64 users, 32 one-to-one conversations (sender 2k-1, recipient 2k, nobody online).
INSERT INTO users (id, username) SELECT g, 'u' || g FROM generate_series(1, 64) g;
-- 32 conversations: sender 2k-1, recipient 2k (offline: nobody is in presence_online)
INSERT INTO conversations (id, direct_key, participant_count) SELECT k, (2*k-1) || ':' || (2*k), 2 FROM generate_series(1, 32) k;
INSERT INTO participants (user_id, conversation_id) SELECT 2*k-1, k FROM generate_series(1, 32) k;
INSERT INTO participants (user_id, conversation_id) SELECT 2*k, k FROM generate_series(1, 32) k;
