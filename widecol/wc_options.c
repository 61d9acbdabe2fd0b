/*-------------------------------------------------------------------------
 *
 * wc_options.c
 *	  The key options of a widecol table: partition_key and sort_key.
 *
 * Syntax: WITH (partition_key = 'a, b', sort_key = 'c').  A value is a
 * comma-separated list of column names, parsed like search_path
 * (SplitIdentifierString: unquoted names are folded to lower case, quoted
 * names are taken as written).  A bare identifier (partition_key = a) is
 * taken as one column name exactly as the parser produced it.
 *
 * Storage: the resolved keys are kept in pg_class.reloptions as ordinary
 * text options, in canonical form: names quoted with quote_identifier()
 * and joined with ", " ("partition_key=tenant, device").  PostgreSQL's
 * relcache and autovacuum parse reloptions without validation and ignore
 * names they do not know, so the entries are inert for core code; \d+
 * shows them and pg_dump writes them back as WITH (...) (quoting a value
 * unless it is a plain identifier), which our CREATE TABLE handling reads
 * again.
 *
 * Rules (checked by WcResolveKeys against the table's current columns):
 *	  - partition_key is required, unless the table has a PRIMARY KEY: then
 *		its first column is the partition key and the rest the sort key.
 *		sort_key without partition_key is an error.
 *	  - every name is an existing user column (42703; system columns 0A000);
 *	  - no column appears twice, within or across the two lists (42P16);
 *	  - every key type has a default btree operator class (42804), because
 *		the key defines the order rows are stored in.
 *
 * Compression options (compression = zstd | none, compression_level =
 * 1..19) travel with the keys through the same statement handling and are
 * stored the same way ("compression=zstd", "compression_level=5").  They
 * are read when the mover writes a block, so a change affects new blocks
 * only; unlike the keys they may change at any time.
 *
 * Nothing here takes locks beyond the catalog access it does; callers
 * hold a lock on the table that keeps its columns stable.
 *
 * widecol/wc_options.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_am.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "nodes/makefuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "widecol.h"

/* True if name is one of our option names */
bool
WcIsKeyOption(const char *name)
{
	return strcmp(name, WC_OPT_PARTITION_KEY) == 0 ||
		strcmp(name, WC_OPT_SORT_KEY) == 0 ||
		strcmp(name, WC_OPT_COMPRESSION) == 0 ||
		strcmp(name, WC_OPT_COMPRESSION_LEVEL) == 0;
}

/* Parse a compression codec name; raises 22023 unless zstd or none */
static char *
wc_parse_compression(const char *value)
{
	if (pg_strcasecmp(value, "zstd") == 0)
		return pstrdup("zstd");
	if (pg_strcasecmp(value, "none") == 0)
		return pstrdup("none");
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for widecol option \"%s\": \"%s\"",
					WC_OPT_COMPRESSION, value),
			 errdetail("Valid values are \"zstd\" and \"none\".")));
	return NULL;				/* keep compiler quiet */
}

/* Parse a compression level; raises 22023 unless an integer in 1..19 */
static int
wc_parse_compression_level(const char *value)
{
	char	   *end;
	long		level;

	errno = 0;
	level = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' ||
		level < WC_MIN_COMPRESSION_LEVEL || level > WC_MAX_COMPRESSION_LEVEL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for widecol option \"%s\": \"%s\"",
						WC_OPT_COMPRESSION_LEVEL, value),
				 errdetail("Valid values are integers between %d and %d.",
						   WC_MIN_COMPRESSION_LEVEL, WC_MAX_COMPRESSION_LEVEL)));
	return (int) level;
}

/* Parse one compression option value into keys (false: not one) */
static bool
wc_set_compression_option(WcKeys *keys, const char *name, const char *value)
{
	if (strcmp(name, WC_OPT_COMPRESSION) == 0)
	{
		keys->has_compression = true;
		keys->compression = value ? wc_parse_compression(value) : NULL;
		return true;
	}
	if (strcmp(name, WC_OPT_COMPRESSION_LEVEL) == 0)
	{
		keys->has_compression_level = true;
		keys->compression_level = value ? wc_parse_compression_level(value) : 0;
		return true;
	}
	return false;
}

