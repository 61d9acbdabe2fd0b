
-- ---------------------------------------------------------------- cold tier

CREATE FUNCTION widecol.compact(rel regclass,
                                OUT moved_rows bigint, OUT blocks_written bigint,
                                OUT raw_bytes bigint, OUT compressed_bytes bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'widecol_compact'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION widecol.compact(regclass) IS
    'Move the committed rows of a widecol table into compressed cold blocks; returns what it moved';
REVOKE ALL ON FUNCTION widecol.compact(regclass) FROM PUBLIC;

CREATE FUNCTION widecol.verify(rel regclass,
                               OUT "check" text, OUT ok boolean, OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'widecol_verify'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION widecol.verify(regclass) IS
    'Check the cold blocks and tombstones of a widecol table; one row per check or failure';
REVOKE ALL ON FUNCTION widecol.verify(regclass) FROM PUBLIC;

CREATE FUNCTION widecol._table_stats(rel regclass,
                                     OUT delta_rows bigint,
                                     OUT blocks bigint, OUT stored_rows bigint,
                                     OUT raw_bytes bigint, OUT compressed_bytes bigint,
                                     OUT last_compaction timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'widecol_table_stats'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION widecol._table_stats(regclass) IS
    'Row counts of both tiers of a widecol table and the sizes of its cold blocks (used by widecol.tables)';

CREATE FUNCTION widecol.group_cache_stats(OUT size_bytes bigint, OUT used_bytes bigint,
                                          OUT entries bigint, OUT hits bigint,
                                          OUT misses bigint, OUT inserts bigint,
                                          OUT evictions bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'widecol_group_cache_stats'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION widecol.group_cache_stats() IS
    'Size, use and counters since server start of the shared cache of decoded row groups (widecol.group_cache_size)';
