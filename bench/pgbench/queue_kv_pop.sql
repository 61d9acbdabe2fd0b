-- queue pop on kvcache (run 50/50 with queue_kv_push.sql)
SELECT kv.lpop('q');