/* Raise the error for a malformed key option value */
static void
wc_invalid_value(const char *option, const char *value)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for widecol option \"%s\": \"%s\"",
					option, value),
			 errdetail("The value must be a comma-separated list of column names.")));
}

/* Parse a comma-separated list of column names; raises 22023 if malformed */
static List *
wc_parse_name_list(const char *option, const char *value)
{
	char	   *copy = pstrdup(value);
	List	   *raw = NIL;
	List	   *names = NIL;
	ListCell   *lc;

	if (!SplitIdentifierString(copy, ',', &raw) || raw == NIL)
		wc_invalid_value(option, value);
	foreach(lc, raw)
	{
		const char *name = (const char *) lfirst(lc);

		if (name[0] == '\0')
			wc_invalid_value(option, value);
		names = lappend(names, pstrdup(name));
	}
	list_free(raw);
	pfree(copy);
	return names;
}

/*
 * Column names given by a WITH/SET option.  A bare identifier reaches us as
 * a one-name TypeName, already case-folded by the parser; anything else is
 * read as text.
 */
static List *
wc_option_names(DefElem *def)
{
	if (def->arg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("widecol option \"%s\" requires a value", def->defname)));

	if (IsA(def->arg, TypeName))
	{
		TypeName   *tn = (TypeName *) def->arg;

		if (list_length(tn->names) != 1 || tn->typmods != NIL ||
			tn->arrayBounds != NIL || tn->setof || tn->pct_type)
			wc_invalid_value(def->defname, defGetString(def));
		return list_make1(pstrdup(strVal(linitial(tn->names))));
	}
	return wc_parse_name_list(def->defname, defGetString(def));
}

/*
 * Split a WITH / SET / RESET option list into our key options (parsed into
 * *keys) and the rest (*rest, for core).  Options with a namespace (toast.)
 * are never ours.  With reset, an option present means "remove it".
 * Returns true if any key option was found.
 */
bool
WcExtractKeyOptions(List *options, List **rest, WcKeys *keys, bool reset)
{
	ListCell   *lc;
	bool		found = false;

	memset(keys, 0, sizeof(WcKeys));
	*rest = NIL;
	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);
		bool		is_pk;

		if (def->defnamespace != NULL || !WcIsKeyOption(def->defname))
		{
			*rest = lappend(*rest, def);
			continue;
		}
		found = true;
		if (strcmp(def->defname, WC_OPT_COMPRESSION) == 0 ||
			strcmp(def->defname, WC_OPT_COMPRESSION_LEVEL) == 0)
		{
			bool		given = strcmp(def->defname, WC_OPT_COMPRESSION) == 0 ?
				keys->has_compression : keys->has_compression_level;

			if (given)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("parameter \"%s\" specified more than once",
								def->defname)));
			if (reset && def->arg != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_SYNTAX_ERROR),
						 errmsg("RESET must not include values for parameters")));
			if (!reset && def->arg == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("widecol option \"%s\" requires a value", def->defname)));
			wc_set_compression_option(keys, def->defname,
									  reset ? NULL : defGetString(def));
			continue;
		}
		is_pk = strcmp(def->defname, WC_OPT_PARTITION_KEY) == 0;
		if (is_pk ? keys->has_partition_key : keys->has_sort_key)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("parameter \"%s\" specified more than once",
							def->defname)));
		if (reset && def->arg != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_SYNTAX_ERROR),
					 errmsg("RESET must not include values for parameters")));
		if (is_pk)
		{
			keys->has_partition_key = true;
			keys->partition_key = reset ? NIL : wc_option_names(def);
		}
		else
		{
			keys->has_sort_key = true;
			keys->sort_key = reset ? NIL : wc_option_names(def);
		}
	}
	return found;
}

