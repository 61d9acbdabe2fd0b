-- queue push on an UNLOGGED table (run 50/50 with queue_uq_pop.sql)
INSERT INTO kvbench.uq (payload) VALUES ('payload');
