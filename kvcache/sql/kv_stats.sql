
-- ---------------------------------------------------------------- stats

CREATE FUNCTION kv._stats(
    OUT keys bigint, OUT expires bigint, OUT used_memory bigint,
    OUT max_memory bigint, OUT eviction_policy text,
    OUT keyspace_hits bigint, OUT keyspace_misses bigint,
    OUT expired_keys bigint, OUT evicted_keys bigint,
    OUT stats_reset timestamptz, OUT free_memory bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'kv_stats'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION kv._stats() IS 'Counters behind the kv.stats view';

CREATE VIEW kv.stats AS
    SELECT s.keys, s.expires, s.used_memory, s.max_memory, s.eviction_policy,
           s.keyspace_hits, s.keyspace_misses, s.expired_keys, s.evicted_keys,
           s.stats_reset, s.free_memory
      FROM kv._stats() AS s;
COMMENT ON VIEW kv.stats IS 'kvcache counters for this database and memory of the shared arena';

CREATE FUNCTION kv.info() RETURNS TABLE(name text, value text)
AS 'MODULE_PATHNAME', 'kv_info'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION kv.info() IS 'INFO: the kv.stats figures as name/value rows with Redis INFO names';

CREATE FUNCTION kv.stats_reset() RETURNS void
AS 'MODULE_PATHNAME', 'kv_stats_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.stats_reset() IS 'Reset the hit, miss, expiry and eviction counters of this database';
REVOKE ALL ON FUNCTION kv.stats_reset() FROM PUBLIC;
