/*-------------------------------------------------------------------------
 *
 * wc_keyscan.c
 *	  Executor side of the widecol keyscan (WidecolKeyScan): the merge
 *	  iterator over the key index's delta entries and cold runs.  The
 *	  cold runs themselves (the scan's block cache, opening, validating
 *	  and positioning runs) are in wc_ks_runs.c; the state both files
 *	  share is in wc_keyscan.h.
 *
 * The plan (wc_customscan.c) holds the key index conditions in
 * custom_exprs with table Vars, the remaining restrictions in its qual, and
 * the key index OID and scan direction in custom_private.
 *
 * The key index (DESIGN.md 2.7) holds an entry per delta row version, a
 * START and an END entry per run of each cold block (a partition's rows in
 * one row group; TID = the block tuple's physical TOAST TID, its offset
 * tagged with the kind and the run number), and a tombstone hint
 * (cold TID) per cold row with a DELETE/UPDATE tombstone.  Among visible
 * blocks the runs of one partition are disjoint (the mover's invariant,
 * equal keys allowed).  Execution (DESIGN.md 6.4):
 *
 *	  - Conditions.  BeginCustomScan builds btree scan keys from the
 *		conditions (ExecIndexBuildScanKeys; parameters and outer Vars are
 *		runtime keys).  Only keys that bound a contiguous stretch of the
 *		index go to btree: the partition key equalities and the keys on the
 *		first sort key column (all trailing-side bounds and the first
 *		leading-side bound or equality, where the leading side is where the
 *		scan starts).  With those, every run that has rows inside the
 *		stretch has its opening entry (START forward, END backward) inside
 *		it, except one run that may straddle the leading bound.  Every
 *		other condition is checked on each row (the recheck expression, the
 *		same one EvalPlanQual uses), and the plan's qual by ExecScan.
 *	  - Groups.  = ANY(array) keys among them are expanded here, sorted and
 *		deduplicated in scan order, and every combination of elements is
 *		one group: one btree scan with scalar keys (btree's own array
 *		handling would hide where a group starts).
 *	  - Look-ahead.  When a group's leading bound is an inequality, its
 *		btree scan gets the lead in place of the trailing keys (checked on
 *		each entry by hand) and reads on to the first run entry of a
 *		visible block and the entries tied with it: the closing entry of
 *		the run that straddles the bound is among them (wc_ks_look_ahead).
 *		That run joins the merge, positioned by binary search at its first
 *		row at the bound; the entries read ahead go to the merge first.
 *	  - Probe.  Otherwise (an equality lead, more than WC_KS_AHEAD entries
 *		before a run entry, a forward scan that meets no run entry), a
 *		second btree scan in the opposite direction with the partition keys
 *		and the negated bound finds the first run entry of a visible block:
 *		if it is an opening entry (START when scanning forward), that run
 *		straddles the bound and joins the merge.  NULL sort keys meet no
 *		bound: a backward probe that finds nothing looks among the NULL
 *		entries, where a run whose last rows are NULL ends.
 *	  - Merge.  Index entries are read in order with their keys
 *		(xs_want_itup).  A delta entry's row is fetched through the table
 *		AM (heap, with the snapshot and heap's predicate locks); an opening
 *		run entry adds a pending run; a hint marks its block as having
 *		tombstones.  A pending run is opened when it is the next in key
 *		order: the block tuple is read by its physical TID, checked against
 *		the snapshot (invisible or vanished: skipped), opened lazily and
 *		kept in a small cache with its buffer pinned (a row group is
 *		decoded when one of its rows is first read), and the entry is
 *		validated (the block holds a run, the hinted one first, whose
 *		first/last key is the entry's key; a stale entry after slot reuse
 *		is skipped: wc_ks_find_run).  A cold row is emitted
 *		only once the next index entry sorts after it, so hints and delta
 *		rows at its key come first; a block with hints has its tombstones
 *		read (one TOAST index range scan) before its first row is emitted.
 *		A run stops at its first row past a trailing bound.
 *	  - Rows are stored in the scan slot (buffer heap tuples) with their
 *		TID in tts_tid, so UPDATE, DELETE, row locks and EvalPlanQual work;
 *		cold rows get PredicateLockTID as in wc_fetch.c.
 *	  - SERIALIZABLE: every block tuple read and every row of a group
 *		examined gets heap's conflict-out check (wc_serializable.c).  A
 *		tombstone inserted before its hint was read is found, because its
 *		block's tombstones are read after the hint, or again for that row
 *		when the hint comes later (wc_ks_late_hint); a hint inserted after
 *		the scan read its key index page conflicts with btree's predicate
 *		lock on that page.
 *	  - The direction is the plan's, flipped for a backward executor
 *		direction; the planner never asks for backward scans or
 *		mark/restore (no CUSTOMPATH_SUPPORT_* flags), so scroll cursors and
 *		merge joins get a Material node.
 *
 * EXPLAIN shows the partition key conditions (Partition Key), the
 * conditions on sort key columns (Sort Key Range) and the direction; with
 * ANALYZE the delta and cold rows returned, the blocks opened (Blocks
 * Read), the row groups read (Row Groups Decoded, once each; with VERBOSE,
 * how many of them came only from the group cache: Row Groups From Cache, a number
 * that depends on what other scans read before) and the run entries
 * passed over because their block was invisible,
 * gone or did not match (Blocks Skipped), and the key index pages this
 * scan asked the kernel to read ahead, if it was the index's first scan
 * since server start (Key Index Read Ahead, wc_readahead.c).  They are
 * left out when parallel workers ran the scan (the node is not
 * parallel-aware but can run under Gather), because their counters stay
 * in the workers.
 *
 * Locking: the key index is opened with AccessShareLock for the scan, as
 * an IndexScan opens its index, and the TOAST relation and its index with
 * AccessShareLock; the table is locked by the executor.  Block tuples are read with SnapshotAny and checked by
 * hand under a buffer share lock (no predicate lock on the TOAST relation).
 *
 * widecol/wc_keyscan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "executor/nodeIndexscan.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "storage/bufmgr.h"
#include "storage/predicate.h"
#include "utils/array.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "widecol.h"
#include "wc_cold.h"
#include "wc_keyscan.h"

/* A cached probe operator lookup (wc_probe_proc) */
typedef struct WcProbeOp
{
	Oid			opfamily;
	Oid			lefttype;
	Oid			righttype;
	StrategyNumber strategy;
	RegProcedure proc;			/* InvalidOid: no such operator */
} WcProbeOp;