/* Read the key options stored in a pg_class.reloptions value */
void
WcKeysFromReloptions(Datum reloptions, bool isnull, WcKeys *keys)
{
	Datum	   *elems;
	int			nelems;
	int			i;

	memset(keys, 0, sizeof(WcKeys));
	if (isnull)
		return;
	deconstruct_array(DatumGetArrayTypeP(reloptions), TEXTOID, -1, false,
					  TYPALIGN_INT, &elems, NULL, &nelems);
	for (i = 0; i < nelems; i++)
	{
		char	   *opt = TextDatumGetCString(elems[i]);
		char	   *eq = strchr(opt, '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		if (strcmp(opt, WC_OPT_PARTITION_KEY) == 0)
		{
			keys->has_partition_key = true;
			keys->partition_key = wc_parse_name_list(opt, eq + 1);
		}
		else if (strcmp(opt, WC_OPT_SORT_KEY) == 0)
		{
			keys->has_sort_key = true;
			keys->sort_key = wc_parse_name_list(opt, eq + 1);
		}
		else
			wc_set_compression_option(keys, opt, eq + 1);
	}
}

/* Apply a SET/RESET change (from WcExtractKeyOptions) to keys */
void
WcKeysMerge(WcKeys *keys, const WcKeys *change)
{
	if (change->has_partition_key)
	{
		keys->partition_key = change->partition_key;
		keys->has_partition_key = change->partition_key != NIL;
	}
	if (change->has_sort_key)
	{
		keys->sort_key = change->sort_key;
		keys->has_sort_key = change->sort_key != NIL;
	}
	if (change->has_compression)
	{
		keys->compression = change->compression;
		keys->has_compression = change->compression != NULL;
	}
	if (change->has_compression_level)
	{
		keys->compression_level = change->compression_level;
		keys->has_compression_level = change->compression_level != 0;
	}
}

/* Codec and level that new blocks of a table with these options use */
void
WcKeysCompression(const WcKeys *keys, bool *use_zstd, int *level)
{
	*use_zstd = !keys->has_compression || keys->compression == NULL ||
		strcmp(keys->compression, "zstd") == 0;
	*level = keys->has_compression_level && keys->compression_level > 0 ?
		keys->compression_level : WC_DEFAULT_COMPRESSION_LEVEL;
}

/* Check one key column of rel; bms collects attnums to find repeats */
static void
wc_check_key_column(Relation rel, const char *option, const char *name,
					Bitmapset **seen)
{
	Oid			relid = RelationGetRelid(rel);
	AttrNumber	attnum = get_attnum(relid, name);
	Oid			typid;

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" named in %s does not exist", name, option)));
	if (attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot use system column \"%s\" in the key of widecol table \"%s\"",
						name, RelationGetRelationName(rel))));
	if (bms_is_member(attnum, *seen))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("column \"%s\" appears more than once in the key of widecol table \"%s\"",
						name, RelationGetRelationName(rel)),
				 errdetail("A column can be named only once in partition_key and sort_key together.")));
	*seen = bms_add_member(*seen, attnum);

	typid = get_atttype(relid, attnum);
	if (!OidIsValid(GetDefaultOpClass(typid, BTREE_AM_OID)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of type %s cannot be in the key of widecol table \"%s\"",
						name, format_type_be(typid), RelationGetRelationName(rel)),
				 errdetail("Key columns need a data type with a default btree operator class.")));
}

/* Key from the table's primary key: first column partitions, rest sort */
static void
wc_keys_from_primary_key(Relation rel, WcKeys *keys)
{
	Oid			pkoid = RelationGetPrimaryKeyIndex(rel);
	Relation	pkrel;
	int			i;

	if (!OidIsValid(pkoid))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("widecol table \"%s\" needs a partition key",
						RelationGetRelationName(rel)),
				 errhint("Specify WITH (partition_key = '...') or declare a PRIMARY KEY.")));

	pkrel = index_open(pkoid, AccessShareLock);
	keys->partition_key = NIL;
	keys->sort_key = NIL;
	for (i = 0; i < pkrel->rd_index->indnkeyatts; i++)
	{
		AttrNumber	attnum = pkrel->rd_index->indkey.values[i];
		char	   *name = get_attname(RelationGetRelid(rel), attnum, false);

		if (i == 0)
			keys->partition_key = list_make1(name);
		else
			keys->sort_key = lappend(keys->sort_key, name);
	}
	index_close(pkrel, AccessShareLock);
	keys->has_partition_key = true;
	keys->has_sort_key = keys->sort_key != NIL;
}

