/*-------------------------------------------------------------------------
 *
 * wc_columnscan.c
 *	  The column scan: a full scan of a widecol table that decodes only the
 *	  columns the query reads, and none for count(*).
 *
 * A sequential scan of a widecol table decompresses every row group and
 * rebuilds every row whole, because the table AM is not told which
 * columns the plan reads: zstd alone is 60% of a widecol count(*) or
 * sum(kind).  Columnar stores read only the columns a query names, and
 * answer count() from block metadata (ClickHouse).  This node does both
 * while keeping heap's MVCC (wc_scan.c, WcScanColumns): blocks, tombstones
 * and delta rows are checked exactly as the sequential scan checks them,
 * but cold rows are rebuilt with only the columns read, the others null
 * (WcPaxDecodeColumns), from a row group image decompressed only as far
 * as those columns' streams reach: the writer ends a zstd block before
 * each long column stream (wc_compression.c), so with the event table's
 * payload last, sum(kind) decodes about a fifth of each image.  When the
 * query reads no column (count(*), EXISTS, SELECT 1) cold rows are
 * counted from block headers and come back as empty tuples with their
 * TIDs; nothing is decompressed.
 *
 * Planner side: set_rel_pathlist_hook (wc_customscan.c) calls
 * WcColumnScanAddPaths for every widecol base relation.  The columns read
 * are the Vars of the relation in its target list and restriction clauses
 * (rel->reltarget and baserestrictinfo).  If any is a system column
 * (UPDATE, DELETE and row marks read ctid), which the scan does not
 * return, or the whole row, or if every live column is read (nothing to
 * gain), there is no path.  Otherwise it adds a CustomPath beside the
 * Seq Scan path and, when there is one, a parallel-aware partial path
 * beside the Parallel Seq Scan.  Each costs what its Seq Scan costs (same
 * pages, same rows, any disable_cost of enable_seqscan included) less one
 * part in a million: it does strictly less than the Seq Scan, but the
 * planner's Seq Scan cost does not count decoding at all, so the model
 * has no figure for what it saves; the margin makes it take the Seq
 * Scan's place and changes no choice between the Seq Scan and other paths
 * (a key scan of a partition, a user index).
 * The restriction clauses become the plan's qual (pseudo-constant ones
 * are a gating Result's); custom_private lists the attribute numbers read.
 *
 * Executor side: ExecScan over table_scan_getnextslot on a scan made a
 * column scan before its first row; parallel plans share the table AM's
 * parallel scan state in the DSM like nodeSeqscan.c.  Forward only (no
 * CUSTOMPATH_SUPPORT_BACKWARD_SCAN: the planner puts a Material node
 * under scroll cursors).  widecol.enable_columnscan turns it off.
 *
 * Locking: the scan's own (AccessShareLock on the TOAST relation and its
 * indexes, buffer share locks around visibility checks).
 *
 * widecol/wc_columnscan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relscan.h"
#include "access/tableam.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "nodes/extensible.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/restrictinfo.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "widecol.h"
#include "wc_cold.h"

/* widecol.enable_columnscan */
bool		wc_enable_columnscan = true;

/* Executor state of a column scan */
typedef struct WcColumnScanState
{
	CustomScanState css;
	TableScanDesc scan;			/* NULL until the first row is asked for */
	WcColumns	cols;			/* the columns read (from custom_private) */
} WcColumnScanState;

static Plan *wc_plan_columnscan(PlannerInfo *root, RelOptInfo *rel,
							   CustomPath *best_path, List *tlist,
							   List *clauses, List *custom_plans);
static Node *wc_columnscan_create_state(CustomScan *cscan);
static void wc_columnscan_begin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *wc_columnscan_exec(CustomScanState *node);
static void wc_columnscan_end(CustomScanState *node);
static void wc_columnscan_rescan(CustomScanState *node);
static Size wc_columnscan_estimate_dsm(CustomScanState *node,
									  ParallelContext *pcxt);
static void wc_columnscan_init_dsm(CustomScanState *node, ParallelContext *pcxt,
								  void *coordinate);
static void wc_columnscan_reinit_dsm(CustomScanState *node,
									ParallelContext *pcxt, void *coordinate);
