/*-------------------------------------------------------------------------
 *
 * wc_countscan.c
 *	  The count scan: a full scan of a widecol table for queries that read
 *	  none of its columns (count(*), EXISTS, SELECT 1 FROM t), which
 *	  counts cold rows instead of decompressing them.
 *
 * A sequential scan of a widecol table decompresses every row group and
 * rebuilds every row as a heap tuple, because the table AM is not told
 * which columns the plan reads.  When it reads none, that is all wasted:
 * zstd alone is 60% of a widecol count(*).  Columnar stores answer such a
 * query from their block metadata (ClickHouse's count() reads no column
 * file); this scan does the same while keeping heap's MVCC: it checks
 * each block tuple's visibility, its header and its tombstones exactly as
 * the sequential scan does and returns one empty tuple (no attributes,
 * the row's TID) per visible row (wc_scan.c, WcScanCountOnly).  Delta rows
 * are heap's tuples.
 *
 * Planner side: set_rel_pathlist_hook (wc_customscan.c) calls
 * WcCountScanAddPaths for every widecol base relation.  When no Var of the
 * relation appears in its target list or in its restriction clauses (so
 * no system column either: UPDATE, DELETE and row marks need ctid, and a
 * whole-row Var is attribute 0), it adds a CustomPath beside the Seq Scan
 * path and, when there is one, a parallel-aware partial path beside the
 * Parallel Seq Scan.  Each costs what its Seq Scan costs (same pages,
 * same rows, any disable_cost of enable_seqscan included) less half of
 * cpu_tuple_cost per row: it does strictly less than the Seq Scan, and
 * the planner's Seq Scan model does not count decoding at all.
 * Restriction clauses that read no column (random() < 0.5, a
 * pseudo-constant is a gating Result's) become the plan's qual.
 *
 * Executor side: ExecScan over table_scan_getnextslot on a scan made a
 * count scan before its first row; parallel plans share the table AM's
 * parallel scan state in the DSM like nodeSeqscan.c.  Forward only (no
 * CUSTOMPATH_SUPPORT_BACKWARD_SCAN: the planner puts a Material node
 * under scroll cursors).  widecol.enable_countscan turns it off.
 *
 * Locking: the scan's own (AccessShareLock on the TOAST relation and its
 * indexes, buffer share locks around visibility checks).
 *
 * widecol/wc_countscan.c
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
#include "utils/rel.h"

#include "widecol.h"

/* widecol.enable_countscan */
bool		wc_enable_countscan = true;

/* Executor state of a count scan */
typedef struct WcCountScanState
{
	CustomScanState css;
	TableScanDesc scan;			/* NULL until the first row is asked for */
} WcCountScanState;

static Plan *wc_plan_countscan(PlannerInfo *root, RelOptInfo *rel,
							   CustomPath *best_path, List *tlist,
							   List *clauses, List *custom_plans);
static Node *wc_countscan_create_state(CustomScan *cscan);
static void wc_countscan_begin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *wc_countscan_exec(CustomScanState *node);
static void wc_countscan_end(CustomScanState *node);
static void wc_countscan_rescan(CustomScanState *node);
static Size wc_countscan_estimate_dsm(CustomScanState *node,
									  ParallelContext *pcxt);
static void wc_countscan_init_dsm(CustomScanState *node, ParallelContext *pcxt,
								  void *coordinate);
static void wc_countscan_reinit_dsm(CustomScanState *node,
									ParallelContext *pcxt, void *coordinate);
static void wc_countscan_init_worker(CustomScanState *node, shm_toc *toc,
									 void *coordinate);
static void wc_countscan_explain(CustomScanState *node, List *ancestors,
								 ExplainState *es);

static const CustomPathMethods wc_countscan_path_methods = {
	.CustomName = WC_COUNTSCAN_NAME,
	.PlanCustomPath = wc_plan_countscan,
};

static const CustomScanMethods wc_countscan_scan_methods = {
	.CustomName = WC_COUNTSCAN_NAME,
	.CreateCustomScanState = wc_countscan_create_state,
};

