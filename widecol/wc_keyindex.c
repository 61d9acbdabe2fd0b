/*-------------------------------------------------------------------------
 *
 * wc_keyindex.c
 *	  The key index of a widecol table: creation, protection, lookup,
 *	  hiding from the planner, and its place in dumps.
 *
 * Every widecol table has one key index (DESIGN.md 4.4): a plain btree on
 * (partition key columns..., sort key columns...) with default operator
 * classes and the columns' collations, named <table>_wckey (made unique by
 * ChooseRelationName).  It is an ordinary index for the rest of
 * PostgreSQL: the executor inserts an entry for every row version, heap
 * VACUUM cleans it, REINDEX, CLUSTER, VACUUM FULL and TRUNCATE rebuild it,
 * HOT treats the key columns as indexed.  The widecol keyscan
 * (wc_customscan.c) reads rows in key order through it.
 *
 * Identity: the key index is the index of the table that has a
 * DEPENDENCY_INTERNAL entry in pg_depend on a column of the table (the
 * first partition key column).  That entry also protects it: DROP INDEX
 * fails with 2BP01 "cannot drop index ... because column ... requires it",
 * while DROP TABLE drops it.  Only one column gets the entry: an INTERNAL
 * entry on every key column would make dropping one key column try to
 * drop the others.  (Identity sequences also depend INTERNAL on a column;
 * they are not indexes.)  The lookup is cached per relcache entry in
 * rd_amcache as one WcKeyIndexInfo chunk; creating or dropping the index and
 * changing the key options (a pg_class update) invalidate the entry.
 *
 * Life cycle:
 *	  CREATE TABLE (AS)		wc_utility.c calls WcCreateKeyIndex after it
 *							stored the keys;
 *	  key change			on an empty table: WcDropKeyIndex, then create
 *							the new one;
 *	  RENAME of the table	the key index follows (<newname>_wckey), so that
 *							dumps always name it after its table;
 *	  RENAME of the index	refused (0A000);
 *	  partitioned indexes	PostgreSQL attaches a matching index of a
 *							partition to a new partitioned index (CREATE
 *							INDEX on the parent, ATTACH PARTITION); the key
 *							index may not become one (0A000, checked after
 *							the statement);
 *	  pg_dump				dumps it as a plain CREATE INDEX.  On restore
 *							the CREATE TABLE hook has created it already,
 *							so a CREATE INDEX with its name and exactly its
 *							definition is skipped with a NOTICE.  In binary
 *							upgrade mode (every relation needs a preassigned
 *							OID) CREATE TABLE creates none; the dumped CREATE
 *							INDEX creates it and is adopted (dependency
 *							recorded).
 *
 * Planner: wc_plan.c's get_relation_info_hook calls WcKeyIndexHide, which
 * removes the key index from rel->indexlist, so no ordinary index path,
 * index-only scan or selectivity probe uses it; the IndexOptInfo is kept aside
 * (WcStashedKeyIndex) for the keyscan path generation.  The stash lives in
 * the planner's memory and is reset around every planner call.
 *
 * Locking: creation and drops run under the AccessExclusiveLock of the
 * CREATE TABLE or key-changing ALTER TABLE; the CREATE INDEX check takes
 * the lock CREATE INDEX itself takes.
 *
 * widecol/wc_keyindex.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_depend.h"
#include "commands/defrem.h"
#include "commands/tablecmds.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/planner.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "storage/bufmgr.h"
#include "utils/datum.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "widecol.h"
#include "wc_cold.h"

static planner_hook_type prev_planner_hook = NULL;

/* Key indexes removed from RelOptInfos during the current planner call */
typedef struct WcStash
{
	RelOptInfo *rel;
	IndexOptInfo *index;
} WcStash;

static List *wc_stash = NIL;

