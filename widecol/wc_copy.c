/*-------------------------------------------------------------------------
 *
 * wc_copy.c
 *	  COPY FROM straight into cold blocks: the bulk load path.
 *
 * A COPY FROM into a widecol table normally inserts every row into the
 * delta (a heap insert plus a key index entry per row) and leaves it to the
 * mover to compress them later.  When nothing in the table needs to see
 * rows one at a time, the ProcessUtility hook (wc_utility.c) hands the
 * statement here instead, and the rows skip the delta:
 *
 *	  1. the statement is checked as DoCopy checks it (server file and
 *		 program privileges, INSERT privilege on the columns, read-only and
 *		 parallel mode), then parsed by core's BeginCopyFrom/NextCopyFrom,
 *		 so every COPY format and option, defaults and input errors (with
 *		 their "COPY t, line N" context) behave as in core;
 *	  2. each row is checked against the table's constraints
 *		 (ExecConstraints) and formed into a heap tuple in a batch bounded by
 *		 maintenance_work_mem, as the mover's batches are;
 *	  3. a full batch is sorted by (partition key, sort key) and written as
 *		 compressed blocks (wc_block.c) under fresh block ids, each row
 *		 getting an entry with its cold TID in every index; rows too large
 *		 for a block go to the delta as usual.
 * The blocks are tuples of the TOAST relation inserted by the loading
 * transaction, so the load is atomic: it becomes visible at commit and
 * vanishes on abort, with heap's WAL (DESIGN.md 3.2).  Blocks written here
 * carry WC_BLOCK_LOADED: their rows are new, so a snapshot sees them only
 * if it sees the block (wc_cold.c), unlike moved rows.
 *
 * The path is taken only when the table is a plain widecol table (not a
 * partition, not partitioned) with no triggers (foreign keys included),
 * no unique or exclusion index, no stored generated column, no row-level
 * security and no publication, the statement has no WHERE clause and no
 * FREEZE, and widecol.copy_direct is on; anything else takes core's COPY.
 * Hooks of extensions loaded before widecol do not see the statement.
 *
 * Locking: RowExclusiveLock on the table, as core's COPY FROM; the TOAST
 * relation and the indexes are opened with RowExclusiveLock for inserts.
 *
 * widecol/wc_copy.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "commands/copy.h"
#include "commands/progress.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "parser/parse_relation.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/predicate.h"
#include "storage/procarray.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/backend_progress.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/tuplesort.h"

#include "widecol.h"
#include "wc_cold.h"

/*
 * A batch is sorted in maintenance_work_mem (spilling to temporary files)
 * and holds up to this many times as many bytes: the larger the batch, the
 * longer each partition's runs.
 */
#define WC_COPY_SORT_FACTOR		16

/* widecol.copy_direct: COPY FROM may write cold blocks directly */
bool		wc_copy_direct = true;

typedef struct WcCopyState
{
	Relation	rel;
	WcKeyInfo  *keys;
	WcStorage	st;
	WcIndexInserter *ins;		/* run entries and cold entries */
	Relation	keyidx;			/* the key index */
	TransactionId horizon;		/* blocks dead before it do not count */
	bool		zstd;
	int			level;
	Tuplesortstate *sort;		/* rows of the current batch, or NULL */
	Size		batch_bytes;	/* raw bytes put into the sort */
	TupleTableSlot *outslot;	/* sorted rows come back through it */
	MemoryContext keycxt;		/* the current partition's first row and tail */
	/* inserts into the delta, with every index maintained by the executor */
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
	CommandId	cid;
	BulkInsertState bistate;
	uint64		ndelta;
} WcCopyState;


/* True if the statement's options ask for FREEZE */
static bool
wc_copy_wants_freeze(List *options)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (strcmp(def->defname, "freeze") == 0)
			return true;
	}
	return false;
}

/* True if rel has a unique or exclusion index */
static bool
wc_copy_has_unique_index(Relation rel)
{
	List	   *oids = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, oids)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);

		found = idx->rd_index->indisunique || idx->rd_index->indisexclusion;
		index_close(idx, AccessShareLock);
		if (found)
			break;
	}
	list_free(oids);
	return found;
}

