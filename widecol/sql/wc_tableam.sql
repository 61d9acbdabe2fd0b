
-- ---------------------------------------------------------------- access method

CREATE FUNCTION widecol.tableam_handler(internal) RETURNS table_am_handler
AS 'MODULE_PATHNAME', 'widecol_tableam_handler'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION widecol.tableam_handler(internal) IS
    'Table access method handler of widecol';

CREATE ACCESS METHOD widecol TYPE TABLE HANDLER widecol.tableam_handler;
COMMENT ON ACCESS METHOD widecol IS
    'Wide-column tables: CREATE TABLE ... USING widecol WITH (partition_key = ''...'', sort_key = ''...'')';