#define WC_PROBE_OPS			8
static WcProbeOp wc_probe_ops[WC_PROBE_OPS];
static int	wc_probe_ops_count = 0;
static bool wc_probe_ops_registered = false;

static Node *wc_keyscan_create_state(CustomScan *cscan);
static void wc_keyscan_begin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *wc_keyscan_exec(CustomScanState *node);
static void wc_keyscan_end(CustomScanState *node);
static void wc_keyscan_rescan(CustomScanState *node);
static void wc_keyscan_explain(CustomScanState *node, List *ancestors,
							   ExplainState *es);

const CustomScanMethods wc_keyscan_scan_methods = {
	.CustomName = WC_KEYSCAN_NAME,
	.CreateCustomScanState = wc_keyscan_create_state,
};

static const CustomExecMethods wc_keyscan_exec_methods = {
	.CustomName = WC_KEYSCAN_NAME,
	.BeginCustomScan = wc_keyscan_begin,
	.ExecCustomScan = wc_keyscan_exec,
	.EndCustomScan = wc_keyscan_end,
	.ReScanCustomScan = wc_keyscan_rescan,
	.ExplainCustomScan = wc_keyscan_explain,
};

/* Context of wc_index_var_mutator */
typedef struct WcIndexVarContext
{
	Index		scanrelid;
	Relation	index;
} WcIndexVarContext;

/* Index column (0-based) of table column attno in the key index, or -1 */
static int
wc_index_column(Relation index, AttrNumber attno)
{
	int			i;

	for (i = 0; i < index->rd_index->indnkeyatts; i++)
	{
		if (index->rd_index->indkey.values[i] == attno)
			return i;
	}
	return -1;
}

/* Replace Vars of the scanned table by INDEX_VAR Vars of index columns */
static Node *
wc_index_var_mutator(Node *node, WcIndexVarContext *context)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var) && ((Var *) node)->varno == context->scanrelid &&
		((Var *) node)->varlevelsup == 0)
	{
		Var		   *var = (Var *) copyObject(node);
		int			col = wc_index_column(context->index, var->varattno);

		if (col < 0)
			elog(ERROR, "column %d is not in key index \"%s\"",
				 var->varattno, RelationGetRelationName(context->index));
		var->varno = INDEX_VAR;
		var->varattno = col + 1;
		return (Node *) var;
	}
	return expression_tree_mutator(node, wc_index_var_mutator, context);
}

/*
 * An index condition in the form ExecIndexBuildScanKeys wants: the indexed
 * side (left operand, row of left operands, or NullTest argument) refers
 * to index columns.  Only the top node and the indexed side are copied:
 * the comparison values stay the plan's, which ExecIndexBuildScanKeys
 * only reads (a copy of them was a tenth of this node's start-up).
 */
static Expr *
wc_fix_index_qual(Expr *clause, WcIndexVarContext *context)
{
	if (IsA(clause, OpExpr))
	{
		OpExpr	   *op = palloc(sizeof(OpExpr));

		*op = *(OpExpr *) clause;
		op->args = list_make2(wc_index_var_mutator(linitial(op->args), context),
							  lsecond(op->args));
		return (Expr *) op;
	}
	if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *saop = palloc(sizeof(ScalarArrayOpExpr));

		*saop = *(ScalarArrayOpExpr *) clause;
		saop->args = list_make2(wc_index_var_mutator(linitial(saop->args), context),
								lsecond(saop->args));
		return (Expr *) saop;
	}
	if (IsA(clause, RowCompareExpr))
	{
		RowCompareExpr *rc = palloc(sizeof(RowCompareExpr));

		*rc = *(RowCompareExpr *) clause;
		rc->largs = (List *) wc_index_var_mutator((Node *) rc->largs, context);
		return (Expr *) rc;
	}
	if (IsA(clause, NullTest))
	{
		NullTest   *nt = palloc(sizeof(NullTest));

		*nt = *(NullTest *) clause;
		nt->arg = (Expr *) wc_index_var_mutator((Node *) nt->arg, context);
		return (Expr *) nt;
	}
	elog(ERROR, "unrecognized key index condition node type: %d",
		 (int) nodeTag(clause));
	return NULL;				/* keep compiler quiet */
}

/* CreateCustomScanState: allocate the state of a keyscan */
static Node *
wc_keyscan_create_state(CustomScan *cscan)
{
	WcKeyScanState *ks = palloc0(sizeof(WcKeyScanState));

	NodeSetTag(ks, T_CustomScanState);
	ks->css.methods = &wc_keyscan_exec_methods;
	return (Node *) ks;
}

/* Is key a plain scalar comparison (no NULL test, no row comparison)? */
static bool
wc_key_is_comparison(ScanKey key)
{
	return !(key->sk_flags & (SK_ROW_HEADER | SK_SEARCHNULL | SK_SEARCHNOTNULL)) &&
		key->sk_strategy >= BTLessStrategyNumber &&
		key->sk_strategy <= BTGreaterStrategyNumber;
}

/* Does a key with strategy bound the side where a scan in dir starts? */
static bool
wc_strategy_leads(StrategyNumber strategy, ScanDirection dir)
{
	if (strategy == BTEqualStrategyNumber)
		return true;
	if (ScanDirectionIsForward(dir))
		return strategy == BTGreaterStrategyNumber ||
			strategy == BTGreaterEqualStrategyNumber;
	return strategy == BTLessStrategyNumber || strategy == BTLessEqualStrategyNumber;
}

/* Flush the probe operator cache (syscache callback) */
static void
wc_probe_ops_flush(Datum arg, int cacheid, uint32 hashvalue)
{
	wc_probe_ops_count = 0;
}

/*
 * The function of the btree operator of an opfamily for a strategy and
 * types, InvalidOid if none: a small cache in front of the syscache
 * lookups, as every key scan with a leading bound needs one for its probe.
 */
