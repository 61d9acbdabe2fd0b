/*-------------------------------------------------------------------------
 *
 * wc_utility.c
 *	  ProcessUtility hook: widecol options in CREATE TABLE and ALTER TABLE;
 *	  plain VACUUM runs the mover first (wc_vacuum_move.c).
 *
 * PostgreSQL 15 validates table options with heap_reloptions() whatever
 * the access method, so WITH (partition_key = ...) would fail in core.  The
 * hook takes our options out of the statement before core sees it and
 * writes the resolved keys into pg_class.reloptions afterwards
 * (wc_options.c), in the same transaction, so a failure anywhere leaves
 * nothing behind.
 *
 * Statement frames: every utility statement runs inside a WcFrame (see
 * widecol.h).  wc_objaccess.c records there the widecol tables the
 * statement created and the key columns it dropped or renamed, whichever
 * command path did it (ALTER TABLE on a parent, ALTER TYPE ... CASCADE,
 * DROP TYPE ... CASCADE, CREATE TABLE ... PARTITION OF, CREATE TABLE AS,
 * SELECT INTO, EXPLAIN ANALYZE CREATE TABLE AS).  When core has finished,
 * wc_finish_statement acts on the record:
 *
 *	  1. a dropped key column whose table still exists: 0A000 (a drop that
 *		 was only part of dropping the whole table is fine);
 *	  2. a created widecol table: resolve its keys with the options taken
 *		 from the statement, or from its PRIMARY KEY, and store them;
 *	  3. ALTER TABLE SET/RESET on a widecol table: store the merged keys;
 *	  4. a renamed key column: rewrite the name in the stored keys.
 *
 * The key index (wc_keyindex.c) is created with the keys in step 2 and
 * recreated when step 3 changes them; a renamed widecol table renames it;
 * a CREATE INDEX that recreates an existing key index (a restored dump) is
 * skipped with a NOTICE.
 *
 * ALTER TABLE SET/RESET: core merges the new options with the stored ones
 * and validates the result, which would fail on our stored keys.  So before
 * core runs, the stored keys are removed from pg_class (and kept in the
 * frame, where wc_objaccess.c finds them); afterwards they are written
 * back, changed if the statement changed them.  A key change is allowed
 * only while the table has no rows (0A000 otherwise), and takes
 * AccessExclusiveLock first so no row can appear meanwhile.
 *
 * SET ACCESS METHOD to or from widecol is refused (0A000): a rewrite into
 * widecol would have no keys, and out of widecol would keep key options
 * that heap does not accept.  Materialized views cannot use widecol at all
 * (see wc_objaccess.c); the rewrite of ALTER MATERIALIZED VIEW ... SET
 * ACCESS METHOD creates an internal table that the object access hook does
 * not see, so it is refused here.
 *
 * widecol/wc_utility.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "commands/tablecmds.h"
#include "executor/tuptable.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "widecol.h"
#include "wc_cold.h"

/* Innermost statement frame, NULL outside utility statements */
WcFrame    *wc_current_frame = NULL;

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* What the pre-step of one statement decided, for its post-step */
typedef struct WcStmtState
{
	bool		create_keys_given;	/* CREATE carried key options */
	WcKeys		create_keys;
	Oid			alter_relid;	/* widecol table of ALTER SET/RESET */
	bool		alter_keys_given;	/* ALTER SET/RESET named our options */
	WcKeys		alter_oldkeys;
	WcKeys		alter_newkeys;
	Oid			adopt_relid;	/* binary upgrade: CREATE INDEX of a key index */
	Oid			rename_relid;	/* widecol table being renamed */
} WcStmtState;

/* True if a table created with access method am (NULL: default) is ours */
static bool
wc_create_uses_widecol(const char *am, bool partitioned)
{
	if (partitioned)
		return false;
	if (am == NULL)
		am = default_table_access_method;
	return am != NULL && strcmp(am, WC_AM_NAME) == 0;
}

/* True if an option list holds partition_key or sort_key */
static bool
wc_has_key_options(List *options)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (def->defnamespace == NULL && WcIsKeyOption(def->defname))
			return true;
	}
	return false;
}

