
-- ---------------------------------------------------------------- lists

CREATE FUNCTION kv.lpush(key text, VARIADIC vals text[]) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_lpush'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.lpush(text, text[]) IS
'LPUSH: push values at the head of a list, in order; returns the new length';

CREATE FUNCTION kv.rpush(key text, VARIADIC vals text[]) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_rpush'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.rpush(text, text[]) IS
'RPUSH: push values at the tail of a list, in order; returns the new length';

CREATE FUNCTION kv.lpop(key text) RETURNS text
AS 'MODULE_PATHNAME', 'kv_lpop'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.lpop(text) IS
'LPOP: remove and return the first element of a list, or NULL';

CREATE FUNCTION kv.rpop(key text) RETURNS text
AS 'MODULE_PATHNAME', 'kv_rpop'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.rpop(text) IS
'RPOP: remove and return the last element of a list, or NULL';

CREATE FUNCTION kv.lpop(key text, count bigint) RETURNS SETOF text
AS 'MODULE_PATHNAME', 'kv_lpop_count'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.lpop(text, bigint) IS
'LPOP with count: remove and return up to count elements from the head, in pop order';

CREATE FUNCTION kv.rpop(key text, count bigint) RETURNS SETOF text
AS 'MODULE_PATHNAME', 'kv_rpop_count'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.rpop(text, bigint) IS
'RPOP with count: remove and return up to count elements from the tail, in pop order';

CREATE FUNCTION kv.lrange(key text, start bigint, stop bigint) RETURNS SETOF text
AS 'MODULE_PATHNAME', 'kv_lrange'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.lrange(text, bigint, bigint) IS
'LRANGE: the elements from start to stop (negative counts from the end), in list order';

CREATE FUNCTION kv.lindex(key text, index bigint) RETURNS text
AS 'MODULE_PATHNAME', 'kv_lindex'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.lindex(text, bigint) IS
'LINDEX: the element at index (negative counts from the end), or NULL';

CREATE FUNCTION kv.lset(key text, index bigint, value text) RETURNS void
AS 'MODULE_PATHNAME', 'kv_lset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.lset(text, bigint, text) IS
'LSET: replace the element at index; errors for a missing key or an index out of range';

CREATE FUNCTION kv.llen(key text) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_llen'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.llen(text) IS 'LLEN: the length of a list, 0 if missing';

CREATE FUNCTION kv.ltrim(key text, start bigint, stop bigint) RETURNS void
AS 'MODULE_PATHNAME', 'kv_ltrim'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.ltrim(text, bigint, bigint) IS
'LTRIM: keep only the elements from start to stop; an empty range deletes the key';

CREATE FUNCTION kv.lrem(key text, count bigint, value text) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_lrem'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.lrem(text, bigint, text) IS
'LREM: remove up to count elements equal to value from the head (count < 0: from the tail, 0: all); returns the number removed';

CREATE FUNCTION kv.linsert(key text, before boolean, pivot text, value text) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_linsert'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.linsert(text, boolean, text, text) IS
'LINSERT: insert value before or after the first pivot; returns the new length, -1 if no pivot, 0 if no key';

CREATE FUNCTION kv.blpop(keys text[], timeout float8)
RETURNS TABLE(key text, value text)
AS 'MODULE_PATHNAME', 'kv_blpop'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.blpop(text[], float8) IS
'BLPOP: pop the head of the first non-empty list among keys, waiting up to timeout seconds (0: forever); no row on timeout';

CREATE FUNCTION kv.brpop(keys text[], timeout float8)
RETURNS TABLE(key text, value text)
AS 'MODULE_PATHNAME', 'kv_brpop'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.brpop(text[], float8) IS
'BRPOP: pop the tail of the first non-empty list among keys, waiting up to timeout seconds (0: forever); no row on timeout';