/* True if rows loaded into rel need nothing the direct path skips */
static bool
wc_copy_eligible(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);

	return rel->rd_tableam == WcGetRoutine() &&
		rel->rd_rel->relkind == RELKIND_RELATION &&
		!rel->rd_rel->relispartition &&
		rel->trigdesc == NULL &&
		OidIsValid(WcGetKeyIndexInfo(rel)->keyindex) &&
		(desc->constr == NULL || !desc->constr->has_generated_stored) &&
		check_enable_rls(RelationGetRelid(rel), InvalidOid, true) != RLS_ENABLED &&
		!WcTableIsPublished(rel) &&
		!wc_copy_has_unique_index(rel);
}

/* Raise 42501 as DoCopy does for server-side files and programs */
static void
wc_copy_check_source(const CopyStmt *stmt)
{
	if (stmt->filename == NULL)
		return;
	if (stmt->is_program)
	{
		if (!has_privs_of_role(GetUserId(), ROLE_PG_EXECUTE_SERVER_PROGRAM))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be superuser or have privileges of the pg_execute_server_program role to COPY to or from an external program"),
					 errhint("Anyone can COPY to stdout or from stdin. "
							 "psql's \\copy command also works for anyone.")));
	}
	else if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be superuser or have privileges of the pg_read_server_files role to COPY from a file"),
				 errhint("Anyone can COPY to stdout or from stdin. "
						 "psql's \\copy command also works for anyone.")));
}

/* Flush callback of the block builder: store a block of loaded rows */
static void
wc_copy_flush(void *arg, WcBlockBuilder *b, int nrows, HeapTuple *rows,
			  ItemPointer srctids)
{
	WcCopyState *cs = (WcCopyState *) arg;
	uint32		raw_size;
	Size		stored_size;
	int			i;

	WcStoreBlock(&cs->st, cs->ins, b, rows, nrows, WC_BLOCK_LOADED,
				 &raw_size, &stored_size);
	/* the builder is done with the rows it flushed */
	for (i = 0; i < nrows; i++)
		heap_freetuple(rows[i]);
}

/* Start sorting a batch by the table's keys */
static void
wc_copy_begin_batch(WcCopyState *cs)
{
	cs->sort = tuplesort_begin_heap(RelationGetDescr(cs->rel), cs->keys->nkeys,
									cs->keys->attnums, cs->keys->sortops,
									cs->keys->collations, cs->keys->nullsfirst,
									maintenance_work_mem, NULL, TUPLESORT_NONE);
	cs->batch_bytes = 0;
}

/* Insert the row in slot into the delta, with entries in every index */
static void
wc_copy_to_delta(WcCopyState *cs, TupleTableSlot *slot)
{
	table_tuple_insert(cs->rel, slot, cs->cid, 0, cs->bistate);
	ExecInsertIndexTuples(cs->rri, slot, cs->estate, false, false, NULL, NIL);
	cs->ndelta++;
}

/*
 * Sort the batch and write it as blocks.  A row whose key sorts before the
 * last cold key of its partition goes to the delta instead, so that the
 * partition's runs stay disjoint (DESIGN.md 2.7), as the mover does.
 */
