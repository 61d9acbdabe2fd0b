
-- ---------------------------------------------------------------- strings

CREATE FUNCTION kv.set(key text, value text, ttl interval DEFAULT NULL,
                       nx boolean DEFAULT false, xx boolean DEFAULT false,
                       keepttl boolean DEFAULT false)
RETURNS boolean
AS 'MODULE_PATHNAME', 'kv_set'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.set(text, text, interval, boolean, boolean, boolean) IS
'SET: store a string value; false if nx/xx refused the write';

CREATE FUNCTION kv.set(key text, value bytea, ttl interval DEFAULT NULL,
                       nx boolean DEFAULT false, xx boolean DEFAULT false,
                       keepttl boolean DEFAULT false)
RETURNS boolean
AS 'MODULE_PATHNAME', 'kv_set_bytea'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.set(text, bytea, interval, boolean, boolean, boolean) IS
'SET: store a binary value; false if nx/xx refused the write';

CREATE FUNCTION kv.get(key text) RETURNS text
AS 'MODULE_PATHNAME', 'kv_get'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.get(text) IS 'GET: the string value of a key, or NULL';

CREATE FUNCTION kv.get_bytea(key text) RETURNS bytea
AS 'MODULE_PATHNAME', 'kv_get_bytea'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.get_bytea(text) IS 'GET: the value of a string key as bytea, or NULL';

CREATE FUNCTION kv.getset(key text, value text) RETURNS text
AS 'MODULE_PATHNAME', 'kv_getset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.getset(text, text) IS 'GETSET: set a value and return the old one';

CREATE FUNCTION kv.getdel(key text) RETURNS text
AS 'MODULE_PATHNAME', 'kv_getdel'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.getdel(text) IS 'GETDEL: delete a string key and return its value';

CREATE FUNCTION kv.mget(keys text[]) RETURNS text[]
AS 'MODULE_PATHNAME', 'kv_mget'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.mget(text[]) IS 'MGET: values of several keys, NULL for missing or non-string keys';

CREATE FUNCTION kv.mset(keys text[], vals text[]) RETURNS void
AS 'MODULE_PATHNAME', 'kv_mset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.mset(text[], text[]) IS 'MSET: set several keys; nothing changes on bad input';

CREATE FUNCTION kv.incr(key text, increment bigint DEFAULT 1) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_incr'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.incr(text, bigint) IS 'INCRBY: add to a 64-bit integer value';

CREATE FUNCTION kv.decr(key text, decrement bigint DEFAULT 1) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_decr'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.decr(text, bigint) IS 'DECRBY: subtract from a 64-bit integer value';

CREATE FUNCTION kv.incrbyfloat(key text, increment float8) RETURNS float8
AS 'MODULE_PATHNAME', 'kv_incrbyfloat'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.incrbyfloat(text, float8) IS 'INCRBYFLOAT: add to a floating-point value';

CREATE FUNCTION kv.append(key text, value text) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_append'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.append(text, text) IS 'APPEND: append to a string value, returning its new length';

CREATE FUNCTION kv.strlen(key text) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_strlen'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.strlen(text) IS 'STRLEN: length in bytes of a string value';
