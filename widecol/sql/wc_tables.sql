
-- ---------------------------------------------------------------- widecol.tables

-- One row per widecol table.  The keys come from pg_class.reloptions, where
-- they are stored in canonical form (quoted names joined by ", ").  The
-- counters come from widecol._table_stats, with one fresh snapshot:
-- delta_rows counts the live rows in the delta (a scan of the table's main
-- fork, as long as the delta, never of the cold tier); the cold-tier
-- columns come from the block headers: blocks and stored_rows (rows
-- deleted or updated in the cold tier are not counted), their raw and
-- stored bytes, and last_compaction, the time the newest visible block was
-- written (NULL without cold rows).  Another session's temporary tables
-- have NULL counters (their buffers are not readable here).
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
           s.delta_rows,
           s.stored_rows,
           s.blocks,
           s.raw_bytes,
           s.compressed_bytes,
           pg_total_relation_size(c.oid) AS total_bytes,
           s.last_compaction
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_am a ON a.oid = c.relam
      CROSS JOIN LATERAL widecol._table_stats(c.oid::regclass) AS s
     WHERE a.amname = 'widecol' AND c.relkind = 'r';
COMMENT ON VIEW widecol.tables IS
    'widecol tables: keys, row counts of both tiers, sizes';
GRANT SELECT ON widecol.tables TO PUBLIC;