/*
 * True inside a planner call.  get_relation_info also runs outside one
 * (CLUSTER's plan_cluster_use_sort, parallel index builds); the key index
 * is hidden there too, but nothing is stashed, because the stash would
 * outlive the memory it lives in.
 */
static bool wc_in_planner = false;

/* Key index of relid per pg_depend, or InvalidOid */
static Oid
wc_find_key_index(Oid relid)
{
	Relation	depend;
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			result = InvalidOid;

	depend = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&keys[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(RelationRelationId));
	ScanKeyInit(&keys[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(depend, DependReferenceIndexId, true, NULL, 2, keys);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tuple);

		if (dep->deptype == DEPENDENCY_INTERNAL &&
			dep->classid == RelationRelationId &&
			dep->refobjsubid > 0 &&
			get_rel_relkind(dep->objid) == RELKIND_INDEX)
		{
			result = dep->objid;
			break;
		}
	}
	systable_endscan(scan);
	table_close(depend, AccessShareLock);
	return result;
}

/*
 * Key information of widecol table rel: key index and key column counts,
 * cached in rel->rd_amcache.  keyindex is InvalidOid while the table has
 * none (during its CREATE TABLE, or in binary upgrade before adoption).
 */
const WcKeyIndexInfo *
WcGetKeyIndexInfo(Relation rel)
{
	static uint64 generations = 0;
	WcKeyIndexInfo  *info;
	WcKeys		keys;

	if (rel->rd_amcache != NULL)
		return (const WcKeyIndexInfo *) rel->rd_amcache;

	WcReadStoredKeys(RelationGetRelid(rel), &keys);
	info = MemoryContextAllocZero(CacheMemoryContext, sizeof(WcKeyIndexInfo));
	info->keyindex = wc_find_key_index(RelationGetRelid(rel));
	info->npk = list_length(keys.partition_key);
	info->nsk = list_length(keys.sort_key);
	info->generation = ++generations;
	rel->rd_amcache = info;
	return info;
}

/* The IndexElem list of an index on the key columns */
static List *
wc_key_index_params(const WcKeys *keys)
{
	List	   *params = NIL;
	List	   *names = list_concat_copy(keys->partition_key, keys->sort_key);
	ListCell   *lc;

	foreach(lc, names)
	{
		IndexElem  *elem = makeNode(IndexElem);

		elem->name = pstrdup(lfirst(lc));
		elem->ordering = SORTBY_DEFAULT;
		elem->nulls_ordering = SORTBY_NULLS_DEFAULT;
		params = lappend(params, elem);
	}
	return params;
}

/* Make indexoid the key index of relid: the protecting INTERNAL entry */
static void
wc_record_key_index(Oid relid, Oid indexoid, const WcKeys *keys)
{
	ObjectAddress index;
	ObjectAddress column;

	ObjectAddressSet(index, RelationRelationId, indexoid);
	ObjectAddressSubSet(column, RelationRelationId, relid,
						get_attnum(relid, linitial(keys->partition_key)));
	recordDependencyOn(&index, &column, DEPENDENCY_INTERNAL);
	CacheInvalidateRelcacheByRelid(relid);
	CommandCounterIncrement();
}

/*
 * Create the key index of widecol table rel for keys (resolved).  The
 * caller holds AccessExclusiveLock.  Existing rows are indexed.  In binary
 * upgrade mode nothing is created: the dumped CREATE INDEX is adopted.
 */
void
WcCreateKeyIndex(Relation rel, const WcKeys *keys)
{
	IndexStmt  *stmt;
	ObjectAddress addr;

	if (IsBinaryUpgrade)
		return;

	stmt = makeNode(IndexStmt);
	stmt->idxname = ChooseRelationName(RelationGetRelationName(rel), NULL,
									   WC_KEY_INDEX_LABEL,
									   RelationGetNamespace(rel), false);
	stmt->relation = makeRangeVar(get_namespace_name(RelationGetNamespace(rel)),
								  pstrdup(RelationGetRelationName(rel)), -1);
	stmt->accessMethod = "btree";
	stmt->indexParams = wc_key_index_params(keys);
	stmt->transformed = true;
	addr = DefineIndex(RelationGetRelid(rel), stmt, InvalidOid, InvalidOid,
					   InvalidOid, false, false, false, false, true);
	CommandCounterIncrement();
	wc_record_key_index(RelationGetRelid(rel), addr.objectId, keys);
}

