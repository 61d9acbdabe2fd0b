
-- ---------------------------------------------------------------- hashes
-- Fields and values are byte strings compared with memcmp.  hgetall, hkeys
-- and hvals return fields in an unspecified order (hash-table order, as in
-- Redis): add ORDER BY when the order matters.  Every write keeps the TTL.

CREATE FUNCTION kv.hset(key text, field text, value text) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_hset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.hset(text, text, text) IS
'HSET: set a field of a hash; returns 1 if the field is new, 0 if it was updated';

CREATE FUNCTION kv.hset(key text, fields text[], vals text[]) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_hset_array'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.hset(text, text[], text[]) IS
'HSET: set several fields at once, all or nothing (the last of duplicate fields wins); returns the number of new fields';

CREATE FUNCTION kv.hget(key text, field text) RETURNS text
AS 'MODULE_PATHNAME', 'kv_hget'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.hget(text, text) IS 'HGET: the value of a field of a hash, or NULL';

CREATE FUNCTION kv.hmget(key text, fields text[]) RETURNS text[]
AS 'MODULE_PATHNAME', 'kv_hmget'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.hmget(text, text[]) IS 'HMGET: values of several fields of a hash, NULL for missing fields';

CREATE FUNCTION kv.hdel(key text, VARIADIC fields text[]) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_hdel'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.hdel(text, text[]) IS
'HDEL: remove fields of a hash, returning how many existed; removing the last field deletes the key';

CREATE FUNCTION kv.hgetall(key text) RETURNS TABLE(field text, value text)
AS 'MODULE_PATHNAME', 'kv_hgetall'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.hgetall(text) IS 'HGETALL: every field and value of a hash, in unspecified order';

CREATE FUNCTION kv.hkeys(key text) RETURNS SETOF text
AS 'MODULE_PATHNAME', 'kv_hkeys'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.hkeys(text) IS 'HKEYS: every field of a hash, in unspecified order';

CREATE FUNCTION kv.hvals(key text) RETURNS SETOF text
AS 'MODULE_PATHNAME', 'kv_hvals'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.hvals(text) IS 'HVALS: every value of a hash, in unspecified order';

CREATE FUNCTION kv.hlen(key text) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_hlen'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.hlen(text) IS 'HLEN: number of fields of a hash, 0 if missing';

CREATE FUNCTION kv.hexists(key text, field text) RETURNS boolean
AS 'MODULE_PATHNAME', 'kv_hexists'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.hexists(text, text) IS 'HEXISTS: whether a hash has a field';

CREATE FUNCTION kv.hincrby(key text, field text, increment bigint) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_hincrby'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.hincrby(text, text, bigint) IS 'HINCRBY: add to a 64-bit integer field of a hash';

CREATE FUNCTION kv.hincrbyfloat(key text, field text, increment float8) RETURNS float8
AS 'MODULE_PATHNAME', 'kv_hincrbyfloat'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.hincrbyfloat(text, text, float8) IS 'HINCRBYFLOAT: add to a floating-point field of a hash';
