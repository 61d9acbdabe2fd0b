-- invariant after test/stress/front.sql: no read went back past a committed
-- version, reads and writes happened, the published floors are the table's
-- versions, and every cached row holds the table's current version
SELECT kv.get('stress.front.backwards') IS NULL
       AND kv.get('stress.front.reads')::bigint > 0
       AND (SELECT sum(version) FROM stress_front) > 0
       AND (SELECT bool_and(coalesce(kv.zscore('stress.front.committed', id::text), 0) = version)
              FROM stress_front)
       AND NOT EXISTS (SELECT 1 FROM stress_front
                        WHERE kv.get('stress.front.' || id)::bigint <> version);
