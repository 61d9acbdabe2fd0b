
-- ---------------------------------------------------------------- widecol.tables

-- One row per widecol table.  The keys come from pg_class.reloptions, where
-- they are stored in canonical form (quoted names joined by ", ").  The
-- cold-tier columns come from the block headers (widecol._cold_stats):
-- blocks and stored_rows a fresh snapshot sees (rows deleted or updated
-- in the cold tier are not counted), their raw and stored bytes, and
-- last_compaction, the time the newest visible block was written (NULL
-- without cold rows).  delta_rows is the statistics
-- collector's live-row estimate (pg_stat_get_live_tuples, as n_live_tup in
-- pg_stat_user_tables), not a count: counting would scan every table.
-- total_bytes is pg_total_relation_size: the table, its TOAST table and
-- TOAST index, its free space and visibility maps, and all its indexes.
CREATE VIEW widecol.tables AS
    SELECT c.oid::regclass AS relid,
           (SELECT substr(o, length('partition_key=') + 1)
              FROM unnest(c.reloptions) AS o
             WHERE starts_with(o, 'partition_key=')) AS partition_key,
           (SELECT substr(o, length('sort_key=') + 1)
              FROM unnest(c.reloptions) AS o
             WHERE starts_with(o, 'sort_key=')) AS sort_key,
           pg_stat_get_live_tuples(c.oid) AS delta_rows,
           s.stored_rows,
           s.blocks,
           s.raw_bytes,
           s.compressed_bytes,
           pg_total_relation_size(c.oid) AS total_bytes,
           s.last_compaction
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_am a ON a.oid = c.relam
      CROSS JOIN LATERAL widecol._cold_stats(c.oid::regclass) AS s
     WHERE a.amname = 'widecol' AND c.relkind = 'r';
COMMENT ON VIEW widecol.tables IS
    'widecol tables: keys, row counts (delta_rows is an estimate from the statistics), sizes';
GRANT SELECT ON widecol.tables TO PUBLIC;