/* Raise 22023 for key options given to a table that is not widecol */
static void
wc_reject_key_options(const char *relname, bool partitioned)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("widecol options specified for non-widecol table \"%s\"",
					relname),
			 partitioned ?
			 errhint("Specify them on each partition created USING widecol.") :
			 errhint("Create the table USING widecol.")));
}

/* The CREATE TABLE AS inside an EXPLAIN, or NULL */
static CreateTableAsStmt *
wc_explained_ctas(ExplainStmt *stmt)
{
	Query	   *query = (Query *) stmt->query;

	if (query != NULL && IsA(query, Query) && query->utilityStmt != NULL &&
		IsA(query->utilityStmt, CreateTableAsStmt))
		return (CreateTableAsStmt *) query->utilityStmt;
	return NULL;
}

/* True if the statement carries widecol key options anywhere */
static bool
wc_stmt_has_key_options(Node *parsetree)
{
	ListCell   *lc;

	switch (nodeTag(parsetree))
	{
		case T_CreateStmt:
			return wc_has_key_options(((CreateStmt *) parsetree)->options);
		case T_CreateTableAsStmt:
			return wc_has_key_options(((CreateTableAsStmt *) parsetree)->into->options);
		case T_ExplainStmt:
			{
				CreateTableAsStmt *ctas = wc_explained_ctas((ExplainStmt *) parsetree);

				return ctas != NULL && wc_has_key_options(ctas->into->options);
			}
		case T_CreateSchemaStmt:
			foreach(lc, ((CreateSchemaStmt *) parsetree)->schemaElts)
			{
				if (wc_stmt_has_key_options(lfirst(lc)))
					return true;
			}
			return false;
		case T_AlterTableStmt:
			foreach(lc, ((AlterTableStmt *) parsetree)->cmds)
			{
				AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

				if ((cmd->subtype == AT_SetRelOptions ||
					 cmd->subtype == AT_ResetRelOptions) &&
					wc_has_key_options((List *) cmd->def))
					return true;
			}
			return false;
		default:
			return false;
	}
}

/*
 * True if the statement would create a widecol table, carries widecol
 * options or switches a table to widecol: what the no-preload guard in
 * wc_init.c refuses.
 */
bool
WcStatementUsesWidecol(Node *parsetree)
{
	ListCell   *lc;

	if (parsetree == NULL)
		return false;
	if (wc_stmt_has_key_options(parsetree))
		return true;
	switch (nodeTag(parsetree))
	{
		case T_CreateStmt:
			{
				CreateStmt *stmt = (CreateStmt *) parsetree;

				return wc_create_uses_widecol(stmt->accessMethod,
											  stmt->partspec != NULL);
			}
		case T_CreateTableAsStmt:
			return wc_create_uses_widecol(((CreateTableAsStmt *) parsetree)->into->accessMethod,
										  false);
		case T_CreateSchemaStmt:
			foreach(lc, ((CreateSchemaStmt *) parsetree)->schemaElts)
			{
				if (WcStatementUsesWidecol(lfirst(lc)))
					return true;
			}
			return false;
		case T_AlterTableStmt:
			foreach(lc, ((AlterTableStmt *) parsetree)->cmds)
			{
				AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

				if (cmd->subtype == AT_SetAccessMethod && cmd->name != NULL &&
					strcmp(cmd->name, WC_AM_NAME) == 0)
					return true;
			}
			return false;
		default:
			return false;
	}
}

/* Pre-step of CREATE TABLE: take our options out of the statement */
static void
wc_prepare_create(CreateStmt *stmt, WcStmtState *st)
{
	List	   *rest;

	if (!wc_has_key_options(stmt->options))
		return;
	if (!wc_create_uses_widecol(stmt->accessMethod, stmt->partspec != NULL))
		wc_reject_key_options(stmt->relation->relname, stmt->partspec != NULL);
	WcExtractKeyOptions(stmt->options, &rest, &st->create_keys, false);
	stmt->options = rest;
	st->create_keys_given = true;
}

