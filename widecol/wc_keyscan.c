/*-------------------------------------------------------------------------
 *
 * wc_keyscan.c
 *	  Executor side of the widecol keyscan (WidecolKeyScan).
 *
 * The plan (wc_customscan.c) holds the key index conditions in
 * custom_exprs with table Vars, the remaining restrictions in its qual, and
 * the key index OID and scan direction in custom_private.  Execution is an
 * ordered scan of the key index:
 *
 *	  - BeginCustomScan copies the conditions with each indexed column
 *		replaced by an INDEX_VAR Var of its index column (the form
 *		createplan.c's fix_indexqual_references gives an IndexScan) and
 *		builds the btree scan keys with ExecIndexBuildScanKeys: constants
 *		become plain keys, parameters and outer Vars runtime keys evaluated
 *		at every rescan, = ANY(array) SK_SEARCHARRAY keys that btree walks
 *		in key order.
 *	  - Each row comes from index_getnext_slot(), that is from the index
 *		entry through the table access method's index fetch
 *		(table_index_fetch_tuple), which applies the snapshot; the qual is
 *		applied by ExecScan.  Every entry of the key index is a row entry,
 *		whether its TID is a delta (heap) TID or a cold TID.
 *	  - EvalPlanQual rechecks the conditions on the new row version with
 *		the table-Var copy (the recheck method).
 *	  - The direction is the plan's, flipped for a backward executor
 *		direction; the planner never asks for backward scans or
 *		mark/restore (no CUSTOMPATH_SUPPORT_* flags), so scroll cursors and
 *		merge joins get a Material node.
 *
 * EXPLAIN shows the partition key conditions (Partition Key), the
 * conditions on sort key columns (Sort Key Range) and the direction; with
 * ANALYZE the rows fetched through the index, split by TID class: delta
 * TIDs (heap line pointers, offsets up to MaxHeapTuplesPerPage) and cold
 * TIDs (offsets above, DESIGN.md 2.3).  They are left out when parallel
 * workers ran the scan (the node is not parallel-aware but can run under
 * Gather), because their counters stay in the workers.  Counters of cold
 * blocks read or skipped are not shown: every index entry is a row entry,
 * so there are no block-level decisions to count.
 *
 * Locking: the key index is opened with AccessShareLock for the scan, as
 * an IndexScan opens its index; the table is locked by the executor.
 *
 * widecol/wc_keyscan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "executor/nodeIndexscan.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "widecol.h"

/* Executor state of one keyscan */
typedef struct WcKeyScanState
{
	CustomScanState css;
	Relation	index;			/* the key index */
	IndexScanDesc scan;			/* NULL until first executed */
	ScanDirection direction;	/* planned direction */
	int			npk;			/* partition key columns */
	ScanKey		keys;
	int			nkeys;
	IndexRuntimeKeyInfo *runtime_keys;
	int			nruntime_keys;
	bool		runtime_keys_ready;
	ExprContext *runtime_cxt;	/* for runtime key evaluation */
	ExprState  *recheck;		/* index conditions on table rows (EPQ) */
	uint64		delta_rows;		/* rows fetched by delta TID */
	uint64		cold_rows;		/* rows fetched by cold TID */
} WcKeyScanState;

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
 * to index columns.
 */
static Expr *
wc_fix_index_qual(Expr *clause, WcIndexVarContext *context)
{
	Expr	   *fixed = copyObject(clause);

	if (IsA(fixed, OpExpr))
	{
		OpExpr	   *op = (OpExpr *) fixed;

		linitial(op->args) = wc_index_var_mutator(linitial(op->args), context);
	}
	else if (IsA(fixed, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *saop = (ScalarArrayOpExpr *) fixed;

		linitial(saop->args) = wc_index_var_mutator(linitial(saop->args), context);
	}
	else if (IsA(fixed, RowCompareExpr))
	{
		RowCompareExpr *rc = (RowCompareExpr *) fixed;

		rc->largs = (List *) wc_index_var_mutator((Node *) rc->largs, context);
	}
	else if (IsA(fixed, NullTest))
	{
		NullTest   *nt = (NullTest *) fixed;

		nt->arg = (Expr *) wc_index_var_mutator((Node *) nt->arg, context);
	}
	else
		elog(ERROR, "unrecognized key index condition node type: %d",
			 (int) nodeTag(fixed));
	return fixed;
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
	ks->recheck = ExecInitQual(cscan->custom_exprs, &node->ss.ps);

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;

	ks->scan = index_beginscan(table, ks->index, estate->es_snapshot,
							   ks->nkeys, 0);
	if (ks->nruntime_keys == 0)
		index_rescan(ks->scan, ks->keys, ks->nkeys, NULL, 0);
}

/* ExecScan access method: the next row of the key index in scan order */
static TupleTableSlot *
wc_keyscan_next(ScanState *ss)
{
	WcKeyScanState *ks = (WcKeyScanState *) ss;
	ScanDirection direction = ss->ps.state->es_direction;
	TupleTableSlot *slot = ss->ss_ScanTupleSlot;

	if (ScanDirectionIsBackward(ks->direction))
		direction = ScanDirectionIsForward(direction) ? BackwardScanDirection :
			ScanDirectionIsBackward(direction) ? ForwardScanDirection : direction;

	if (index_getnext_slot(ks->scan, direction, slot))
	{
		if (ItemPointerGetOffsetNumber(&slot->tts_tid) <= MaxHeapTuplesPerPage)
			ks->delta_rows++;
		else
			ks->cold_rows++;
		return slot;
	}
	return ExecClearTuple(slot);
}

/* ExecScan recheck method: does an EPQ row version meet the conditions */
static bool
wc_keyscan_recheck(ScanState *ss, TupleTableSlot *slot)
{
	WcKeyScanState *ks = (WcKeyScanState *) ss;
	ExprContext *econtext = ss->ps.ps_ExprContext;

	econtext->ecxt_scantuple = slot;
	return ExecQualAndReset(ks->recheck, econtext);
}

/* ExecCustomScan: next row passing the qual, projected */
static TupleTableSlot *
wc_keyscan_exec(CustomScanState *node)
{
	WcKeyScanState *ks = (WcKeyScanState *) node;

	if (ks->nruntime_keys > 0 && !ks->runtime_keys_ready)
		wc_keyscan_rescan(node);
	return ExecScan(&node->ss, wc_keyscan_next, wc_keyscan_recheck);
}

/* ReScanCustomScan: new parameter values, restart the index scan */
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
		index_rescan(ks->scan, ks->keys, ks->nkeys, NULL, 0);
	ExecScanReScan(&node->ss);
}

/* EndCustomScan: close the index scan and the index */
static void
wc_keyscan_end(CustomScanState *node)
{
	WcKeyScanState *ks = (WcKeyScanState *) node;

	if (ks->scan != NULL)
		index_endscan(ks->scan);
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
		ExplainPropertyInteger("Delta Rows", NULL, (int64) ks->delta_rows, es);
		ExplainPropertyInteger("Cold Rows", NULL, (int64) ks->cold_rows, es);
	}
}

/* Register the plan node methods (from _PG_init) */
void
WcKeyScanInit(void)
{
	RegisterCustomScanMethods(&wc_keyscan_scan_methods);
}
