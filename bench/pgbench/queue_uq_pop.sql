-- queue pop on an UNLOGGED table: oldest row, skipping rows other clients hold
DELETE FROM kvbench.uq
    WHERE id = (SELECT id FROM kvbench.uq ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
    RETURNING payload;