static RegProcedure
wc_probe_proc(Oid opfamily, Oid lefttype, Oid righttype, StrategyNumber strategy)
{
	WcProbeOp  *op;
	Oid			opno;
	int			i;

	for (i = 0; i < wc_probe_ops_count; i++)
	{
		op = &wc_probe_ops[i];
		if (op->opfamily == opfamily && op->lefttype == lefttype &&
			op->righttype == righttype && op->strategy == strategy)
			return op->proc;
	}
	if (!wc_probe_ops_registered)
	{
		CacheRegisterSyscacheCallback(AMOPSTRATEGY, wc_probe_ops_flush, (Datum) 0);
		CacheRegisterSyscacheCallback(OPEROID, wc_probe_ops_flush, (Datum) 0);
		wc_probe_ops_registered = true;
	}
	opno = get_opfamily_member(opfamily, lefttype, righttype, strategy);
	if (wc_probe_ops_count < WC_PROBE_OPS)
		op = &wc_probe_ops[wc_probe_ops_count++];
	else
		op = &wc_probe_ops[opno % WC_PROBE_OPS];
	op->opfamily = opfamily;
	op->lefttype = lefttype;
	op->righttype = righttype;
	op->strategy = strategy;
	op->proc = OidIsValid(opno) ? get_opcode(opno) : InvalidOid;
	return op->proc;
}

/*
 * Choose the keys given to btree (file header): partition key equalities,
 * the trailing-side keys on the first sort key column and its first
 * leading-side key, if the opposite operator exists for the probe.
 */
static void
wc_select_keys(WcKeyScanState *ks)
{
	int			i;

	ks->sel = palloc(sizeof(int) * Max(ks->nkeys, 1));
	ks->trail = palloc(sizeof(int) * Max(ks->nkeys, 1));
	ks->lead = -1;
	ks->lead_sel = -1;
	for (i = 0; i < ks->nkeys; i++)
	{
		ScanKey		key = &ks->keys[i];
		int			col = key->sk_attno - 1;

		if (!wc_key_is_comparison(key))
			continue;
		if (col < ks->npk)
		{
			if (key->sk_strategy == BTEqualStrategyNumber)
				ks->sel[ks->nsel++] = i;
			continue;
		}
		if (col != ks->npk || ((key->sk_flags & SK_SEARCHARRAY) &&
							   key->sk_strategy != BTEqualStrategyNumber))
			continue;
		if (!wc_strategy_leads(key->sk_strategy, ks->direction))
			ks->trail[ks->ntrail++] = i;
		else if (ks->lead < 0)
		{
			StrategyNumber neg;
			Oid			right = OidIsValid(key->sk_subtype) ? key->sk_subtype :
				ks->index->rd_opcintype[col];
			RegProcedure proc;

			/* entries before the bound: forward < (or <= for >), mirrored */
			if (ScanDirectionIsForward(ks->direction))
				neg = key->sk_strategy == BTGreaterStrategyNumber ?
					BTLessEqualStrategyNumber : BTLessStrategyNumber;
			else
				neg = key->sk_strategy == BTLessStrategyNumber ?
					BTGreaterEqualStrategyNumber : BTGreaterStrategyNumber;
			proc = wc_probe_proc(ks->index->rd_opfamily[col],
								 ks->index->rd_opcintype[col], right, neg);
			if (!OidIsValid(proc))
				continue;		/* no probe possible: a filter only */
			ks->lead = i;
			ks->neg_strategy = neg;
			ks->neg_proc = proc;
		}
	}
	/* the lead, then the trailing keys (all on one column: any order) */
	if (ks->lead >= 0)
	{
		ks->lead_sel = ks->nsel;
		ks->sel[ks->nsel++] = ks->lead;
	}
	for (i = 0; i < ks->ntrail; i++)
		ks->sel[ks->nsel++] = ks->trail[i];
	ks->look_ahead = ks->lead >= 0 &&
		ks->keys[ks->lead].sk_strategy != BTEqualStrategyNumber;
	ks->btkeys = palloc0(sizeof(ScanKeyData) * Max(ks->nsel, 1));
	if (ks->look_ahead)
		ks->scankeys = palloc(sizeof(ScanKeyData) * ks->nsel);
	ks->nprobe = 0;
	if (ks->lead >= 0)
	{
		for (i = 0; i < ks->nsel; i++)
			if (ks->keys[ks->sel[i]].sk_attno - 1 < ks->npk)
				ks->nprobe++;
		ks->nprobe++;
		ks->probekeys = palloc0(sizeof(ScanKeyData) * ks->nprobe);
	}
}

/* qsort_arg comparator of array elements (arg: SortSupport) */
static int
wc_elem_cmp(const void *a, const void *b, void *arg)
{
	return ApplySortComparator(*(const Datum *) a, false, *(const Datum *) b,
							   false, (SortSupport) arg);
}

/*
 * Expand the selected = ANY(array) keys of this (re)scan: their elements,
 * without NULLs, sorted and deduplicated in scan order.  Sets no_rows if an
 * array is NULL or has no non-NULL element.
 */
static void
wc_expand_arrays(WcKeyScanState *ks, MemoryContext cxt)
{
	int			i;

	ks->narrays = 0;
	ks->no_rows = false;
	for (i = 0; i < ks->nsel; i++)
	{
		ScanKey		key = &ks->keys[ks->sel[i]];
		int			col = key->sk_attno - 1;
		WcKsArray  *arr;
		ArrayType  *array;
		int16		typlen;
		bool		typbyval;
		char		typalign;
		Oid			elemtype;
		Datum	   *elems;
		bool	   *nulls;
		int			n;
		int			j;
		int			k;
		SortSupportData ssup;
		MemoryContext old;

		if (!(key->sk_flags & SK_SEARCHARRAY))
			continue;
		arr = &ks->arrays[ks->narrays++];
		arr->key = ks->sel[i];
		arr->n = 0;
		arr->cur = 0;
		if (key->sk_flags & SK_ISNULL)
		{
			ks->no_rows = true;
			continue;
		}
		old = MemoryContextSwitchTo(cxt);
		array = DatumGetArrayTypeP(key->sk_argument);
		elemtype = ARR_ELEMTYPE(array);
		get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
		deconstruct_array(array, elemtype, typlen, typbyval, typalign,
						  &elems, &nulls, &n);
		for (j = 0, k = 0; j < n; j++)
			if (!nulls[j])
				elems[k++] = elems[j];
		n = k;
		memset(&ssup, 0, sizeof(ssup));
		ssup.ssup_cxt = cxt;
		ssup.ssup_collation = key->sk_collation;
		ssup.ssup_reverse = ScanDirectionIsBackward(ks->direction);
		PrepareSortSupportComparisonShim(get_opfamily_proc(ks->index->rd_opfamily[col],
														   elemtype, elemtype,
														   BTORDER_PROC),
										 &ssup);
		qsort_arg(elems, n, sizeof(Datum), wc_elem_cmp, &ssup);
		for (j = 0, k = 0; j < n; j++)
			if (k == 0 || wc_elem_cmp(&elems[k - 1], &elems[j], &ssup) != 0)
				elems[k++] = elems[j];
		MemoryContextSwitchTo(old);
		arr->elems = elems;
		arr->n = k;
		if (k == 0)
			ks->no_rows = true;
	}
}