static void wc_columnscan_init_worker(CustomScanState *node, shm_toc *toc,
									 void *coordinate);
static void wc_columnscan_explain(CustomScanState *node, List *ancestors,
								 ExplainState *es);

static const CustomPathMethods wc_columnscan_path_methods = {
	.CustomName = WC_COLUMNSCAN_NAME,
	.PlanCustomPath = wc_plan_columnscan,
};

static const CustomScanMethods wc_columnscan_scan_methods = {
	.CustomName = WC_COLUMNSCAN_NAME,
	.CreateCustomScanState = wc_columnscan_create_state,
};

static const CustomExecMethods wc_columnscan_exec_methods = {
	.CustomName = WC_COLUMNSCAN_NAME,
	.BeginCustomScan = wc_columnscan_begin,
	.ExecCustomScan = wc_columnscan_exec,
	.EndCustomScan = wc_columnscan_end,
	.ReScanCustomScan = wc_columnscan_rescan,
	.EstimateDSMCustomScan = wc_columnscan_estimate_dsm,
	.InitializeDSMCustomScan = wc_columnscan_init_dsm,
	.ReInitializeDSMCustomScan = wc_columnscan_reinit_dsm,
	.InitializeWorkerCustomScan = wc_columnscan_init_worker,
	.ExplainCustomScan = wc_columnscan_explain,
};

/*
 * The attribute numbers of the columns of rel (a table with natts
 * attributes, of which live are not dropped) that its target list and
 * restriction clauses read, in order; false if a column scan cannot or
 * need not do with fewer than all of them
 */
static bool
wc_columns_read(RelOptInfo *rel, int natts, int live, List **attnos)
{
	Bitmapset  *attrs = NULL;
	ListCell   *lc;
	int			x = -1;

	pull_varattnos((Node *) rel->reltarget->exprs, rel->relid, &attrs);
	foreach(lc, rel->baserestrictinfo)
		pull_varattnos((Node *) lfirst_node(RestrictInfo, lc)->clause,
					   rel->relid, &attrs);
	*attnos = NIL;
	while ((x = bms_next_member(attrs, x)) >= 0)
	{
		AttrNumber	attno = x + FirstLowInvalidHeapAttributeNumber;

		if (attno <= 0 || attno > natts)
			return false;		/* a system column or the whole row */
		*attnos = lappend_int(*attnos, attno);
	}
	return list_length(*attnos) < live;
}

/* The unparameterized Seq Scan path of pathlist, or NULL */
static Path *
wc_seqscan_path(List *pathlist)
{
	ListCell   *lc;

	foreach(lc, pathlist)
	{
		Path	   *path = lfirst(lc);

		if (path->pathtype == T_SeqScan && path->param_info == NULL)
			return path;
	}
	return NULL;
}

/* A column scan path reading attnos, costed and sized after Seq Scan path seq */
static CustomPath *
wc_columnscan_path(RelOptInfo *rel, Path *seq, List *attnos)
{
	CustomPath *cpath = makeNode(CustomPath);

	cpath->path.pathtype = T_CustomScan;
	cpath->path.parent = rel;
	cpath->path.pathtarget = rel->reltarget;
	cpath->path.param_info = NULL;
	cpath->path.parallel_aware = seq->parallel_aware;
	cpath->path.parallel_safe = seq->parallel_safe;
	cpath->path.parallel_workers = seq->parallel_workers;
	cpath->path.rows = seq->rows;
	cpath->path.startup_cost = seq->startup_cost;
	/*
	 * cheaper than seq beyond add_path's exact comparison (see above); of
	 * the run cost, which holds no disable_cost
	 */
	cpath->path.total_cost = seq->total_cost -
		(seq->total_cost - seq->startup_cost) * 1e-6;
	cpath->path.pathkeys = NIL;
	cpath->flags = CUSTOMPATH_SUPPORT_PROJECTION;
	cpath->custom_paths = NIL;
	cpath->custom_private = attnos;
	cpath->methods = &wc_columnscan_path_methods;
	return cpath;
}

/*
 * Add column scan paths for rel, a widecol base relation (relation is its
 * open table), when the query reads fewer than all its columns
 * (set_rel_pathlist_hook)
 */
