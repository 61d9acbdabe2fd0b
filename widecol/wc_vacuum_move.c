/*-------------------------------------------------------------------------
 *
 * wc_vacuum_move.c
 *	  Plain VACUUM runs the mover on the widecol tables it targets.
 *
 * Lazy VACUUM's relation_vacuum callback runs with PROC_IN_VACUUM set: its
 * transaction is left out of other backends' horizons, so it must not write
 * rows (DESIGN.md D12).  The mover therefore runs from the ProcessUtility
 * hook (wc_utility.c), before core's VACUUM, in transactions of its own:
 *
 *	  1. only VACUUM without FULL qualifies (not ANALYZE alone, not VACUUM
 *		 FULL, which keeps the cold blocks as they are), and only while
 *		 widecol.vacuum_move is on (the default).  The options are
 *		 read as ExecVacuum reads them; whatever core would reject (an
 *		 unrecognized option, a bad PARALLEL value, a column list without
 *		 ANALYZE, a table that does not exist) makes the hook do nothing
 *		 and leaves the error to core, so a failing statement moves no row.
 *		 PreventInTransactionBlock raises core's own error.  Nothing moves
 *		 during recovery (core refuses VACUUM there) or in a read-only
 *		 transaction (core allows VACUUM there, a move writes rows);
 *	  2. targets: the widecol tables named, the widecol partitions (at any
 *		 depth) of a partitioned table named, or, when no table is named,
 *		 every widecol table of the database the user may vacuum (owner of
 *		 the table or of the database, as vacuum_is_relation_owner);
 *	  3. the statement's transaction is committed, as vacuum() does, and
 *		 each target is moved in a transaction of its own: the ownership
 *		 check, ShareUpdateExclusiveLock (conditional under SKIP_LOCKED),
 *		 the checks again on the opened table (still widecol, not another
 *		 session's temporary table, not published: the background mover's
 *		 rules), then WcMoveAsOwner (as widecol.compact) inside a
 *		 subtransaction.  Afterwards a transaction is started for core,
 *		 which vacuums as usual.
 *
 * Why before core's VACUUM: once a move commits, its delta copies are dead
 * to every new snapshot, and core's vacuum (whose own transaction is out
 * of the horizon) removes them at once unless an older snapshot still
 * needs them; so VACUUM leaves a small delta, and VACUUM (ANALYZE) sees the
 * rows in the cold tier.
 *
 * Tables the user may not vacuum and, under SKIP_LOCKED, tables that are
 * locked are skipped without a WARNING here: core skips the same tables and
 * warns about them itself.
 *
 * Errors: a move that fails (a damaged block, an index expression that
 * raises, no disk space) is rolled back with its subtransaction and its
 * error reported as a WARNING naming the table; VACUUM goes on with the
 * other tables and core's vacuum, which must keep working on a table whose
 * rows cannot move.  A query cancel still ends the statement: it is
 * re-thrown once the subtransaction is rolled back.
 *
 * Reports: one line per table at INFO under VACUUM VERBOSE, else DEBUG1:
 * rows moved, blocks written, raw and stored bytes, and the live rows that
 * stayed in the delta by reason (WcMoveResult).
 *
 * Autovacuum does not run ProcessUtility and cannot move (D12); the
 * background mover (wc_worker.c) moves what autovacuum would find.
 *
 * Locking: per table, ShareUpdateExclusiveLock from the move to the end of
 * its transaction; core's vacuum takes it again afterwards.
 *
 * widecol/wc_vacuum_move.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "postmaster/bgworker_internals.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "widecol.h"
#include "wc_cold.h"

/* widecol.vacuum_move: a plain VACUUM moves rows first */
bool		wc_vacuum_move = true;

/*
 * Read the options of a VACUUM statement as ExecVacuum does.  Returns false
 * if the statement is not a plain VACUUM or if core will reject it (core
 * then raises its error); a bad Boolean value raises defGetBoolean's error,
 * the one core would raise for it.
 */
static bool
wc_vacmove_options(VacuumStmt *stmt, bool *verbose, bool *skip_locked)
{
	bool		full = false;
	bool		analyze = false;
	ListCell   *lc;

	*verbose = false;
	*skip_locked = false;
	if (!stmt->is_vacuumcmd)
		return false;
	foreach(lc, stmt->options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, "verbose") == 0)
			*verbose = defGetBoolean(opt);
		else if (strcmp(opt->defname, "skip_locked") == 0)
			*skip_locked = defGetBoolean(opt);
		else if (strcmp(opt->defname, "analyze") == 0)
			analyze = defGetBoolean(opt);
		else if (strcmp(opt->defname, "full") == 0)
			full = defGetBoolean(opt);
		else if (strcmp(opt->defname, "freeze") == 0 ||
				 strcmp(opt->defname, "disable_page_skipping") == 0 ||
				 strcmp(opt->defname, "process_toast") == 0 ||
				 strcmp(opt->defname, "truncate") == 0)
			(void) defGetBoolean(opt);
		else if (strcmp(opt->defname, "index_cleanup") == 0)
		{
			if (opt->arg != NULL && pg_strcasecmp(defGetString(opt), "auto") != 0)
				(void) defGetBoolean(opt);
		}
		else if (strcmp(opt->defname, "parallel") == 0)
		{
			int			nworkers;

			if (opt->arg == NULL)
				return false;
			nworkers = defGetInt32(opt);
			if (nworkers < 0 || nworkers > MAX_PARALLEL_WORKER_LIMIT)
				return false;
		}
		else
			return false;
	}
	if (full)
		return false;
	if (!analyze)
	{
		foreach(lc, stmt->rels)
		{
			if (lfirst_node(VacuumRelation, lc)->va_cols != NIL)
				return false;
		}
	}
	return true;
}

