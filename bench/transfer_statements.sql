-- The statements of one registry transfer (registry.services.transfer_create on PostgreSQL), driven by
-- pgbench itself: the database's own ceiling for this work, with no Python client at all.
-- Run against the scratch database bench_registry.py leaves behind (accounts and CEA21 allocated):
--   pgbench -n -c 4 -j 4 -T 10 -D lo=1 -D hi=2257 -D instrument=1 -f bench/transfer_statements.sql \
--     postgres://postgres@127.0.0.1:5432/cets_bench_registry
\set a random(:lo, :hi)
\set b random(:lo, :hi)
\set q random(1, 1000)
BEGIN;
SET LOCAL lock_timeout = '5000ms'; SELECT 1 FROM registry_account WHERE id = ANY(ARRAY[:a, :b]) ORDER BY id FOR NO KEY UPDATE; SELECT a.*, h.id, h.total, h.reserved, h.frozen FROM registry_account a LEFT JOIN registry_holding h ON h.account_id = a.id AND h.instrument_id = :instrument WHERE a.id = ANY(ARRAY[:a, :b]) ORDER BY a.id;
INSERT INTO registry_transaction (kind, status, instrument_id, quantity, from_account_id, to_account_id, reference, compliance_year, purpose, beneficiary, reason, reservation_id, freeze_id, freeze_kind, reverses_id, job_id, proposed_by_id, approved_by_id, not_before, created_at, executed_at) VALUES ('transfer', 'completed', :instrument, :q, :a, :b, 'pgbench', NULL, '', '', '', NULL, NULL, '', NULL, NULL, NULL, NULL, NULL, now(), now()) RETURNING id; SELECT range_start, range_end FROM registry_move(:instrument, :q, :a, NULL, NULL, :b, NULL, NULL, currval(pg_get_serial_sequence('registry_transaction', 'id')), now(), 20);
INSERT INTO common_auditentry (created_at, actor_id, actor_label, action, object_type, object_id, before, after, seq, prev_hash, entry_hash) VALUES (now(), NULL, 'system', 'registry.transaction.create', 'registry.transaction', '0', NULL, '{"kind": "transfer", "quantity": 1}'::jsonb, NULL, '', NULL) RETURNING id;
END;
