-- kvcache--1.0.sql: assembled from kvcache/sql/*.sql by the Makefile.
-- Every function is VOLATILE (the cache changes under it); writers are
-- PARALLEL UNSAFE; readers are PARALLEL SAFE (workers attach the same
-- shared memory).  Reads with a NULL key return NULL (STRICT); writes with a
-- NULL key or value raise 22004, so they are not STRICT.

\echo Use "CREATE EXTENSION kvcache" to load this file. \quit