/* Advance to the next combination of array elements; false after the last */
static bool
wc_next_combination(WcKeyScanState *ks)
{
	int			i;

	for (i = ks->narrays - 1; i >= 0; i--)
	{
		if (++ks->arrays[i].cur < ks->arrays[i].n)
			return true;
		ks->arrays[i].cur = 0;
	}
	return false;
}

/* Copy keys[k] for btree, substituting the current array element */
static void
wc_group_key(WcKeyScanState *ks, int k, ScanKey dst)
{
	int			i;

	*dst = ks->keys[k];
	for (i = 0; i < ks->narrays; i++)
	{
		if (ks->arrays[i].key == k)
		{
			dst->sk_flags &= ~SK_SEARCHARRAY;
			dst->sk_argument = ks->arrays[i].elems[ks->arrays[i].cur];
		}
	}
}

/*
 * Does an index entry's key fail a trailing bound?  (Only for a group
 * whose btree scan lacks them: wc_ks_look_ahead.)  The lead keeps NULLs
 * out of the scan.
 */
static bool
wc_ks_entry_past_end(WcKeyScanState *ks, Datum *key, bool *null)
{
	int			i;

	for (i = 0; i < ks->ntrail; i++)
	{
		ScanKey		tk = &ks->keys[ks->trail[i]];
		int			col = tk->sk_attno - 1;

		if (!wc_ks_datum_holds(tk, key[col], null[col], false))
			return true;
	}
	return false;
}

/*
 * Read the next index entry of the group into etid/ekey: first the
 * entries read ahead that the look-ahead did not handle, then btree's.
 * An entry past a trailing bound ends the group's stream.
 */
static void
wc_ks_read_entry(WcKeyScanState *ks)
{
	ks->from_ahead = false;
	while (ks->nextahead < ks->nahead)
	{
		WcKsEntry  *e = &ks->ahead[ks->nextahead++];

		if (e->done)
			continue;
		ks->etid = e->tid;
		memcpy(ks->ekey, e->key, sizeof(Datum) * ks->ki->nkeys);
		memcpy(ks->enull, e->null, sizeof(bool) * ks->ki->nkeys);
		ks->from_ahead = true;
		break;
	}
	if (!ks->from_ahead)
	{
		ItemPointer tid = ks->ahead_end ? NULL :
			index_getnext_tid(ks->scan, ks->dir);

		if (tid == NULL)
		{
			ks->stream_done = true;
			return;
		}
		ks->etid = *tid;
		index_deform_tuple(ks->scan->xs_itup, ks->scan->xs_itupdesc, ks->ekey,
						   ks->enull);
	}
	if (ks->open_ended && wc_ks_entry_past_end(ks, ks->ekey, ks->enull))
	{
		ks->stream_done = true;
		return;
	}
	ks->have_entry = true;
}

/*
 * Walk the probe scan (keys already set) away from the leading bound to
 * the first run entry of a visible block, and on through the entries with
 * the same key: btree orders equal keys by TID, not by run, and runs may
 * share a boundary key (a run ending at k, the next starting at k; NULLs
 * all count as equal).  Every opening entry among them joins the merge
 * (the straddling run, and harmlessly runs lying wholly past the bound,
 * whose rows the bound rejects).  Returns false if there is no such entry.
 */
static bool
wc_ks_probe_walk(WcKeyScanState *ks)
{
	ScanDirection back = ScanDirectionIsForward(ks->dir) ?
		BackwardScanDirection : ForwardScanDirection;
	int			opening = ScanDirectionIsForward(ks->dir) ? WC_RUN_START : WC_RUN_END;
	Datum		first[INDEX_MAX_KEYS];
	bool		firstnull[INDEX_MAX_KEYS];
	bool		found = false;
	ItemPointer tid;

	while ((tid = index_getnext_tid(ks->probe, back)) != NULL)
	{
		int			kind = WcTidRunKind(tid);
		Datum		key[INDEX_MAX_KEYS];
		bool		null[INDEX_MAX_KEYS];
		ItemPointerData btid;

		if (kind == 0)
			continue;
		index_deform_tuple(ks->probe->xs_itup, ks->probe->xs_itupdesc, key, null);
		if (found && wc_key_cmp(ks, key, null, first, firstnull) != 0)
			break;
		WcTidRunBlockTid(tid, &btid);
		if (wc_ks_get_block(ks, &btid) == NULL)
		{
			ks->blocks_skipped++;
			continue;
		}
		if (kind == opening)
		{
			wc_ks_add_run(ks, tid, key, null, false);
			if (!wc_ks_open_run(ks, ks->nruns - 1))
				continue;		/* a stale entry: look further */
		}
		if (!found)
		{
			wc_ks_copy_key(ks, key, null, first, firstnull);
			found = true;
		}
	}
	return found;
}

/*
 * Probe for the run straddling the group's leading bound: the first run
 * entry of a visible block before the bound, walking away from it.  If it
 * is an opening entry, that run joins the merge.  NULLs of the first sort
 * key column sort last and meet no bound, so a backward scan whose probe
 * finds nothing also looks at the partition's entries with a NULL there:
 * a run whose last rows are NULL ends among them.
 */
