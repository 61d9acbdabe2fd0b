
-- ---------------------------------------------------------------- keys

CREATE FUNCTION kv.del(VARIADIC keys text[]) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_del'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.del(text[]) IS 'DEL: delete keys, returning how many existed';

CREATE FUNCTION kv.exists(key text) RETURNS boolean
AS 'MODULE_PATHNAME', 'kv_exists'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.exists(text) IS 'EXISTS: whether a key exists';

CREATE FUNCTION kv.type(key text) RETURNS text
AS 'MODULE_PATHNAME', 'kv_type'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.type(text) IS 'TYPE: none, string, list, zset or hash';

CREATE FUNCTION kv.expire(key text, ttl interval) RETURNS boolean
AS 'MODULE_PATHNAME', 'kv_expire'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.expire(text, interval) IS 'EXPIRE: set a time to live; a non-positive ttl deletes the key';

CREATE FUNCTION kv.persist(key text) RETURNS boolean
AS 'MODULE_PATHNAME', 'kv_persist'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.persist(text) IS 'PERSIST: remove the time to live of a key';

CREATE FUNCTION kv.ttl(key text) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_ttl'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.ttl(text) IS 'TTL: seconds to live (rounded), -1 without expiry, -2 missing';

CREATE FUNCTION kv.pttl(key text) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_pttl'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.pttl(text) IS 'PTTL: milliseconds to live, -1 without expiry, -2 missing';

CREATE FUNCTION kv.keys(pattern text DEFAULT '*') RETURNS SETOF text
AS 'MODULE_PATHNAME', 'kv_keys'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.keys(text) IS 'KEYS: keys of this database matching a Redis glob pattern';

CREATE FUNCTION kv.scan(cursor bigint, pattern text DEFAULT '*', count integer DEFAULT 100)
RETURNS TABLE(next_cursor bigint, key text)
AS 'MODULE_PATHNAME', 'kv_scan'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.scan(bigint, text, integer) IS
'SCAN: one batch of keys from cursor; iterate until next_cursor is 0';

CREATE FUNCTION kv.dbsize() RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_dbsize'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION kv.dbsize() IS 'DBSIZE: number of keys in this database';

CREATE FUNCTION kv.flushdb() RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_flushdb'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.flushdb() IS 'FLUSHDB: delete every key of this database, returning how many';

CREATE FUNCTION kv.flushall() RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_flushall'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.flushall() IS 'FLUSHALL: delete every key of every database, returning how many';
REVOKE ALL ON FUNCTION kv.flushall() FROM PUBLIC;
