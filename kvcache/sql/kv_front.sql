
-- ---------------------------------------------------------------- cache in front of tables

CREATE FUNCTION kv.get_or_load(key text, loader text, ttl interval DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'kv_get_or_load'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.get_or_load(text, text, interval) IS
'read-through GET: on a miss run the loader query in the caller''s snapshot, store its result unless an invalidation committed since, and return it';

CREATE FUNCTION kv.invalidate_trigger() RETURNS trigger
AS 'MODULE_PATHNAME', 'kv_invalidate_trigger'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.invalidate_trigger() IS
'row trigger installed by kv.invalidate_on: queues the keys of changed rows for deletion at commit';

CREATE FUNCTION kv.invalidate_on(tbl regclass, key_template text) RETURNS void
AS 'MODULE_PATHNAME', 'kv_invalidate_on'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.invalidate_on(regclass, text) IS
'delete the keys rendered from key_template ({column} placeholders) for every changed row when its transaction commits';

CREATE FUNCTION kv.invalidate_off(tbl regclass, key_template text) RETURNS void
AS 'MODULE_PATHNAME', 'kv_invalidate_off'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION kv.invalidate_off(regclass, text) IS
'remove the invalidation installed by kv.invalidate_on for key_template';