/* Pre-step of CREATE TABLE AS / SELECT INTO: same on the INTO clause */
static void
wc_prepare_ctas(CreateTableAsStmt *ctas, WcStmtState *st)
{
	IntoClause *into = ctas->into;
	List	   *rest;

	if (!wc_has_key_options(into->options))
		return;
	if (ctas->objtype != OBJECT_TABLE ||
		!wc_create_uses_widecol(into->accessMethod, false))
		wc_reject_key_options(into->rel->relname, false);
	WcExtractKeyOptions(into->options, &rest, &st->create_keys, false);
	into->options = rest;
	st->create_keys_given = true;
}

/*
 * Pre-step of ALTER TABLE: refuse SET ACCESS METHOD to or from widecol; for
 * SET/RESET on a widecol table take our options out of the statement,
 * merge them into the keys to be stored, and hide the stored keys from
 * core's validation (see the file header).
 */
static void
wc_prepare_alter(AlterTableStmt *stmt, WcStmtState *st, WcFrame *frame)
{
	ListCell   *lc;
	bool		relopts = false;
	bool		keys_given = false;
	AlterTableCmd *setam = NULL;
	LOCKMODE	lockmode;
	Oid			relid;
	bool		is_widecol;

	/* ALTER MATERIALIZED VIEW ... SET ACCESS METHOD rewrites too */
	if (stmt->objtype != OBJECT_TABLE && stmt->objtype != OBJECT_MATVIEW)
		return;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_SetRelOptions || cmd->subtype == AT_ResetRelOptions)
		{
			relopts = true;
			keys_given |= wc_has_key_options((List *) cmd->def);
		}
		else if (cmd->subtype == AT_SetAccessMethod)
			setam = cmd;
	}
	if (!relopts && setam == NULL)
		return;

	/* the lock core would take, or AccessExclusiveLock for a key change */
	lockmode = keys_given ? AccessExclusiveLock : AlterTableGetLockLevel(stmt->cmds);
	relid = AlterTableLookupRelation(stmt, lockmode);
	if (!OidIsValid(relid))
		return;					/* IF EXISTS and absent: core says so */
	is_widecol = WcRelidIsWidecol(relid);

	if (setam != NULL &&
		(is_widecol || (setam->name != NULL && strcmp(setam->name, WC_AM_NAME) == 0)))
	{
		if (get_rel_relkind(relid) == RELKIND_MATVIEW)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("materialized view \"%s\" cannot use access method widecol",
							get_rel_name(relid))));
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot change the access method of table \"%s\" to or from widecol",
						get_rel_name(relid)),
				 errhint("Create a new table with CREATE TABLE ... USING and copy the rows with INSERT ... SELECT.")));
	}
	if (!relopts)
		return;
	if (!is_widecol)
	{
		if (keys_given)
			wc_reject_key_options(get_rel_name(relid),
								  get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE);
		return;
	}

	WcReadStoredKeys(relid, &st->alter_oldkeys);
	st->alter_newkeys = st->alter_oldkeys;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
		WcKeys		change;
		List	   *rest;

		if ((cmd->subtype != AT_SetRelOptions && cmd->subtype != AT_ResetRelOptions) ||
			!wc_has_key_options((List *) cmd->def))
			continue;
		WcExtractKeyOptions((List *) cmd->def, &rest, &change,
							cmd->subtype == AT_ResetRelOptions);
		cmd->def = (Node *) rest;
		WcKeysMerge(&st->alter_newkeys, &change);
	}
	st->alter_relid = relid;
	st->alter_keys_given = keys_given;

	frame->hidden_relid = relid;
	frame->hidden_keys = st->alter_oldkeys;
	WcStoreKeys(relid, NULL);
}

/*
 * Pre-step of ALTER TABLE: refuse dropping a key column of the table or of
 * a widecol table inheriting the column, with the same error the object
 * access hook raises for indirect drops.  Checking first matters because
 * core's dependency walk would otherwise fail with a confusing 2BP01 (the
 * key index depends INTERNAL on the first key column, wc_keyindex.c).  No
 * lock is taken: core locks and the object access hook stays the guard.
 */