/*
 * Complete and validate keys for rel: derive them from the primary key when
 * partition_key is absent, then check every column.  Raises on any problem;
 * on return keys holds exactly what is to be stored.
 */
void
WcResolveKeys(Relation rel, WcKeys *keys)
{
	Bitmapset  *seen = NULL;
	ListCell   *lc;

	if (!keys->has_partition_key)
	{
		if (keys->has_sort_key)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
					 errmsg("widecol option \"%s\" requires \"%s\"",
							WC_OPT_SORT_KEY, WC_OPT_PARTITION_KEY)));
		wc_keys_from_primary_key(rel, keys);
	}
	foreach(lc, keys->partition_key)
		wc_check_key_column(rel, WC_OPT_PARTITION_KEY, lfirst(lc), &seen);
	foreach(lc, keys->sort_key)
		wc_check_key_column(rel, WC_OPT_SORT_KEY, lfirst(lc), &seen);
	bms_free(seen);
}

/* True if two name lists are equal */
static bool
wc_names_equal(List *a, List *b)
{
	ListCell   *la;
	ListCell   *lb;

	if (list_length(a) != list_length(b))
		return false;
	forboth(la, a, lb, b)
	{
		if (strcmp(lfirst(la), lfirst(lb)) != 0)
			return false;
	}
	return true;
}

/* True if a and b declare the same keys */
bool
WcKeysEqual(const WcKeys *a, const WcKeys *b)
{
	return wc_names_equal(a->has_partition_key ? a->partition_key : NIL,
						  b->has_partition_key ? b->partition_key : NIL) &&
		wc_names_equal(a->has_sort_key ? a->sort_key : NIL,
					   b->has_sort_key ? b->sort_key : NIL);
}

/* True if colname is a partition or sort key column */
bool
WcKeysContain(const WcKeys *keys, const char *colname)
{
	ListCell   *lc;

	foreach(lc, keys->partition_key)
	{
		if (strcmp(lfirst(lc), colname) == 0)
			return true;
	}
	foreach(lc, keys->sort_key)
	{
		if (strcmp(lfirst(lc), colname) == 0)
			return true;
	}
	return false;
}

/* Replace column name oldname by newname wherever keys mention it */
void
WcKeysRename(WcKeys *keys, const char *oldname, const char *newname)
{
	ListCell   *lc;

	foreach(lc, keys->partition_key)
	{
		if (strcmp(lfirst(lc), oldname) == 0)
			lfirst(lc) = pstrdup(newname);
	}
	foreach(lc, keys->sort_key)
	{
		if (strcmp(lfirst(lc), oldname) == 0)
			lfirst(lc) = pstrdup(newname);
	}
}

/* Canonical text of a name list: quoted as needed, joined by ", " */
char *
WcKeyListToString(List *names)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, names)
	{
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, quote_identifier(lfirst(lc)));
	}
	return buf.data;
}

/* Read the keys stored for relid; false if the relation does not exist */
bool
WcReadStoredKeys(Oid relid, WcKeys *keys)
{
	HeapTuple	tuple;
	Datum		datum;
	bool		isnull;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
	{
		memset(keys, 0, sizeof(WcKeys));
		return false;
	}
	datum = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_reloptions, &isnull);
	WcKeysFromReloptions(datum, isnull, keys);
	ReleaseSysCache(tuple);
	return true;
}

/* Add "name=names" to an array being built, if names is not empty */
static ArrayBuildState *
wc_accum_option(ArrayBuildState *astate, const char *name, List *names)
{
	char	   *opt;

	if (names == NIL)
		return astate;
	opt = psprintf("%s=%s", name, WcKeyListToString(names));
	return accumArrayResult(astate, CStringGetTextDatum(opt), false, TEXTOID,
							CurrentMemoryContext);
}