void
WcColumnScanAddPaths(PlannerInfo *root, RelOptInfo *rel, Relation relation)
{
	TupleDesc	desc = RelationGetDescr(relation);
	List	   *attnos;
	Path	   *seq;
	int			live = 0;
	int			a;

	if (!wc_enable_columnscan)
		return;
	for (a = 0; a < desc->natts; a++)
		if (!TupleDescAttr(desc, a)->attisdropped)
			live++;
	if (!wc_columns_read(rel, desc->natts, live, &attnos))
		return;
	seq = wc_seqscan_path(rel->pathlist);
	if (seq != NULL)
		add_path(rel, &wc_columnscan_path(rel, seq, attnos)->path);
	seq = wc_seqscan_path(rel->partial_pathlist);
	if (seq != NULL && seq->parallel_aware)
		add_partial_path(rel, &wc_columnscan_path(rel, seq, attnos)->path);
}

/* PlanCustomPath: a CustomScan whose qual is every restriction clause */
static Plan *
wc_plan_columnscan(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
				  List *tlist, List *clauses, List *custom_plans)
{
	CustomScan *cscan = makeNode(CustomScan);

	cscan->scan.plan.targetlist = tlist;
	/* pseudo-constant clauses went to a gating Result */
	cscan->scan.plan.qual = extract_actual_clauses(clauses, false);
	cscan->scan.scanrelid = rel->relid;
	cscan->flags = best_path->flags;
	cscan->custom_plans = NIL;
	cscan->custom_exprs = NIL;
	cscan->custom_private = best_path->custom_private;
	cscan->custom_scan_tlist = NIL;
	cscan->methods = &wc_columnscan_scan_methods;
	return &cscan->scan.plan;
}

/* CreateCustomScanState */
static Node *
wc_columnscan_create_state(CustomScan *cscan)
{
	WcColumnScanState *cs = (WcColumnScanState *)
		newNode(sizeof(WcColumnScanState), T_CustomScanState);

	cs->css.methods = &wc_columnscan_exec_methods;
	return (Node *) cs;
}

/*
 * BeginCustomScan: the table's own slot type, as the table AM fills it;
 * the columns read
 */