static void
wc_check_drop_columns(AlterTableStmt *stmt)
{
	ListCell   *lc;
	ListCell   *lr;
	Oid			relid = InvalidOid;
	List	   *rels = NIL;

	if (stmt->objtype != OBJECT_TABLE)
		return;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype != AT_DropColumn || cmd->name == NULL)
			continue;
		if (!OidIsValid(relid))
		{
			relid = RangeVarGetRelid(stmt->relation, NoLock, true);
			if (!OidIsValid(relid))
				return;
			rels = stmt->relation->inh ?
				find_all_inheritors(relid, NoLock, NULL) : list_make1_oid(relid);
		}
		foreach(lr, rels)
		{
			Oid			child = lfirst_oid(lr);
			WcKeys		keys;

			if (WcRelidIsWidecol(child) && WcCurrentKeys(child, &keys) &&
				WcKeysContain(&keys, cmd->name))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot drop key column \"%s\" of widecol table \"%s\"",
								cmd->name, get_rel_name(child))));
		}
	}
}

/* True if rel has no row visible to a fresh snapshot */
static bool
wc_table_is_empty(Relation rel)
{
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	TableScanDesc scan = table_beginscan(rel, snapshot, 0, NULL);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bool		empty;

	empty = !table_scan_getnextslot(scan, ForwardScanDirection, slot);
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	return empty;
}

/* Post-step for a new widecol table: resolve and store its keys */
static void
wc_define_keys(Oid relid, const WcStmtState *st)
{
	WcKeys		keys;
	Relation	rel;

	if (st->create_keys_given)
		keys = st->create_keys;
	else
		memset(&keys, 0, sizeof(keys));

	/* the creator holds AccessExclusiveLock */
	rel = table_open(relid, NoLock);
	WcResolveKeys(rel, &keys);
	WcStoreKeys(relid, &keys);
	WcCreateKeyIndex(rel, &keys);
	table_close(rel, NoLock);
}

/* Post-step of ALTER TABLE SET/RESET: store the (possibly new) keys */
static void
wc_finish_alter(const WcStmtState *st)
{
	WcKeys		keys = st->alter_newkeys;
	Relation	rel = NULL;
	bool		changed = false;

	if (st->alter_keys_given)
	{
		/* the pre-step took AccessExclusiveLock */
		rel = table_open(st->alter_relid, NoLock);
		WcResolveKeys(rel, &keys);
		changed = !WcKeysEqual(&keys, &st->alter_oldkeys);
		if (changed && !wc_table_is_empty(rel))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot change the key of widecol table \"%s\" because it contains rows",
							RelationGetRelationName(rel)),
					 errhint("Create a new table with the new key and copy the rows with INSERT ... SELECT.")));
	}
	WcStoreKeys(st->alter_relid, &keys);
	if (changed)
	{
		/* a new key needs a new key index (the table is empty) */
		WcDropKeyIndex(st->alter_relid);
		WcCreateKeyIndex(rel, &keys);
	}
	if (rel != NULL)
		table_close(rel, NoLock);
}

/* Act on what happened during the statement (see the file header) */
static void
wc_finish_statement(WcFrame *frame, const WcStmtState *st)
{
	ListCell   *lc;

	if (frame->created == NIL && frame->dropped == NIL &&
		frame->renamed == NIL && !OidIsValid(st->alter_relid))
		return;

	/* make the statement's own catalog changes visible */
	CommandCounterIncrement();

	foreach(lc, frame->dropped)
	{
		WcColumnEvent *ev = lfirst(lc);

		if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(ev->relid)))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot drop key column \"%s\" of widecol table \"%s\"",
							ev->oldname, get_rel_name(ev->relid))));
	}

	foreach(lc, frame->created)
	{
		Oid			relid = lfirst_oid(lc);

		if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
			wc_define_keys(relid, st);
	}

	if (OidIsValid(st->alter_relid))
		wc_finish_alter(st);

	foreach(lc, frame->renamed)
	{
		WcColumnEvent *ev = lfirst(lc);
		WcKeys		keys;

		if (WcReadStoredKeys(ev->relid, &keys) &&
			WcKeysContain(&keys, ev->oldname))
		{
			WcKeysRename(&keys, ev->oldname, ev->newname);
			WcStoreKeys(ev->relid, &keys);
		}
	}
}