static void
wc_copy_process_batch(WcCopyState *cs)
{
	TupleDesc	desc = RelationGetDescr(cs->rel);
	WcBlockBuilder *b;
	ItemPointerData none;
	HeapTuple	first = NULL;	/* first row of the current partition */
	Datum		last[INDEX_MAX_KEYS];
	bool		lastnull[INDEX_MAX_KEYS];
	bool		has_last = false;

	if (cs->sort == NULL)
		return;
	tuplesort_performsort(cs->sort);
	ItemPointerSetInvalid(&none);
	b = WcBuilderBegin(cs->rel, cs->keys, cs->zstd, cs->level, wc_copy_flush, cs);
	while (tuplesort_gettupleslot(cs->sort, true, false, cs->outslot, NULL))
	{
		/* a copy the flush callback frees */
		HeapTuple	tup = ExecCopySlotHeapTuple(cs->outslot);

		CHECK_FOR_INTERRUPTS();
		if (first == NULL ||
			WcKeyCompare(cs->keys, first, tup, desc, cs->keys->npk) != 0)
		{
			MemoryContext old;

			MemoryContextReset(cs->keycxt);
			old = MemoryContextSwitchTo(cs->keycxt);
			first = heap_copytuple(tup);
			MemoryContextSwitchTo(old);
			has_last = WcLastColdKey(cs->rel, cs->keyidx, &cs->st, cs->keys,
									 cs->horizon, tup, last, lastnull,
									 cs->keycxt, NULL, NULL);
		}
		if (has_last && WcRowVsKey(cs->keys, desc, tup, last, lastnull) < 0)
		{
			ExecForceStoreHeapTuple(tup, cs->slot, true);
			wc_copy_to_delta(cs, cs->slot);
			ExecClearTuple(cs->slot);
			continue;
		}
		WcBuilderAdd(b, tup, &none);
	}
	WcBuilderFinish(b);
	pfree(b);
	tuplesort_end(cs->sort);
	cs->sort = NULL;
}

/* Read every row of cstate into rel; returns the number of rows */
static uint64
wc_copy_load(WcCopyState *cs, CopyFromState cstate, ParseState *pstate)
{
	Relation	rel = cs->rel;
	EState	   *estate = CreateExecutorState();
	ExprContext *econtext = GetPerTupleExprContext(estate);
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	TupleTableSlot *slot;
	TupleDesc	desc = RelationGetDescr(rel);
	Size		batch_limit = (Size) maintenance_work_mem * 1024 * WC_COPY_SORT_FACTOR;
	ErrorContextCallback errcb;
	uint64		processed = 0;
	bool		has_constr = desc->constr != NULL;

	ExecInitRangeTable(estate, pstate->p_rtable);
	ExecInitResultRelation(estate, rri, 1);
	CheckValidResultRel(rri, CMD_INSERT);
	ExecOpenIndices(rri, false);
	slot = table_slot_create(rel, &estate->es_tupleTable);
	cs->estate = estate;
	cs->rri = rri;
	cs->slot = slot;
	cs->cid = GetCurrentCommandId(true);
	cs->bistate = GetBulkInsertState();
	cs->outslot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	cs->keycxt = AllocSetContextCreate(CurrentMemoryContext, "widecol copy keys",
									   ALLOCSET_SMALL_SIZES);

	/* inserts conflict with SERIALIZABLE readers of the whole relation */
	CheckForSerializableConflictIn(rel, NULL, InvalidBlockNumber);

	errcb.callback = CopyFromErrorCallback;
	errcb.arg = (void *) cstate;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	for (;;)
	{
		MemoryContext old;
		Size		rowsize;

		CHECK_FOR_INTERRUPTS();
		ResetPerTupleExprContext(estate);
		ExecClearTuple(slot);
		old = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
		if (!NextCopyFrom(cstate, econtext, slot->tts_values, slot->tts_isnull))
		{
			MemoryContextSwitchTo(old);
			break;
		}
		ExecStoreVirtualTuple(slot);
		MemoryContextSwitchTo(old);
		slot->tts_tableOid = RelationGetRelid(rel);
		if (has_constr)
			ExecConstraints(rri, slot, estate);
		/* at least the t_len of the tuple the block would store */
		rowsize = MAXALIGN(SizeofHeapTupleHeader + BITMAPLEN(desc->natts)) +
			heap_compute_data_size(desc, slot->tts_values, slot->tts_isnull);
		if (rowsize > WC_MAX_COLD_ROW)
			wc_copy_to_delta(cs, slot);
		else
		{
			if (cs->sort == NULL)
				wc_copy_begin_batch(cs);
			tuplesort_puttupleslot(cs->sort, slot);
			cs->batch_bytes += rowsize;
			if (cs->batch_bytes >= batch_limit)
				wc_copy_process_batch(cs);
		}
		pgstat_progress_update_param(PROGRESS_COPY_TUPLES_PROCESSED, ++processed);
	}
	wc_copy_process_batch(cs);
	error_context_stack = errcb.previous;

	FreeBulkInsertState(cs->bistate);
	ExecDropSingleTupleTableSlot(cs->outslot);
	MemoryContextDelete(cs->keycxt);
	ExecResetTupleTable(estate->es_tupleTable, false);
	ExecCloseResultRelations(estate);
	ExecCloseRangeTableRelations(estate);
	FreeExecutorState(estate);
	/* heap counted the rows it inserted into the delta */
	pgstat_count_heap_insert(rel, (PgStat_Counter) (processed - cs->ndelta));
	return processed;
}