/*
 * Write keys into pg_class.reloptions of relid, replacing any stored key
 * options and keeping every other option in place; keys == NULL removes
 * them.  The caller holds a lock on the table that blocks concurrent DDL.
 * Ends with CommandCounterIncrement so the change is visible at once.
 */
void
WcStoreKeys(Oid relid, const WcKeys *keys)
{
	Relation	pgclass;
	HeapTuple	tuple;
	HeapTuple	newtuple;
	Datum		datum;
	bool		isnull;
	ArrayBuildState *astate = NULL;
	Datum		values[Natts_pg_class] = {0};
	bool		nulls[Natts_pg_class] = {0};
	bool		replace[Natts_pg_class] = {0};

	pgclass = table_open(RelationRelationId, RowExclusiveLock);
	tuple = SearchSysCacheCopy1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);

	/* keep every option that is not ours, in order */
	datum = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_reloptions, &isnull);
	if (!isnull)
	{
		Datum	   *elems;
		int			nelems;
		int			i;

		deconstruct_array(DatumGetArrayTypeP(datum), TEXTOID, -1, false,
						  TYPALIGN_INT, &elems, NULL, &nelems);
		for (i = 0; i < nelems; i++)
		{
			char	   *opt = TextDatumGetCString(elems[i]);
			char	   *eq = strchr(opt, '=');

			if (eq != NULL)
				*eq = '\0';
			if (eq == NULL || !WcIsKeyOption(opt))
				astate = accumArrayResult(astate, elems[i], false, TEXTOID,
										  CurrentMemoryContext);
		}
	}
	if (keys != NULL)
	{
		astate = wc_accum_option(astate, WC_OPT_PARTITION_KEY,
								 keys->has_partition_key ? keys->partition_key : NIL);
		astate = wc_accum_option(astate, WC_OPT_SORT_KEY,
								 keys->has_sort_key ? keys->sort_key : NIL);
		if (keys->has_compression && keys->compression != NULL)
			astate = accumArrayResult(astate,
									  CStringGetTextDatum(psprintf("%s=%s", WC_OPT_COMPRESSION,
																   keys->compression)),
									  false, TEXTOID, CurrentMemoryContext);
		if (keys->has_compression_level && keys->compression_level > 0)
			astate = accumArrayResult(astate,
									  CStringGetTextDatum(psprintf("%s=%d", WC_OPT_COMPRESSION_LEVEL,
																   keys->compression_level)),
									  false, TEXTOID, CurrentMemoryContext);
	}

	if (astate != NULL)
		values[Anum_pg_class_reloptions - 1] =
			makeArrayResult(astate, CurrentMemoryContext);
	else
		nulls[Anum_pg_class_reloptions - 1] = true;
	replace[Anum_pg_class_reloptions - 1] = true;

	newtuple = heap_modify_tuple(tuple, RelationGetDescr(pgclass),
								 values, nulls, replace);
	CatalogTupleUpdate(pgclass, &newtuple->t_self, newtuple);
	heap_freetuple(newtuple);
	heap_freetuple(tuple);
	table_close(pgclass, RowExclusiveLock);

	CommandCounterIncrement();
}

/* True if amoid is the widecol table access method */
bool
WcAmIsWidecol(Oid amoid)
{
	HeapTuple	tuple;
	bool		result;

	if (!OidIsValid(amoid))
		return false;
	tuple = SearchSysCache1(AMOID, ObjectIdGetDatum(amoid));
	if (!HeapTupleIsValid(tuple))
		return false;
	result = strcmp(NameStr(((Form_pg_am) GETSTRUCT(tuple))->amname),
					WC_AM_NAME) == 0;
	ReleaseSysCache(tuple);
	return result;
}

/* True if relid is an ordinary table using the widecol access method */
bool
WcRelidIsWidecol(Oid relid)
{
	HeapTuple	tuple;
	char		relkind;
	Oid			relam;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		return false;
	relkind = ((Form_pg_class) GETSTRUCT(tuple))->relkind;
	relam = ((Form_pg_class) GETSTRUCT(tuple))->relam;
	ReleaseSysCache(tuple);

	return relkind == RELKIND_RELATION && WcAmIsWidecol(relam);
}