/* Drop the key index of relid (before a key change); caller holds the table */
void
WcDropKeyIndex(Oid relid)
{
	Oid			indexoid = wc_find_key_index(relid);
	ObjectAddress index;

	if (!OidIsValid(indexoid))
		return;
	deleteDependencyRecordsForSpecific(RelationRelationId, indexoid,
									   DEPENDENCY_INTERNAL,
									   RelationRelationId, relid);
	CommandCounterIncrement();
	ObjectAddressSet(index, RelationRelationId, indexoid);
	performDeletion(&index, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
	CacheInvalidateRelcacheByRelid(relid);
	CommandCounterIncrement();
}

/* True if stmt defines exactly the key index that keys call for */
static bool
wc_index_stmt_is_key_shape(IndexStmt *stmt, const WcKeys *keys)
{
	List	   *names = list_concat_copy(keys->partition_key, keys->sort_key);
	ListCell   *ln;
	ListCell   *le;

	if (stmt->accessMethod == NULL || strcmp(stmt->accessMethod, "btree") != 0 ||
		stmt->unique || stmt->primary || stmt->isconstraint ||
		stmt->nulls_not_distinct || stmt->whereClause != NULL ||
		stmt->indexIncludingParams != NIL || stmt->options != NIL ||
		stmt->excludeOpNames != NIL || stmt->concurrent ||
		list_length(stmt->indexParams) != list_length(names))
		return false;
	forboth(ln, names, le, stmt->indexParams)
	{
		IndexElem  *elem = lfirst_node(IndexElem, le);

		if (elem->name == NULL || strcmp(elem->name, lfirst(ln)) != 0 ||
			elem->expr != NULL || elem->collation != NIL ||
			elem->opclass != NIL || elem->opclassopts != NIL ||
			elem->ordering != SORTBY_DEFAULT ||
			elem->nulls_ordering != SORTBY_NULLS_DEFAULT)
			return false;
	}
	return true;
}

/*
 * CREATE INDEX pre-step: true if the statement recreates the key index of
 * a widecol table that already has it (a restored dump); it is then
 * skipped with a NOTICE.  In binary upgrade mode *adopt_relid is set when
 * the statement creates the key index of a table that has none yet, for
 * WcAdoptKeyIndex after core ran.
 */
bool
WcSkipKeyIndexStmt(IndexStmt *stmt, Oid *adopt_relid)
{
	Oid			relid;
	Oid			keyindex;
	WcKeys		keys;
	char	   *keyname;

	*adopt_relid = InvalidOid;
	if (stmt->idxname == NULL || stmt->relation == NULL)
		return false;
	relid = RangeVarGetRelid(stmt->relation,
							 stmt->concurrent ? ShareUpdateExclusiveLock : ShareLock,
							 true);
	if (!OidIsValid(relid) || !WcRelidIsWidecol(relid) ||
		!WcReadStoredKeys(relid, &keys) || !keys.has_partition_key ||
		!wc_index_stmt_is_key_shape(stmt, &keys))
		return false;

	keyindex = wc_find_key_index(relid);
	if (!OidIsValid(keyindex))
	{
		if (IsBinaryUpgrade)
			*adopt_relid = relid;
		return false;
	}
	keyname = get_rel_name(keyindex);
	if (strcmp(keyname, stmt->idxname) != 0)
		return false;
	ereport(NOTICE,
			(errmsg("key index \"%s\" of widecol table \"%s\" already exists, skipping",
					keyname, get_rel_name(relid))));
	return true;
}

/* Binary upgrade: make the index just created by stmt the key index */
void
WcAdoptKeyIndex(IndexStmt *stmt, Oid relid)
{
	Oid			indexoid;
	WcKeys		keys;

	CommandCounterIncrement();
	indexoid = get_relname_relid(stmt->idxname, get_rel_namespace(relid));
	if (!OidIsValid(indexoid) || !WcReadStoredKeys(relid, &keys))
		elog(ERROR, "key index \"%s\" was not created", stmt->idxname);
	wc_record_key_index(relid, indexoid, &keys);
}

/*
 * RENAME pre-step: refuse renaming a key index; for a widecol table return
 * its OID so that WcRenameKeyIndex can rename the key index after it.
 */
Oid
WcCheckRename(RenameStmt *stmt)
{
	Oid			relid;
	Oid			tableid;

	if ((stmt->renameType != OBJECT_TABLE && stmt->renameType != OBJECT_INDEX) ||
		stmt->relation == NULL)
		return InvalidOid;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		return InvalidOid;
	if (get_rel_relkind(relid) == RELKIND_INDEX)
	{
		tableid = IndexGetRelation(relid, true);
		if (OidIsValid(tableid) && WcRelidIsWidecol(tableid) &&
			wc_find_key_index(tableid) == relid)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot rename key index \"%s\" of widecol table \"%s\"",
							get_rel_name(relid), get_rel_name(tableid)),
					 errdetail("The key index is named after its table and follows the table's name.")));
		return InvalidOid;
	}
	return WcRelidIsWidecol(relid) ? relid : InvalidOid;
}