static void
wc_ks_probe(WcKeyScanState *ks)
{
	ScanKey		lead = &ks->probekeys[ks->nprobe - 1];
	int			n = 0;
	int			i;

	for (i = 0; i < ks->nsel; i++)
		if (ks->keys[ks->sel[i]].sk_attno - 1 < ks->npk)
			wc_group_key(ks, ks->sel[i], &ks->probekeys[n++]);
	wc_group_key(ks, ks->lead, lead);
	if (lead->sk_flags & SK_ISNULL)
		return;
	ScanKeyEntryInitialize(lead, 0, lead->sk_attno, ks->neg_strategy,
						   lead->sk_subtype, lead->sk_collation, ks->neg_proc,
						   lead->sk_argument);
	if (ks->probe == NULL)
	{
		ks->probe = index_beginscan(ks->css.ss.ss_currentRelation, ks->index,
									ks->css.ss.ps.state->es_snapshot,
									ks->nprobe, 0);
		ks->probe->xs_want_itup = true;
	}
	index_rescan(ks->probe, ks->probekeys, ks->nprobe, NULL, 0);
	if (wc_ks_probe_walk(ks) || ScanDirectionIsForward(ks->dir))
		return;
	ScanKeyEntryInitialize(lead, SK_ISNULL | SK_SEARCHNULL, lead->sk_attno,
						   InvalidStrategy, InvalidOid, InvalidOid, InvalidOid,
						   (Datum) 0);
	index_rescan(ks->probe, ks->probekeys, ks->nprobe, NULL, 0);
	wc_ks_probe_walk(ks);
}

/*
 * Find the run straddling the group's leading bound with the group's own
 * btree scan, which was given the lead in place of the trailing keys, so
 * that it goes on past the range (a run can straddle both bounds).  Let
 * k be the key of the first run entry of a visible block at or past the
 * bound.  Runs of a partition are disjoint (equal keys allowed), so a
 * straddling run, whose rows cover the bound, has no other run's entry
 * strictly inside its key range: its closing entry (END when scanning
 * forward) is at k, among the entries with that key, which btree orders
 * by TID.  This reads the entries up to k and on through those equal to
 * it into ks->ahead, where the merge reads them afterwards
 * (wc_ks_read_entry).  Every run entry among them is validated (its block
 * visible, a run there opening or closing at its key), holding no block:
 * opening entries are left to the merge, which adds their runs as pending
 * ones, as is a closing entry whose run has no rows before the bound (its
 * opening entry is in the scan too).  The closing entry of a run that has
 * rows before the bound names the straddling run: it alone is opened here,
 * and the walk stops, since no other run can have such rows.  Up
 * to WC_KS_AHEAD entries are read; past them (many fresh rows, or
 * invisible blocks) the probe (wc_ks_probe) finds the run instead.  So it
 * does when a forward scan finds no run entry: NULLs sort last and meet
 * no bound, so a run whose last rows are NULL closes out of btree's sight.
 */
static void
wc_ks_look_ahead(WcKeyScanState *ks)
{
	bool		forward = ScanDirectionIsForward(ks->dir);
	int			opening = forward ? WC_RUN_START : WC_RUN_END;
	WcKsEntry  *first = NULL;

	if (ks->ahead == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(ks->css.ss.ps.state->es_query_cxt);

		ks->ahead = palloc(sizeof(WcKsEntry) * WC_KS_AHEAD);
		MemoryContextSwitchTo(old);
	}
	while (ks->nahead < WC_KS_AHEAD)
	{
		ItemPointer tid = index_getnext_tid(ks->scan, ks->dir);
		Datum		key[INDEX_MAX_KEYS];
		bool		null[INDEX_MAX_KEYS];
		WcKsEntry  *e;
		WcKsRun    *run;
		WcKsBlock  *b;
		WcRunEntry *re;
		int			kind;
		int			r;

		if (tid == NULL)
		{
			/* forward, a run may close among the NULLs: ask the probe */
			ks->ahead_end = true;
			if (first == NULL && forward)
				wc_ks_probe(ks);
			return;
		}
		e = &ks->ahead[ks->nahead++];
		e->tid = *tid;
		e->done = false;
		e->key = MemoryContextAlloc(ks->groupcxt, sizeof(Datum) * ks->ki->nkeys);
		e->null = MemoryContextAlloc(ks->groupcxt, sizeof(bool) * ks->ki->nkeys);
		index_deform_tuple(ks->scan->xs_itup, ks->scan->xs_itupdesc, key, null);
		wc_ks_copy_key(ks, key, null, e->key, e->null);
		if (first != NULL && wc_key_cmp(ks, e->key, e->null, first->key, first->null) != 0)
			return;
		kind = WcTidRunKind(tid);
		if (kind == 0)
			continue;
		/* validate it as opening the run would, without holding the block */
		wc_ks_add_run(ks, tid, e->key, e->null, kind != opening);
		run = &ks->runs[ks->nruns - 1];
		b = wc_ks_get_block(ks, &run->btid);
		r = b != NULL ? wc_ks_find_run(ks, b, run) : -1;
		if (r < 0)
		{
			if (kind != opening)
				ks->blocks_skipped++;	/* the merge counts opening ones */
			wc_ks_drop_run(ks, ks->nruns - 1);
			continue;			/* invisible block, or stale */
		}
		if (first == NULL)
			first = e;
		re = &b->blk->runs[r];
		if (kind == opening ||
			wc_ks_key_holds(ks, &ks->btkeys[ks->lead_sel],
							WcBlockRow(b->blk, forward ? re->first_row :
									   re->first_row + re->nrows - 1),
							forward))
		{
			/* no rows before the bound: its opening entry joins the merge */
			wc_ks_drop_run(ks, ks->nruns - 1);
			continue;
		}
		/* the straddling run: no other run can have rows before the bound */
		if (wc_ks_open_run(ks, ks->nruns - 1))
		{
			e->done = true;
			return;
		}
	}
	wc_ks_probe(ks);
}

/*
 * Begin the current group: btree keys of its elements, then the run
 * straddling its leading bound (look-ahead or probe).  A NULL comparison
 * value meets no row: the group is empty.
 */