static const CustomExecMethods wc_countscan_exec_methods = {
	.CustomName = WC_COUNTSCAN_NAME,
	.BeginCustomScan = wc_countscan_begin,
	.ExecCustomScan = wc_countscan_exec,
	.EndCustomScan = wc_countscan_end,
	.ReScanCustomScan = wc_countscan_rescan,
	.EstimateDSMCustomScan = wc_countscan_estimate_dsm,
	.InitializeDSMCustomScan = wc_countscan_init_dsm,
	.ReInitializeDSMCustomScan = wc_countscan_reinit_dsm,
	.InitializeWorkerCustomScan = wc_countscan_init_worker,
	.ExplainCustomScan = wc_countscan_explain,
};

/* True if rel's target list or restriction clauses read any of its columns */
static bool
wc_rel_reads_columns(RelOptInfo *rel)
{
	Bitmapset  *attrs = NULL;
	ListCell   *lc;

	pull_varattnos((Node *) rel->reltarget->exprs, rel->relid, &attrs);
	foreach(lc, rel->baserestrictinfo)
		pull_varattnos((Node *) lfirst_node(RestrictInfo, lc)->clause,
					   rel->relid, &attrs);
	return attrs != NULL;
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

/* A count scan path costed and sized after the Seq Scan path seq */
static CustomPath *
wc_countscan_path(RelOptInfo *rel, Path *seq)
{
	CustomPath *cpath = makeNode(CustomPath);
	Cost		saved;

	/* half of cpu_tuple_cost for each row this process reads */
	saved = 0.5 * cpu_tuple_cost * rel->tuples;
	if (seq->parallel_aware && rel->rows > 0)
		saved *= seq->rows / rel->rows;

	cpath->path.pathtype = T_CustomScan;
	cpath->path.parent = rel;
	cpath->path.pathtarget = rel->reltarget;
	cpath->path.param_info = NULL;
	cpath->path.parallel_aware = seq->parallel_aware;
	cpath->path.parallel_safe = seq->parallel_safe;
	cpath->path.parallel_workers = seq->parallel_workers;
	cpath->path.rows = seq->rows;
	cpath->path.startup_cost = seq->startup_cost;
	cpath->path.total_cost = Max(seq->total_cost - saved, seq->startup_cost);
	cpath->path.pathkeys = NIL;
	cpath->flags = CUSTOMPATH_SUPPORT_PROJECTION;
	cpath->custom_paths = NIL;
	cpath->custom_private = NIL;
	cpath->methods = &wc_countscan_path_methods;
	return cpath;
}

/*
 * Add count scan paths for rel, a widecol base relation, when the query
 * reads none of its columns (set_rel_pathlist_hook)
 */
void
WcCountScanAddPaths(PlannerInfo *root, RelOptInfo *rel)
{
	Path	   *seq;

	if (!wc_enable_countscan || wc_rel_reads_columns(rel))
		return;
	seq = wc_seqscan_path(rel->pathlist);
	if (seq != NULL)
		add_path(rel, &wc_countscan_path(rel, seq)->path);
	seq = wc_seqscan_path(rel->partial_pathlist);
	if (seq != NULL && seq->parallel_aware)
		add_partial_path(rel, &wc_countscan_path(rel, seq)->path);
}

/* PlanCustomPath: a CustomScan whose qual is every restriction clause */
static Plan *
wc_plan_countscan(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
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
	cscan->custom_private = NIL;
	cscan->custom_scan_tlist = NIL;
	cscan->methods = &wc_countscan_scan_methods;
	return &cscan->scan.plan;
}

/* CreateCustomScanState */
static Node *
wc_countscan_create_state(CustomScan *cscan)
{
	WcCountScanState *cs = (WcCountScanState *)
		newNode(sizeof(WcCountScanState), T_CustomScanState);

	cs->css.methods = &wc_countscan_exec_methods;
	return (Node *) cs;
}

/* BeginCustomScan: the table's own slot type, as the table AM fills it */
static void
wc_countscan_begin(CustomScanState *node, EState *estate, int eflags)
{
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	Relation	table = node->ss.ss_currentRelation;

	ExecInitScanTupleSlot(estate, &node->ss, RelationGetDescr(table),
						  table_slot_callbacks(table));
	ExecAssignScanProjectionInfoWithVarno(&node->ss, cscan->scan.scanrelid);
	node->ss.ps.qual = ExecInitQual(cscan->scan.plan.qual, &node->ss.ps);
}

/* A new scan of the table, made a count scan */
static TableScanDesc
wc_countscan_open(WcCountScanState *cs, ParallelTableScanDesc pscan)
{
	Relation	table = cs->css.ss.ss_currentRelation;
	TableScanDesc scan;

	if (pscan != NULL)
		scan = table_beginscan_parallel(table, pscan);
	else
		scan = table_beginscan(table, cs->css.ss.ps.state->es_snapshot, 0, NULL);
	WcScanCountOnly(scan);
	return scan;
}

/* ExecScan's access method: the next visible row */
static TupleTableSlot *
wc_countscan_next(ScanState *node)
{
	WcCountScanState *cs = (WcCountScanState *) node;
	TupleTableSlot *slot = node->ss_ScanTupleSlot;

	if (cs->scan == NULL)
		cs->scan = wc_countscan_open(cs, NULL);
	if (table_scan_getnextslot(cs->scan, ForwardScanDirection, slot))
		return slot;
	return NULL;
}

/* ExecScan's recheck method: no key conditions, nothing to recheck */
static bool
wc_countscan_recheck(ScanState *node, TupleTableSlot *slot)
{
	return true;
}

/* ExecCustomScan */
static TupleTableSlot *
wc_countscan_exec(CustomScanState *node)
{
	return ExecScan(&node->ss, (ExecScanAccessMtd) wc_countscan_next,
					(ExecScanRecheckMtd) wc_countscan_recheck);
}

/* EndCustomScan */
static void
wc_countscan_end(CustomScanState *node)
{
	WcCountScanState *cs = (WcCountScanState *) node;

	if (cs->scan != NULL)
		table_endscan(cs->scan);
	cs->scan = NULL;
}

/* ReScanCustomScan */
static void
wc_countscan_rescan(CustomScanState *node)
{
	WcCountScanState *cs = (WcCountScanState *) node;

	if (cs->scan != NULL)
		table_rescan(cs->scan, NULL);
	ExecScanReScan(&node->ss);
}

/* EstimateDSMCustomScan: the table AM's parallel scan state */
static Size
wc_countscan_estimate_dsm(CustomScanState *node, ParallelContext *pcxt)
{
	return table_parallelscan_estimate(node->ss.ss_currentRelation,
									   node->ss.ps.state->es_snapshot);
}

/* InitializeDSMCustomScan: set up the shared state, join the scan */
static void
wc_countscan_init_dsm(CustomScanState *node, ParallelContext *pcxt,
					  void *coordinate)
{
	WcCountScanState *cs = (WcCountScanState *) node;
	ParallelTableScanDesc pscan = coordinate;

	table_parallelscan_initialize(node->ss.ss_currentRelation, pscan,
								  node->ss.ps.state->es_snapshot);
	cs->scan = wc_countscan_open(cs, pscan);
}

/* ReInitializeDSMCustomScan: reset the shared state for a rescan */
static void
wc_countscan_reinit_dsm(CustomScanState *node, ParallelContext *pcxt,
						void *coordinate)
{
	table_parallelscan_reinitialize(node->ss.ss_currentRelation,
									(ParallelTableScanDesc) coordinate);
}

/* InitializeWorkerCustomScan: join the leader's parallel scan */
static void
wc_countscan_init_worker(CustomScanState *node, shm_toc *toc, void *coordinate)
{
	WcCountScanState *cs = (WcCountScanState *) node;

	cs->scan = wc_countscan_open(cs, (ParallelTableScanDesc) coordinate);
}

/* ExplainCustomScan: say that cold rows are counted, not decoded */
static void
wc_countscan_explain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	ExplainPropertyText("Cold Rows", "counted, not decoded", es);
}

/* Register the plan node's methods (from _PG_init; parallel workers too) */
void
WcCountScanInit(void)
{
	RegisterCustomScanMethods(&wc_countscan_scan_methods);
}
