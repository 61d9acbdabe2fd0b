-- queue push on kvcache (run 50/50 with queue_kv_pop.sql)
SELECT kv.rpush('q', 'payload');