static void
wc_ks_begin_group(WcKeyScanState *ks)
{
	bool		empty = false;
	int			i;

	MemoryContextReset(ks->groupcxt);
	ks->opened = NIL;
	while (ks->nruns > 0)
		wc_ks_drop_run(ks, ks->nruns - 1);
	for (i = 0; i < ks->nsel; i++)
	{
		wc_group_key(ks, ks->sel[i], &ks->btkeys[i]);
		if (ks->btkeys[i].sk_flags & SK_ISNULL)
			empty = true;
	}
	ks->have_entry = false;
	ks->stream_done = empty;
	ks->in_group = true;
	ks->nahead = ks->nextahead = 0;
	ks->ahead_end = false;
	ks->open_ended = !empty && ks->look_ahead && ks->dir == ks->direction;
	if (empty)
		return;
	if (!ks->open_ended)
	{
		index_rescan(ks->scan, ks->btkeys, ks->nsel, NULL, 0);
		if (ks->lead >= 0)
			wc_ks_probe(ks);
		return;
	}
	/* btree takes a fixed number of keys: repeat the lead for the others */
	memcpy(ks->scankeys, ks->btkeys, sizeof(ScanKeyData) * ks->nsel);
	for (i = ks->lead_sel + 1; i < ks->nsel; i++)
		ks->scankeys[i] = ks->btkeys[ks->lead_sel];
	index_rescan(ks->scan, ks->scankeys, ks->nsel, NULL, 0);
	wc_ks_look_ahead(ks);
}

/*
 * The recheck expression, compiled when first needed: most scans give
 * btree every condition, and only EvalPlanQual rechecks their rows.
 */
static ExprState *
wc_ks_recheck_expr(WcKeyScanState *ks)
{
	if (!ks->recheck_ready)
	{
		MemoryContext old = MemoryContextSwitchTo(ks->css.ss.ps.state->es_query_cxt);

		ks->recheck = ExecInitQual(((CustomScan *) ks->css.ss.ps.plan)->custom_exprs,
								   &ks->css.ss.ps);
		ks->recheck_ready = true;
		MemoryContextSwitchTo(old);
	}
	return ks->recheck;
}

/* Do the conditions btree did not check hold for the row in slot? */
static bool
wc_ks_recheck_row(WcKeyScanState *ks, TupleTableSlot *slot)
{
	ExprContext *econtext = ks->css.ss.ps.ps_ExprContext;
	bool		ok;

	econtext->ecxt_scantuple = slot;
	ok = ExecQual(wc_ks_recheck_expr(ks), econtext);
	ResetExprContext(econtext);
	return ok;
}

/*
 * A hint for cold row tid, read after the row's block had its tombstones
 * read: the tombstone is a concurrent writer's (one the snapshot sees was
 * there before).  Under SERIALIZABLE read it, so that emitting the row
 * records the conflict out; the writer's check of the key index page this
 * scan has locked covers a hint that is not there yet.
 */
static void
wc_ks_late_hint(WcKeyScanState *ks, ItemPointer tid)
{
	Relation	rel = ks->css.ss.ss_currentRelation;
	Snapshot	snapshot = ks->css.ss.ps.state->es_snapshot;
	int			row = WcTidRow(tid);
	int			i;

	if (!CheckForSerializableConflictOutNeeded(rel, snapshot))
		return;
	for (i = 0; i < WC_KS_CACHE_SIZE; i++)
	{
		WcKsBlock  *b = &ks->cache[i];
		TransactionId deleter;

		if (b->blockid != WcTidBlock(tid) || !b->hidden_ready ||
			row >= b->blk->nrows)
			continue;
		WcRowHidden(&ks->st, b->blockid, row, snapshot, &deleter);
		if (TransactionIdIsValid(deleter))
			b->deleters[row] = deleter;
	}
}

/*
 * Emit the next row of run i into slot if it is visible, not hidden and
 * meets the conditions; advance the run.  Returns true if slot holds it.
 */
static bool
wc_ks_emit_cold(WcKeyScanState *ks, int i, TupleTableSlot *slot)
{
	WcKsRun    *run = &ks->runs[i];
	WcKsBlock  *b = run->b;
	Relation	rel = ks->css.ss.ss_currentRelation;
	Snapshot	snapshot = ks->css.ss.ps.state->es_snapshot;
	int			row = run->pos;
	HeapTuple	tup = WcBlockRow(b->blk, row);
	int			step = ScanDirectionIsForward(ks->dir) ? 1 : -1;

	if (wc_ks_past_end(ks, tup))
	{
		wc_ks_drop_run(ks, i);
		return false;
	}
	run->pos += step;
	if (run->pos == run->stop)
		wc_ks_drop_run(ks, i);
	else
		wc_row_key(ks, WcBlockRow(b->blk, run->pos), run->key, run->null);

	if (!b->hidden_ready && list_member_oid(ks->hinted, b->blockid))
	{
		if (b->hidden == NULL)
		{
			MemoryContext old = MemoryContextSwitchTo(ks->css.ss.ps.state->es_query_cxt);

			b->hidden = palloc(sizeof(bool) * WC_MAX_BLOCK_ROWS);
			b->deleters = palloc(sizeof(TransactionId) * WC_MAX_BLOCK_ROWS);
			MemoryContextSwitchTo(old);
		}
		wc_ks_open_storage(ks);
		WcHiddenRows(&ks->st, b->blockid, snapshot, b->hidden, b->deleters);
		b->hidden_ready = true;
	}
	if (!wc_ks_row_in_group(ks, tup))
		return false;
	if (b->hidden_ready)
	{
		WcRowConflictOut(rel, tup, !b->hidden[row], b->deleters[row], snapshot);
		if (b->hidden[row])
			return false;
	}
	ExecStoreBufferHeapTuple(tup, slot, b->buf);
	slot->tts_tableOid = RelationGetRelid(rel);
	if (ks->nsel < ks->nkeys && !wc_ks_recheck_row(ks, slot))
	{
		ExecClearTuple(slot);
		return false;
	}
	if (IsMVCCSnapshot(snapshot))
		PredicateLockTID(rel, &tup->t_self, snapshot,
						 HeapTupleHeaderGetXmin(b->btup.t_data));
	ks->cold_rows++;
	return true;
}