/*
 * Keys in force for relid during the current statement: the ones an ALTER
 * TABLE SET/RESET has hidden, else the stored ones.  False if the relation
 * does not exist.
 */
bool
WcCurrentKeys(Oid relid, WcKeys *keys)
{
	WcFrame    *frame;

	for (frame = wc_current_frame; frame != NULL; frame = frame->parent)
	{
		if (frame->hidden_relid == relid)
		{
			*keys = frame->hidden_keys;
			return true;
		}
	}
	return WcReadStoredKeys(relid, keys);
}

/* Run the statement in core (or the next hook) with frame as innermost */
static void
wc_run_in_frame(WcFrame *frame, PlannedStmt *pstmt, const char *queryString,
				bool readOnlyTree, ProcessUtilityContext context,
				ParamListInfo params, QueryEnvironment *queryEnv,
				DestReceiver *dest, QueryCompletion *qc)
{
	wc_current_frame = frame;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		wc_current_frame = frame->parent;
	}
	PG_END_TRY();
}

/* ProcessUtility hook: pre-step, core inside a frame, post-step */
static void
wc_process_utility(PlannedStmt *pstmt, const char *queryString,
				   bool readOnlyTree, ProcessUtilityContext context,
				   ParamListInfo params, QueryEnvironment *queryEnv,
				   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree;
	WcStmtState st;
	WcFrame		frame;

	/* a bulk load that can go straight into cold blocks */
	if (IsA(pstmt->utilityStmt, CopyStmt))
	{
		uint64		processed;

		if (WcCopyFrom((CopyStmt *) pstmt->utilityStmt, queryString,
					   queryEnv, &processed))
		{
			if (qc)
				SetQueryCompletion(qc, CMDTAG_COPY, processed);
			return;
		}
	}

	memset(&st, 0, sizeof(st));
	memset(&frame, 0, sizeof(frame));
	frame.parent = wc_current_frame;
	frame.cxt = CurrentMemoryContext;

	/* we edit option lists: work on our own copy of a shared tree */
	if (readOnlyTree && wc_stmt_has_key_options(pstmt->utilityStmt))
	{
		pstmt = copyObject(pstmt);
		readOnlyTree = false;
	}
	parsetree = pstmt->utilityStmt;

	switch (nodeTag(parsetree))
	{
		case T_CreateStmt:
			wc_prepare_create((CreateStmt *) parsetree, &st);
			break;
		case T_CreateTableAsStmt:
			wc_prepare_ctas((CreateTableAsStmt *) parsetree, &st);
			break;
		case T_ExplainStmt:
			{
				CreateTableAsStmt *ctas = wc_explained_ctas((ExplainStmt *) parsetree);

				if (ctas != NULL)
					wc_prepare_ctas(ctas, &st);
				break;
			}
		case T_AlterTableStmt:
			wc_check_drop_columns((AlterTableStmt *) parsetree);
			wc_prepare_alter((AlterTableStmt *) parsetree, &st, &frame);
			break;
		case T_IndexStmt:
			/* a dumped CREATE INDEX of an existing key index does nothing */
			if (WcSkipKeyIndexStmt((IndexStmt *) parsetree, &st.adopt_relid))
				return;
			break;
		case T_RenameStmt:
			st.rename_relid = WcCheckRename((RenameStmt *) parsetree);
			break;
		case T_VacuumStmt:
			/* plain VACUUM moves rows first, in transactions of its own */
			WcVacuumMove((VacuumStmt *) parsetree,
						 context == PROCESS_UTILITY_TOPLEVEL);
			break;
		default:
			break;
	}

	wc_run_in_frame(&frame, pstmt, queryString, readOnlyTree, context,
					params, queryEnv, dest, qc);
	wc_finish_statement(&frame, &st);
	if (OidIsValid(st.adopt_relid))
		WcAdoptKeyIndex((IndexStmt *) parsetree, st.adopt_relid);
	if (OidIsValid(st.rename_relid))
		WcRenameKeyIndex(st.rename_relid);
	WcCheckKeyIndexAttach(parsetree);
}

/* Install the ProcessUtility hook (from _PG_init) */
void
WcUtilityInit(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = wc_process_utility;
}