static void
wc_columnscan_begin(CustomScanState *node, EState *estate, int eflags)
{
	WcColumnScanState *cs = (WcColumnScanState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	Relation	table = node->ss.ss_currentRelation;
	ListCell   *lc;

	ExecInitScanTupleSlot(estate, &node->ss, RelationGetDescr(table),
						  table_slot_callbacks(table));
	ExecAssignScanProjectionInfoWithVarno(&node->ss, cscan->scan.scanrelid);
	node->ss.ps.qual = ExecInitQual(cscan->scan.plan.qual, &node->ss.ps);

	cs->cols.maxatt = 0;
	foreach(lc, cscan->custom_private)
		cs->cols.maxatt = Max(cs->cols.maxatt, lfirst_int(lc));
	if (cs->cols.maxatt > RelationGetDescr(table)->natts)
		elog(ERROR, "column scan of \"%s\" reads attribute %d of %d",
			 RelationGetRelationName(table), cs->cols.maxatt,
			 RelationGetDescr(table)->natts);
	cs->cols.needed = palloc0(sizeof(bool) * Max(cs->cols.maxatt, 1));
	foreach(lc, cscan->custom_private)
		cs->cols.needed[lfirst_int(lc) - 1] = true;
}

/* A new scan of the table, made a column scan */
static TableScanDesc
wc_columnscan_open(WcColumnScanState *cs, ParallelTableScanDesc pscan)
{
	Relation	table = cs->css.ss.ss_currentRelation;
	TableScanDesc scan;

	if (pscan != NULL)
		scan = table_beginscan_parallel(table, pscan);
	else
		scan = table_beginscan(table, cs->css.ss.ps.state->es_snapshot, 0, NULL);
	WcScanColumns(scan, &cs->cols);
	return scan;
}

/* ExecScan's access method: the next visible row */
static TupleTableSlot *
wc_columnscan_next(ScanState *node)
{
	WcColumnScanState *cs = (WcColumnScanState *) node;
	TupleTableSlot *slot = node->ss_ScanTupleSlot;

	if (cs->scan == NULL)
		cs->scan = wc_columnscan_open(cs, NULL);
	if (table_scan_getnextslot(cs->scan, ForwardScanDirection, slot))
		return slot;
	return NULL;
}

/* ExecScan's recheck method: no key conditions, nothing to recheck */
static bool
wc_columnscan_recheck(ScanState *node, TupleTableSlot *slot)
{
	return true;
}

/* ExecCustomScan */
static TupleTableSlot *
wc_columnscan_exec(CustomScanState *node)
{
	return ExecScan(&node->ss, (ExecScanAccessMtd) wc_columnscan_next,
					(ExecScanRecheckMtd) wc_columnscan_recheck);
}

/* EndCustomScan */
static void
wc_columnscan_end(CustomScanState *node)
{
	WcColumnScanState *cs = (WcColumnScanState *) node;

	/* the slot may point into the scan's memory */
	ExecClearTuple(node->ss.ss_ScanTupleSlot);
	if (cs->scan != NULL)
		table_endscan(cs->scan);
	cs->scan = NULL;
}

/* ReScanCustomScan */
static void
wc_columnscan_rescan(CustomScanState *node)
{
	WcColumnScanState *cs = (WcColumnScanState *) node;

	if (cs->scan != NULL)
		table_rescan(cs->scan, NULL);
	ExecScanReScan(&node->ss);
}

/* EstimateDSMCustomScan: the table AM's parallel scan state */
static Size
wc_columnscan_estimate_dsm(CustomScanState *node, ParallelContext *pcxt)
{
	return table_parallelscan_estimate(node->ss.ss_currentRelation,
									   node->ss.ps.state->es_snapshot);
}

/* InitializeDSMCustomScan: set up the shared state, join the scan */
static void
wc_columnscan_init_dsm(CustomScanState *node, ParallelContext *pcxt,
					  void *coordinate)
{
	WcColumnScanState *cs = (WcColumnScanState *) node;
	ParallelTableScanDesc pscan = coordinate;

	table_parallelscan_initialize(node->ss.ss_currentRelation, pscan,
								  node->ss.ps.state->es_snapshot);
	cs->scan = wc_columnscan_open(cs, pscan);
}

/* ReInitializeDSMCustomScan: reset the shared state for a rescan */
static void
wc_columnscan_reinit_dsm(CustomScanState *node, ParallelContext *pcxt,
						void *coordinate)
{
	table_parallelscan_reinitialize(node->ss.ss_currentRelation,
									(ParallelTableScanDesc) coordinate);
}

/* InitializeWorkerCustomScan: join the leader's parallel scan */
static void
wc_columnscan_init_worker(CustomScanState *node, shm_toc *toc, void *coordinate)
{
	WcColumnScanState *cs = (WcColumnScanState *) node;

	cs->scan = wc_columnscan_open(cs, (ParallelTableScanDesc) coordinate);
}

/* ExplainCustomScan: the columns read, or that cold rows are counted */
static void
wc_columnscan_explain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	WcColumnScanState *cs = (WcColumnScanState *) node;
	TupleDesc	desc = RelationGetDescr(node->ss.ss_currentRelation);
	StringInfoData buf;
	int			a;

	if (cs->cols.maxatt == 0)
	{
		ExplainPropertyText("Columns Read", "none (cold rows counted, not decoded)", es);
		return;
	}
	initStringInfo(&buf);
	for (a = 0; a < cs->cols.maxatt; a++)
		if (cs->cols.needed[a])
			appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "",
							 quote_identifier(NameStr(TupleDescAttr(desc, a)->attname)));
	ExplainPropertyText("Columns Read", buf.data, es);
	/* this process's share of a parallel scan */
	if (es->analyze && cs->scan != NULL)
	{
		uint64		decoded;
		uint64		size;

		WcScanColumnStats(cs->scan, &decoded, &size);
		ExplainPropertyUInteger("Row Group Bytes Decoded", NULL, decoded, es);
		ExplainPropertyUInteger("Row Group Bytes", NULL, size, es);
	}
}

/* Register the plan node's methods (from _PG_init; parallel workers too) */
void
WcColumnScanInit(void)
{
	RegisterCustomScanMethods(&wc_columnscan_scan_methods);
}
