-- invariant after test/stress/list.sql: every pushed element was popped
-- exactly once, so all stress lists are empty (and their keys deleted)
SELECT kv.get('stress:list:missing') IS NULL
       AND (SELECT sum(kv.llen('stress:list:' || k)) FROM generate_series(1, 8) k) = 0
       AND (SELECT count(*) FROM kv.keys('stress:list:*')) = 0;
