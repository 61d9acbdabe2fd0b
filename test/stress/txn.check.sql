-- invariant after test/stress/txn.sql: every committed bump reached the
-- table and the three kv keys of its row, nothing rolled back did
SELECT (SELECT sum(n) FROM stress_txn) > 0
       AND NOT EXISTS (SELECT 1 FROM stress_txn
                        WHERE coalesce(kv.get('stress.txn.n.' || k)::bigint, 0) <> n
                           OR coalesce(kv.hget('stress.txn.h.' || k, 'n')::bigint, 0) <> n
                           OR kv.llen('stress.txn.l.' || k) <> n);