/*
 * Run a COPY FROM into a widecol table through the direct path if it
 * applies: returns false (having done nothing visible) when core's COPY
 * must run instead.
 */
bool
WcCopyFrom(const CopyStmt *stmt, const char *queryString,
		   QueryEnvironment *queryEnv, uint64 *processed)
{
	ParseState *pstate;
	Oid			relid;
	Relation	rel;
	ParseNamespaceItem *nsitem;
	RangeTblEntry *rte;
	List	   *attnums;
	ListCell   *lc;
	CopyFromState cstate;
	WcCopyState cs;
	WcKeys		opts;

	if (!wc_copy_direct || !stmt->is_from || stmt->relation == NULL ||
		stmt->whereClause != NULL || wc_copy_wants_freeze(stmt->options) ||
		XactReadOnly || IsInParallelMode())
		return false;
	relid = RangeVarGetRelid(stmt->relation, RowExclusiveLock, true);
	if (!OidIsValid(relid))
		return false;
	rel = table_open(relid, NoLock);
	if (!wc_copy_eligible(rel))
	{
		table_close(rel, NoLock);
		return false;
	}
	/*
	 * One writer of blocks at a time (the mover takes the same lock): two
	 * loads writing runs of one partition at once could overlap.  A busy
	 * table takes core's COPY instead of waiting.
	 */
	if (!ConditionalLockRelationOid(relid, ShareUpdateExclusiveLock))
	{
		table_close(rel, NoLock);
		return false;
	}

	/* DoCopy's checks */
	wc_copy_check_source(stmt);
	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = queryString;
	pstate->p_queryEnv = queryEnv;
	nsitem = addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock,
										   NULL, false, false);
	rte = nsitem->p_rte;
	rte->requiredPerms = ACL_INSERT;
	attnums = CopyGetAttnums(RelationGetDescr(rel), rel, stmt->attlist);
	foreach(lc, attnums)
		rte->insertedCols = bms_add_member(rte->insertedCols,
										   lfirst_int(lc) - FirstLowInvalidHeapAttributeNumber);
	ExecCheckRTPerms(pstate->p_rtable, true);

	memset(&cs, 0, sizeof(cs));
	cs.rel = rel;
	cs.keys = WcKeyInfoBuild(rel);
	WcReadStoredKeys(relid, &opts);
	WcKeysCompression(&opts, &cs.zstd, &cs.level);

	cstate = BeginCopyFrom(pstate, rel, NULL, stmt->filename, stmt->is_program,
						   NULL, stmt->attlist, stmt->options);
	WcStorageOpen(&cs.st, rel, RowExclusiveLock);
	cs.st.bistate = GetBulkInsertState();
	cs.ins = WcIndexInserterBegin(rel);
	cs.keyidx = index_open(WcGetKeyIndexInfo(rel)->keyindex, AccessShareLock);
	cs.horizon = GetOldestNonRemovableTransactionId(rel);
	*processed = wc_copy_load(&cs, cstate, pstate);
	index_close(cs.keyidx, AccessShareLock);
	WcIndexInserterEnd(cs.ins);
	WcStorageClose(&cs.st);
	EndCopyFrom(cstate);

	free_parsestate(pstate);
	table_close(rel, NoLock);
	return true;
}