/* True if the user may vacuum the table of form (vacuum_is_relation_owner) */
static bool
wc_vacmove_may_vacuum(Form_pg_class form)
{
	return pg_class_ownercheck(form->oid, GetUserId()) ||
		(pg_database_ownercheck(MyDatabaseId, GetUserId()) && !form->relisshared);
}

/*
 * True if relid is a widecol table the user may vacuum and not another
 * session's temporary table (syscache only)
 */
static bool
wc_vacmove_candidate(Oid relid, Oid amoid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class form;
	bool		result;

	if (!HeapTupleIsValid(tup))
		return false;
	form = (Form_pg_class) GETSTRUCT(tup);
	result = form->relkind == RELKIND_RELATION && form->relam == amoid &&
		(form->relpersistence != RELPERSISTENCE_TEMP ||
		 isTempNamespace(form->relnamespace)) &&
		wc_vacmove_may_vacuum(form);
	ReleaseSysCache(tup);
	return result;
}

/*
 * The widecol tables the statement targets (file header, step 2), in
 * CurrentMemoryContext.  Sets *ok to false, and returns NIL, if a named
 * table does not exist (core raises the error).
 */
static List *
wc_vacmove_targets(VacuumStmt *stmt, Oid amoid, bool *ok)
{
	List	   *targets = NIL;
	ListCell   *lc;

	*ok = true;
	if (stmt->rels == NIL)
	{
		Relation	pgclass = table_open(RelationRelationId, AccessShareLock);
		TableScanDesc scan = table_beginscan_catalog(pgclass, 0, NULL);
		HeapTuple	tup;

		while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
		{
			Form_pg_class form = (Form_pg_class) GETSTRUCT(tup);

			if (wc_vacmove_candidate(form->oid, amoid))
				targets = lappend_oid(targets, form->oid);
		}
		table_endscan(scan);
		table_close(pgclass, AccessShareLock);
		return targets;
	}

	foreach(lc, stmt->rels)
	{
		VacuumRelation *vrel = lfirst_node(VacuumRelation, lc);
		Oid			relid = vrel->oid;

		if (!OidIsValid(relid))
			relid = RangeVarGetRelidExtended(vrel->relation, NoLock,
											 RVR_MISSING_OK, NULL, NULL);
		if (!OidIsValid(relid))
		{
			*ok = false;
			return NIL;
		}
		if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
		{
			ListCell   *plc;

			foreach(plc, find_all_inheritors(relid, NoLock, NULL))
			{
				if (wc_vacmove_candidate(lfirst_oid(plc), amoid))
					targets = list_append_unique_oid(targets, lfirst_oid(plc));
			}
		}
		else if (wc_vacmove_candidate(relid, amoid))
			targets = list_append_unique_oid(targets, relid);
	}
	return targets;
}

/*
 * Move rel's rows inside a subtransaction.  Returns NULL, or the error of a
 * move that failed (rolled back; the caller reports it); a query cancel is
 * re-thrown once the subtransaction is rolled back (an error escaping it
 * would leave the session in an aborted transaction block).
 */
static ErrorData *
wc_vacmove_guarded(Relation rel, WcMoveResult *res)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		WcMoveAsOwner(rel, NULL, res);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(edata);
	}
	PG_END_TRY();
	return edata;
}

/* Report what the move of table name did, at elevel */
static void
wc_vacmove_report(const char *name, const WcMoveResult *res, int elevel)
{
	int64		left = res->left_recent + res->left_busy + res->left_toasted +
		res->left_large + res->left_order;
	char	   *raw = WcSizePretty(res->raw_bytes);
	char	   *stored = WcSizePretty(res->compressed_bytes);
	char	   *merged = res->merged_blocks == 0 ? "" :
		psprintf(", rewriting %lld tail blocks",
				 (long long) res->merged_blocks);

	if (left == 0)
		ereport(elevel,
				(errmsg("widecol \"%s\": moved %lld delta rows into %lld cold blocks%s, raw %s, stored %s",
						name, (long long) res->moved_rows,
						(long long) res->blocks_written, merged, raw, stored)));
	else
		ereport(elevel,
				(errmsg("widecol \"%s\": moved %lld delta rows into %lld cold blocks%s, raw %s, stored %s",
						name, (long long) res->moved_rows,
						(long long) res->blocks_written, merged, raw, stored),
				 errdetail("%lld live rows stay in the delta: %lld not yet visible to every transaction, %lld being modified or locked, %lld with out-of-line values, %lld over the cold row size limit, %lld below their partition's last cold key.",
						   (long long) left, (long long) res->left_recent,
						   (long long) res->left_busy, (long long) res->left_toasted,
						   (long long) res->left_large, (long long) res->left_order)));
}