/* RENAME post-step: name the key index of relid after its table's new name */
void
WcRenameKeyIndex(Oid relid)
{
	Oid			indexoid = wc_find_key_index(relid);
	char	   *newname;

	if (!OidIsValid(indexoid))
		return;
	newname = ChooseRelationName(get_rel_name(relid), NULL, WC_KEY_INDEX_LABEL,
								 get_rel_namespace(relid), false);
	RenameRelationInternal(indexoid, newname, true, true);
	CommandCounterIncrement();
}

/* Refuse if the key index of widecol table relid is a partition of an index */
static void
wc_check_not_attached(Oid relid)
{
	Oid			keyindex;

	if (!WcRelidIsWidecol(relid))
		return;
	keyindex = wc_find_key_index(relid);
	if (!OidIsValid(keyindex) || !has_superclass(keyindex))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("key index \"%s\" of widecol table \"%s\" cannot become a partition of index \"%s\"",
					get_rel_name(keyindex), get_rel_name(relid),
					get_rel_name(get_partition_parent(keyindex, true))),
			 errdetail("The partitioned index has exactly the key index's definition, so PostgreSQL would use the key index as its partition."),
			 errhint("Index the partitioned table on other columns, or create the partitioned index before creating its widecol partitions.")));
}

/*
 * Post-step of CREATE INDEX and ALTER TABLE/INDEX ... ATTACH PARTITION:
 * PostgreSQL attaches an existing index of a partition that matches a
 * partitioned index, and the key index may match.  Attached, it could not
 * be dropped with its parent (its INTERNAL dependency would turn the drop
 * into a drop of the key column), so the statement is refused instead.
 */
