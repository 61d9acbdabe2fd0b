
-- ---------------------------------------------------------------- sorted sets
-- Order is score ascending, then member bytes (memcmp, never a collation).
-- Scores are float8; NaN is rejected (22023).  Range functions return their
-- rows in Redis's order, which is the point of calling them.

CREATE FUNCTION kv.zadd(key text, score float8, member text,
                        nx boolean DEFAULT false, xx boolean DEFAULT false,
                        gt boolean DEFAULT false, lt boolean DEFAULT false,
                        ch boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_zadd'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.zadd(text, float8, text, boolean, boolean, boolean, boolean, boolean) IS
'ZADD: add a member or update its score; returns members added (plus changed with ch)';

CREATE FUNCTION kv.zadd(key text, scores float8[], members text[],
                        nx boolean DEFAULT false, xx boolean DEFAULT false,
                        gt boolean DEFAULT false, lt boolean DEFAULT false,
                        ch boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_zadd_array'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.zadd(text, float8[], text[], boolean, boolean, boolean, boolean, boolean) IS
'ZADD: add or update many members at once; all or nothing';

CREATE FUNCTION kv.zincrby(key text, increment float8, member text) RETURNS float8
AS 'MODULE_PATHNAME', 'kv_zincrby'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.zincrby(text, float8, text) IS
'ZINCRBY: add to the score of a member (created at 0), returning the new score';

CREATE FUNCTION kv.zscore(key text, member text) RETURNS float8
AS 'MODULE_PATHNAME', 'kv_zscore'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.zscore(text, text) IS 'ZSCORE: the score of a member, or NULL';

CREATE FUNCTION kv.zrank(key text, member text) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_zrank'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.zrank(text, text) IS
'ZRANK: 0-based position of a member from the lowest score, or NULL';

CREATE FUNCTION kv.zrevrank(key text, member text) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_zrevrank'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.zrevrank(text, text) IS
'ZREVRANK: 0-based position of a member from the highest score, or NULL';

CREATE FUNCTION kv.zcard(key text) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_zcard'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.zcard(text) IS 'ZCARD: number of members, 0 for a missing key';

CREATE FUNCTION kv.zcount(key text, min float8, max float8,
                          min_exclusive boolean DEFAULT false,
                          max_exclusive boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_zcount'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.zcount(text, float8, float8, boolean, boolean) IS
'ZCOUNT: number of members with a score between min and max';

CREATE FUNCTION kv.zrange(key text, start bigint, stop bigint)
RETURNS TABLE(member text, score float8)
AS 'MODULE_PATHNAME', 'kv_zrange'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.zrange(text, bigint, bigint) IS
'ZRANGE: members by position, lowest score first; negative positions count from the end';

CREATE FUNCTION kv.zrevrange(key text, start bigint, stop bigint)
RETURNS TABLE(member text, score float8)
AS 'MODULE_PATHNAME', 'kv_zrevrange'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.zrevrange(text, bigint, bigint) IS
'ZREVRANGE: members by position, highest score first; negative positions count from the end';

CREATE FUNCTION kv.zrangebyscore(key text, min float8, max float8,
                                 min_exclusive boolean DEFAULT false,
                                 max_exclusive boolean DEFAULT false,
                                 limit_offset bigint DEFAULT 0,
                                 limit_count bigint DEFAULT -1)
RETURNS TABLE(member text, score float8)
AS 'MODULE_PATHNAME', 'kv_zrangebyscore'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.zrangebyscore(text, float8, float8, boolean, boolean, bigint, bigint) IS
'ZRANGEBYSCORE: members with a score between min and max, lowest first; limit_count -1 means all';

CREATE FUNCTION kv.zrevrangebyscore(key text, max float8, min float8,
                                    max_exclusive boolean DEFAULT false,
                                    min_exclusive boolean DEFAULT false,
                                    limit_offset bigint DEFAULT 0,
                                    limit_count bigint DEFAULT -1)
RETURNS TABLE(member text, score float8)
AS 'MODULE_PATHNAME', 'kv_zrevrangebyscore'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kv.zrevrangebyscore(text, float8, float8, boolean, boolean, bigint, bigint) IS
'ZREVRANGEBYSCORE: members with a score between max and min, highest first; limit_count -1 means all';

CREATE FUNCTION kv.zrem(key text, VARIADIC members text[]) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_zrem'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.zrem(text, text[]) IS
'ZREM: remove members, returning how many were there; an emptied set is deleted';

CREATE FUNCTION kv.zremrangebyscore(key text, min float8, max float8,
                                    min_exclusive boolean DEFAULT false,
                                    max_exclusive boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_zremrangebyscore'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.zremrangebyscore(text, float8, float8, boolean, boolean) IS
'ZREMRANGEBYSCORE: remove the members with a score between min and max';

CREATE FUNCTION kv.zremrangebyrank(key text, start bigint, stop bigint) RETURNS bigint
AS 'MODULE_PATHNAME', 'kv_zremrangebyrank'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.zremrangebyrank(text, bigint, bigint) IS
'ZREMRANGEBYRANK: remove the members between two positions (as in kv.zrange)';

CREATE FUNCTION kv.zpopmin(key text, count bigint DEFAULT 1)
RETURNS TABLE(member text, score float8)
AS 'MODULE_PATHNAME', 'kv_zpopmin'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.zpopmin(text, bigint) IS
'ZPOPMIN: remove and return the count lowest-scored members, lowest first';

CREATE FUNCTION kv.zpopmax(key text, count bigint DEFAULT 1)
RETURNS TABLE(member text, score float8)
AS 'MODULE_PATHNAME', 'kv_zpopmax'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.zpopmax(text, bigint) IS
'ZPOPMAX: remove and return the count highest-scored members, highest first';
