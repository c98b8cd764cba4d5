-- An immediate registry transfer as the service layer sends it on PostgreSQL (one call of
-- registry_transfer, migration 0008), driven by pgbench itself: the database's own ceiling for this work,
-- with no Python at all. Run against the scratch database bench_registry.py leaves behind:
--   pgbench -n -c 4 -j 4 -T 10 -D lo=1 -D hi=2257 -D instrument=1 -f bench/transfer_function.sql \
--     postgres://postgres@127.0.0.1:5432/cets_bench_registry
\set a random(:lo, :hi)
\set b random(:lo, :hi)
\set q random(1, 1000)
BEGIN;
SET LOCAL lock_timeout = '5000ms'; SELECT * FROM registry_transfer(:instrument, :q, :a, :b, ARRAY['open'], ARRAY['open', 'partially_frozen'], false, 'transfer', 'pgbench', NULL, now(), 20, 'system', '{"kind": "transfer"}'::jsonb);
END;