/*
 * Move the rows of one table in a transaction of its own (file header,
 * step 3).  Called and returns outside a transaction; allocates the table's
 * name in cxt.
 */
static void
wc_vacmove_table(Oid relid, Oid amoid, bool skip_locked, int elevel,
				 MemoryContext cxt)
{
	Relation	rel = NULL;
	WcMoveResult res;
	bool		moved = false;
	const char *name = NULL;
	ErrorData  *edata;

	StartTransactionCommand();
	if (wc_vacmove_candidate(relid, amoid))
	{
		if (!skip_locked)
			LockRelationOid(relid, ShareUpdateExclusiveLock);
		if (!skip_locked || ConditionalLockRelationOid(relid, ShareUpdateExclusiveLock))
			rel = try_relation_open(relid, NoLock);
		else
			ereport(elevel,
					(errmsg("widecol \"%s.%s\": no rows moved: lock not available",
							get_namespace_name(get_rel_namespace(relid)),
							get_rel_name(relid))));
	}
	/* dropped, or its OID reused, while we waited */
	if (rel != NULL &&
		(rel->rd_rel->relkind != RELKIND_RELATION ||
		 rel->rd_tableam != WcGetRoutine() ||
		 RELATION_IS_OTHER_TEMP(rel) ||
		 !wc_vacmove_may_vacuum(rel->rd_rel)))
	{
		relation_close(rel, NoLock);
		rel = NULL;
	}
	if (rel != NULL)
	{
		name = MemoryContextStrdup(cxt,
								   psprintf("%s.%s",
											get_namespace_name(RelationGetNamespace(rel)),
											RelationGetRelationName(rel)));
		if (WcTableIsPublished(rel))
			ereport(elevel,
					(errmsg("widecol \"%s\": no rows moved: the table is published",
							name)));
		else
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			edata = wc_vacmove_guarded(rel, &res);
			PopActiveSnapshot();
			moved = (edata == NULL);
			/* psql shows no CONTEXT of a WARNING: name the table up front */
			if (edata != NULL)
			{
				edata->elevel = WARNING;
				edata->message = psprintf("could not move delta rows of widecol table \"%s\": %s",
										  name, edata->message);
				ThrowErrorData(edata);
				FreeErrorData(edata);
			}
		}
		table_close(rel, NoLock);
	}
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	if (moved)
		wc_vacmove_report(name, &res, elevel);
}

/*
 * Before core runs a VACUUM statement: move the rows of the widecol tables
 * it targets (file header).  Called from the ProcessUtility hook inside the
 * statement's transaction; when it moves anything it commits that
 * transaction and returns in a new one with a snapshot pushed, as core's
 * vacuum() expects, and in the caller's memory context.
 */
void
WcVacuumMove(VacuumStmt *stmt, bool isTopLevel)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt;
	bool		verbose;
	bool		skip_locked;
	bool		ok;
	int			elevel;
	Oid			amoid;
	List	   *targets;
	ListCell   *lc;

	if (!wc_vacuum_move || !wc_vacmove_options(stmt, &verbose, &skip_locked))
		return;
	PreventInTransactionBlock(isTopLevel, "VACUUM");
	if (RecoveryInProgress() || IsInParallelMode())
		return;
	amoid = get_am_oid(WC_AM_NAME, true);
	if (!OidIsValid(amoid))
		return;
	elevel = verbose ? INFO : DEBUG1;

	/* survives the transactions below, as vacuum()'s own context does */
	cxt = AllocSetContextCreate(PortalContext, "widecol vacuum move",
								ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	targets = wc_vacmove_targets(stmt, amoid, &ok);
	if (!ok || targets == NIL)
	{
		MemoryContextSwitchTo(caller);
		MemoryContextDelete(cxt);
		return;
	}
	if (XactReadOnly)
	{
		ereport(elevel,
				(errmsg("widecol: no rows moved: the transaction is read-only")));
		MemoryContextSwitchTo(caller);
		MemoryContextDelete(cxt);
		return;
	}

	/* matches the StartTransaction in PostgresMain(), as in vacuum() */
	if (ActiveSnapshotSet())
		PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	foreach(lc, targets)
	{
		CHECK_FOR_INTERRUPTS();
		wc_vacmove_table(lfirst_oid(lc), amoid, skip_locked, elevel, cxt);
	}
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(cxt);
}