void
WcCheckKeyIndexAttach(Node *parsetree)
{
	RangeVar   *target = NULL;
	List	   *attached = NIL;
	ListCell   *lc;

	if (IsA(parsetree, IndexStmt))
		target = ((IndexStmt *) parsetree)->relation;
	else if (IsA(parsetree, AlterTableStmt))
	{
		AlterTableStmt *stmt = (AlterTableStmt *) parsetree;

		foreach(lc, stmt->cmds)
		{
			AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

			if (cmd->subtype == AT_AttachPartition)
				attached = lappend(attached, ((PartitionCmd *) cmd->def)->name);
		}
		if (attached != NIL)
			target = stmt->relation;
	}
	if (target == NULL)
		return;

	foreach(lc, attached)
	{
		Oid			relid = RangeVarGetRelid(lfirst(lc), NoLock, true);

		/* ALTER INDEX ... ATTACH PARTITION names the partition's index */
		if (OidIsValid(relid) && get_rel_relkind(relid) == RELKIND_INDEX)
			relid = IndexGetRelation(relid, true);
		if (OidIsValid(relid))
		{
			ListCell   *lr;

			foreach(lr, find_all_inheritors(relid, NoLock, NULL))
				wc_check_not_attached(lfirst_oid(lr));
		}
	}
	if (attached == NIL)
	{
		Oid			relid = RangeVarGetRelid(target, NoLock, true);

		if (OidIsValid(relid) && get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
		{
			foreach(lc, find_all_inheritors(relid, NoLock, NULL))
				wc_check_not_attached(lfirst_oid(lc));
		}
	}
}

/* The key index removed from rel by the planner hook, or NULL */
IndexOptInfo *
WcStashedKeyIndex(RelOptInfo *rel)
{
	ListCell   *lc;

	foreach(lc, wc_stash)
	{
		WcStash    *entry = lfirst(lc);

		if (entry->rel == rel)
			return entry->index;
	}
	return NULL;
}

/*
 * Take the key index out of rel, the planner's view of the widecol table
 * relation (from wc_plan.c's get_relation_info_hook), and stash it for the
 * keyscan.
 */
void
WcKeyIndexHide(RelOptInfo *rel, Relation relation)
{
	Oid			keyindex = WcGetKeyIndexInfo(relation)->keyindex;
	ListCell   *lc;

	if (!OidIsValid(keyindex))
		return;

	foreach(lc, rel->indexlist)
	{
		IndexOptInfo *index = lfirst(lc);

		if (index->indexoid == keyindex)
		{
			if (wc_in_planner)
			{
				WcStash    *entry = palloc(sizeof(WcStash));

				entry->rel = rel;
				entry->index = index;
				wc_stash = lappend(wc_stash, entry);
			}
			rel->indexlist = foreach_delete_current(rel->indexlist, lc);
			break;
		}
	}
}

/* planner_hook: a fresh stash for every (possibly nested) planner call */
static PlannedStmt *
wc_planner(Query *parse, const char *query_string, int cursorOptions,
		   ParamListInfo boundParams)
{
	List	   *saved = wc_stash;
	bool		saved_in_planner = wc_in_planner;
	PlannedStmt *result;

	wc_stash = NIL;
	wc_in_planner = true;
	PG_TRY();
	{
		if (prev_planner_hook)
			result = prev_planner_hook(parse, query_string, cursorOptions,
									   boundParams);
		else
			result = standard_planner(parse, query_string, cursorOptions,
									  boundParams);
	}
	PG_FINALLY();
	{
		wc_stash = saved;
		wc_in_planner = saved_in_planner;
	}
	PG_END_TRY();
	return result;
}

/* Install the planner hook (from _PG_init) */
void
WcKeyIndexInit(void)
{
	prev_planner_hook = planner_hook;
	planner_hook = wc_planner;
}

/*
 * The last cold key of row's partition: the key of the last END entry of
 * the key index whose block tuple is not dead.  Returns false if the
 * partition has no cold run; else vals/nulls (all key columns) are copied
 * into cxt, and *tailtid and *tailblock (if tailtid is not NULL) receive
 * the TOAST TID and block id of the block that holds that run.  Blocks of
 * running or aborted transactions that are not yet dead count, which only
 * ever holds back more rows; blocks deleted by a tail merge do not.
 */
bool
WcLastColdKey(Relation rel, Relation keyidx, WcStorage *st, WcKeyInfo *ki,
			  TransactionId horizon, HeapTuple row, Datum *vals, bool *nulls,
			  MemoryContext cxt, ItemPointer tailtid, Oid *tailblock)
{
	Relation	idx = keyidx;
	TupleDesc	desc = RelationGetDescr(rel);
	ScanKeyData keys[INDEX_MAX_KEYS];
	IndexScanDesc scan;
	ItemPointer tid;
	bool		found = false;
	int			npk = ki->npk;
	int			i;

	for (i = 0; i < npk; i++)
	{
		bool		isnull;
		Datum		d = heap_getattr(row, idx->rd_index->indkey.values[i], desc,
									 &isnull);
		Oid			opno;

		if (isnull)
		{
			ScanKeyEntryInitialize(&keys[i], SK_ISNULL | SK_SEARCHNULL, i + 1,
								   InvalidStrategy, InvalidOid,
								   idx->rd_indcollation[i], InvalidOid, (Datum) 0);
			continue;
		}
		opno = get_opfamily_member(idx->rd_opfamily[i], idx->rd_opcintype[i],
								   idx->rd_opcintype[i], BTEqualStrategyNumber);
		if (!OidIsValid(opno))
			elog(ERROR, "missing equality operator for column %d of index \"%s\"",
				 i + 1, RelationGetRelationName(idx));
		ScanKeyEntryInitialize(&keys[i], 0, i + 1, BTEqualStrategyNumber,
							   idx->rd_opcintype[i], idx->rd_indcollation[i],
							   get_opcode(opno), d);
	}
	scan = index_beginscan(rel, idx, SnapshotAny, npk, 0);
	scan->xs_want_itup = true;
	index_rescan(scan, keys, npk, NULL, 0);
	while (!found && (tid = index_getnext_tid(scan, BackwardScanDirection)) != NULL)
	{
		ItemPointerData blocktid;
		HeapTupleData btup;
		Buffer		buf;
		Oid			blockid;
		HTSV_Result res;
		MemoryContext old;

		if (WcTidRunKind(tid) != WC_RUN_END)
			continue;
		WcTidRunBlockTid(tid, &blocktid);
		if (!WcStorageFetchAt(st, &blocktid, &buf, &btup, &blockid))
			continue;
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		res = HeapTupleSatisfiesVacuum(&btup, horizon, buf);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		ReleaseBuffer(buf);
		/*
		 * Dead blocks do not count, nor blocks a tail merge deleted: their
		 * runs live on, with the same or a later last key, in blocks the
		 * merge wrote (wc_merge.c), which the scan meets instead.
		 */
		if (res == HEAPTUPLE_DEAD || res == HEAPTUPLE_RECENTLY_DEAD ||
			res == HEAPTUPLE_DELETE_IN_PROGRESS)
			continue;
		index_deform_tuple(scan->xs_itup, scan->xs_itupdesc, vals, nulls);
		old = MemoryContextSwitchTo(cxt);
		for (i = 0; i < ki->nkeys; i++)
		{
			Form_pg_attribute att = TupleDescAttr(scan->xs_itupdesc, i);

			if (!nulls[i])
				vals[i] = datumCopy(vals[i], att->attbyval, att->attlen);
		}
		MemoryContextSwitchTo(old);
		if (tailtid != NULL)
		{
			*tailtid = blocktid;
			*tailblock = blockid;
		}
		found = true;
	}
	index_endscan(scan);
	return found;
}

/* Compare the key of row with a key given as key index column values */
int
WcRowVsKey(WcKeyInfo *ki, TupleDesc desc, HeapTuple row, Datum *vals,
		   bool *nulls)
{
	int			i;

	for (i = 0; i < ki->nkeys; i++)
	{
		bool		isnull;
		Datum		d = heap_getattr(row, ki->attnums[i], desc, &isnull);
		int			c = ApplySortComparator(d, isnull, vals[i], nulls[i],
											&ki->ssup[i]);

		if (c != 0)
			return c;
	}
	return 0;
}