/* Start the scan: evaluate array keys, begin the first group */
static void
wc_ks_start(WcKeyScanState *ks)
{
	MemoryContextReset(ks->arraycxt);
	wc_expand_arrays(ks, ks->arraycxt);
	ks->started = true;
	ks->in_group = false;
	if (!ks->no_rows)
		wc_ks_begin_group(ks);
}

/* ExecScan access method: the next row in key order (file header) */
static TupleTableSlot *
wc_keyscan_next(ScanState *ss)
{
	WcKeyScanState *ks = (WcKeyScanState *) ss;
	ScanDirection direction = ss->ps.state->es_direction;
	TupleTableSlot *slot = ss->ss_ScanTupleSlot;
	bool		delta_recheck = ks->nsel < ks->nkeys;

	if (ScanDirectionIsBackward(ks->direction))
		direction = ScanDirectionIsForward(direction) ? BackwardScanDirection :
			ScanDirectionIsBackward(direction) ? ForwardScanDirection : direction;
	ks->dir = direction;
	if (!ks->started)
		wc_ks_start(ks);

	while (ks->in_group)
	{
		int			best;

		CHECK_FOR_INTERRUPTS();
		if (!ks->have_entry && !ks->stream_done)
			wc_ks_read_entry(ks);
		best = wc_ks_best_run(ks);
		if (best >= 0 &&
			(!ks->have_entry ||
			 (ScanDirectionIsForward(ks->dir) ? 1 : -1) *
			 wc_key_cmp(ks, ks->ekey, ks->enull, ks->runs[best].key,
						ks->runs[best].null) > 0))
		{
			if (wc_ks_emit_cold(ks, best, slot))
				return slot;
			continue;
		}
		if (!ks->have_entry)
		{
			/* group exhausted: next combination of array elements */
			ks->in_group = false;
			if (wc_next_combination(ks))
				wc_ks_begin_group(ks);
			continue;
		}

		ks->have_entry = false;
		if (WcTidIsDelta(&ks->etid))
		{
			bool		found;

			/* btree may be past an entry read ahead: name it, keep it */
			ks->scan->xs_heaptid = ks->etid;
			ks->scan->xs_heap_continue = false;
			found = index_fetch_heap(ks->scan, slot);
			if (ks->from_ahead)
				ks->scan->kill_prior_tuple = false;
			if (found && (!delta_recheck || wc_ks_recheck_row(ks, slot)))
			{
				ks->delta_rows++;
				return slot;
			}
		}
		else if (WcTidIsCold(&ks->etid))
		{
			MemoryContext old = MemoryContextSwitchTo(ks->css.ss.ps.state->es_query_cxt);

			ks->hinted = list_append_unique_oid(ks->hinted, WcTidBlock(&ks->etid));
			MemoryContextSwitchTo(old);
			wc_ks_late_hint(ks, &ks->etid);
		}
		else if (WcTidRunKind(&ks->etid) ==
				 (ScanDirectionIsForward(ks->dir) ? WC_RUN_START : WC_RUN_END))
			wc_ks_add_run(ks, &ks->etid, ks->ekey, ks->enull, false);
	}
	return ExecClearTuple(slot);
}
/* BeginCustomScan: open the key index and build its scan keys */
static void
wc_keyscan_begin(CustomScanState *node, EState *estate, int eflags)
{
	WcKeyScanState *ks = (WcKeyScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	Relation	table = node->ss.ss_currentRelation;
	WcIndexVarContext context;
	List	   *fixed = NIL;
	ListCell   *lc;
	int			i;

	/*
	 * ExecInitCustomScan gave us a virtual scan slot, which has no system
	 * columns (ctid for UPDATE/DELETE and row marks) and is not the slot
	 * type the table AM fetches into.  Replace it by the table's own slot
	 * type and rebuild what was compiled against the old one.
	 */
	ExecInitScanTupleSlot(estate, &node->ss, RelationGetDescr(table),
						  table_slot_callbacks(table));
	ExecAssignScanProjectionInfoWithVarno(&node->ss, cscan->scan.scanrelid);
	node->ss.ps.qual = ExecInitQual(cscan->scan.plan.qual, &node->ss.ps);

	ks->index = index_open(linitial_oid(cscan->custom_private), AccessShareLock);
	ks->direction = lsecond_oid(cscan->custom_private) == WC_KEYSCAN_BACKWARD ?
		BackwardScanDirection : ForwardScanDirection;
	ks->npk = WcGetKeyIndexInfo(table)->npk;

	context.scanrelid = cscan->scan.scanrelid;
	context.index = ks->index;
	foreach(lc, cscan->custom_exprs)
		fixed = lappend(fixed, wc_fix_index_qual(lfirst(lc), &context));
	ExecIndexBuildScanKeys(&node->ss.ps, ks->index, fixed, false,
						   &ks->keys, &ks->nkeys,
						   &ks->runtime_keys, &ks->nruntime_keys,
						   NULL, NULL);

	/* runtime keys get their own context, reset at every rescan */
	if (ks->nruntime_keys > 0)
	{
		ExprContext *stdecontext = node->ss.ps.ps_ExprContext;

		ExecAssignExprContext(estate, &node->ss.ps);
		ks->runtime_cxt = node->ss.ps.ps_ExprContext;
		node->ss.ps.ps_ExprContext = stdecontext;
	}

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	ks->ki = WcKeyInfoCached(table);
	wc_select_keys(ks);
	ks->arrays = palloc0(sizeof(WcKsArray) * Max(ks->nsel, 1));
	ks->maxruns = 4;
	ks->runs = palloc(sizeof(WcKsRun) * ks->maxruns);
	for (i = 0; i < WC_KS_PREFETCHED; i++)
		ks->prefetched[i] = InvalidBlockNumber;
	ks->groupcxt = AllocSetContextCreate(CurrentMemoryContext, "widecol keyscan group",
										 ALLOCSET_SMALL_SIZES);
	ks->arraycxt = AllocSetContextCreate(CurrentMemoryContext, "widecol keyscan arrays",
										 ALLOCSET_SMALL_SIZES);
	/* opened here, outside the node's timing and buffer counts */
	if (WcStorageExists(table))
		wc_ks_open_storage(ks);
	ks->readahead = WcKeyIndexReadAhead(ks->index);
	ks->scan = index_beginscan(table, ks->index, estate->es_snapshot,
							   ks->nsel, 0);
	ks->scan->xs_want_itup = true;
	ks->runtime_keys_ready = ks->nruntime_keys == 0;
}

/* ExecScan recheck method: does an EPQ row version meet the conditions */
static bool
wc_keyscan_recheck(ScanState *ss, TupleTableSlot *slot)
{
	WcKeyScanState *ks = (WcKeyScanState *) ss;
	ExprContext *econtext = ss->ps.ps_ExprContext;

	econtext->ecxt_scantuple = slot;
	return ExecQualAndReset(wc_ks_recheck_expr(ks), econtext);
}

/* ExecCustomScan: next row passing the qual, projected */
static TupleTableSlot *
wc_keyscan_exec(CustomScanState *node)
{
	WcKeyScanState *ks = (WcKeyScanState *) node;

	if (!ks->runtime_keys_ready)
		wc_keyscan_rescan(node);
	return ExecScan(&node->ss, wc_keyscan_next, wc_keyscan_recheck);
}

/* Drop the merge state of a scan (runs, group); the block cache stays */
static void
wc_ks_reset(WcKeyScanState *ks)
{
	while (ks->nruns > 0)
		wc_ks_drop_run(ks, ks->nruns - 1);
	ks->started = false;
	ks->in_group = false;
	ks->have_entry = false;
	ks->stream_done = false;
}

/* ReScanCustomScan: new parameter values, restart from the first group */
static void
wc_keyscan_rescan(CustomScanState *node)
{
	WcKeyScanState *ks = (WcKeyScanState *) node;

	if (ks->nruntime_keys > 0)
	{
		ResetExprContext(ks->runtime_cxt);
		ExecIndexEvalRuntimeKeys(ks->runtime_cxt, ks->runtime_keys,
								 ks->nruntime_keys);
	}
	ks->runtime_keys_ready = true;
	if (ks->scan != NULL)
		wc_ks_reset(ks);
	ExecScanReScan(&node->ss);
}

/* EndCustomScan: close the scans, release cached blocks, close the index */
static void
wc_keyscan_end(CustomScanState *node)
{
	WcKeyScanState *ks = (WcKeyScanState *) node;
	int			i;

	if (ks->scan != NULL)
	{
		wc_ks_reset(ks);
		if (node->ss.ss_ScanTupleSlot != NULL)
			ExecClearTuple(node->ss.ss_ScanTupleSlot);
		for (i = 0; i < WC_KS_CACHE_SIZE; i++)
			if (OidIsValid(ks->cache[i].blockid))
				ReleaseBuffer(ks->cache[i].buf);
		if (ks->probe != NULL)
			index_endscan(ks->probe);
		index_endscan(ks->scan);
		if (ks->storage_open)
			WcStorageClose(&ks->st);
	}
	index_close(ks->index, NoLock);
}

/* Index column of the indexed side of a key index condition */
static int
wc_condition_column(Expr *clause, Index scanrelid, Relation index)
{
	List	   *vars = pull_var_clause((Node *) clause, 0);
	ListCell   *lc;

	foreach(lc, vars)
	{
		Var		   *var = lfirst(lc);

		if (var->varno == scanrelid)
			return wc_index_column(index, var->varattno);
	}
	return -1;
}

/* Show a list of conditions as one property */
static void
wc_explain_conditions(const char *label, List *conditions, List *context,
					  ExplainState *es)
{
	if (conditions == NIL)
		return;
	ExplainPropertyText(label,
						deparse_expression((Node *) make_ands_explicit(conditions),
										   context, es->verbose, false),
						es);
}

/* ExplainCustomScan: partition key, sort key range, direction, counters */
static void
wc_keyscan_explain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	WcKeyScanState *ks = (WcKeyScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	List	   *context;
	List	   *partition = NIL;
	List	   *range = NIL;
	ListCell   *lc;

	foreach(lc, cscan->custom_exprs)
	{
		Expr	   *clause = lfirst(lc);

		/* a row comparison is a range even when it starts at a key column */
		if (!IsA(clause, RowCompareExpr) &&
			wc_condition_column(clause, cscan->scan.scanrelid, ks->index) < ks->npk)
			partition = lappend(partition, clause);
		else
			range = lappend(range, clause);
	}
	context = set_deparse_context_plan(es->deparse_cxt, node->ss.ps.plan, ancestors);
	wc_explain_conditions("Partition Key", partition, context, es);
	wc_explain_conditions("Sort Key Range", range, context, es);
	ExplainPropertyText("Scan Direction",
						ScanDirectionIsBackward(ks->direction) ? "Backward" : "Forward",
						es);
	/* counters live in the process that ran the scan: none from workers */
	if (es->analyze && node->ss.ps.worker_instrument == NULL)
	{
		uint64		groups = ks->groups_decoded;
		uint64		cached = ks->groups_cached;
		int			i;

		for (i = 0; i < WC_KS_CACHE_SIZE; i++)
			if (OidIsValid(ks->cache[i].blockid))
			{
				groups += ks->cache[i].blk->groups_decoded;
				cached += ks->cache[i].blk->groups_cached;
			}
		ExplainPropertyInteger("Delta Rows", NULL, (int64) ks->delta_rows, es);
		ExplainPropertyInteger("Cold Rows", NULL, (int64) ks->cold_rows, es);
		ExplainPropertyInteger("Blocks Read", NULL, (int64) ks->blocks_read, es);
		ExplainPropertyInteger("Row Groups Decoded", NULL, (int64) groups, es);
		if (es->verbose && WcGroupCacheEnabled())
			ExplainPropertyInteger("Row Groups From Cache", NULL, (int64) cached, es);
		ExplainPropertyInteger("Blocks Skipped", NULL, (int64) ks->blocks_skipped, es);
		if (ks->readahead > 0)
			ExplainPropertyInteger("Key Index Read Ahead", "pages",
								   (int64) ks->readahead, es);
	}
}

/* Register the plan node methods (from _PG_init) */
void
WcKeyScanInit(void)
{
	RegisterCustomScanMethods(&wc_keyscan_scan_methods);
}
