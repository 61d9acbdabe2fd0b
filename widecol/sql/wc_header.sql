-- widecol--1.0.sql: assembled from widecol/sql/*.sql by the Makefile.
-- widecol works only when preloaded (shared_preload_libraries): the first
-- statement refuses to install the extension otherwise, and an event
-- trigger refuses widecol DDL if the server is later started without it.

\echo Use "CREATE EXTENSION widecol" to load this file. \quit

CREATE FUNCTION widecol._check_preload() RETURNS void
AS 'MODULE_PATHNAME', 'widecol_check_preload'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION widecol._check_preload() IS
    'Raise SQLSTATE 55000 unless widecol is in shared_preload_libraries (run by CREATE EXTENSION)';

SELECT widecol._check_preload();

CREATE FUNCTION widecol._ddl_guard() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'widecol_ddl_guard'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION widecol._ddl_guard() IS
    'Event trigger: refuse widecol DDL when widecol is not in shared_preload_libraries';

CREATE EVENT TRIGGER widecol_ddl_guard ON ddl_command_start
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE',
                 'CREATE SCHEMA')
    EXECUTE FUNCTION widecol._ddl_guard();
COMMENT ON EVENT TRIGGER widecol_ddl_guard IS
    'Refuses widecol options and USING widecol when widecol is not preloaded';

GRANT USAGE ON SCHEMA widecol TO PUBLIC;
