/*-------------------------------------------------------------------------
 *
 * wc_customscan.c
 *	  Planner side of the widecol keyscan: paths and plans.
 *
 * A keyscan reads the rows of one or more partitions of a widecol table in
 * sort key order (either direction) through the table's key index, which
 * wc_keyindex.c hides from the ordinary index machinery.  The executor side
 * is wc_keyscan.c.
 *
 * Path generation reuses core's index path code instead of a matcher of
 * our own (DESIGN.md 6.1): set_rel_pathlist_hook sets aside the rel's
 * pathlist, partial pathlist and index list, puts the stashed key index
 * alone in the index list and calls create_index_paths().  That yields
 * IndexPaths for constants, $n parameters (generic plans), outer Vars
 * (parameterized paths for nested loops and LATERAL), = ANY(array) and IN
 * lists, row comparisons, LIKE 'p%' / starts_with prefixes where btree
 * derives a range (C collation), IS NULL, and forward and backward
 * pathkeys with columns fixed by equality dropped.  The lists are then
 * restored and each IndexPath that fixes every partition key column by
 * equality (an = operator or = ANY) becomes a CustomPath with the same
 * rows, cost, parameterization and pathkeys.  Anything else (no partition
 * key, a range on it) is left to Seq Scan and user indexes.  Bitmap and
 * index-only paths are never built (the key index is marked unable to do
 * either); partial paths are dropped with the swapped-out lists.
 *
 * Costing: the scan does exactly what an index scan on the key index
 * would (a btree descent, then one table fetch per entry), so the
 * IndexPath's cost from cost_index() is used unchanged.  An unselective
 * partition therefore loses to a Seq Scan and a more selective user index
 * wins, while ORDER BY sk LIMIT n takes the ordered path on its low
 * startup cost.  cost_index() adds disable_cost when enable_indexscan is
 * off; it is taken out again, because widecol.enable_keyscan is the
 * keyscan's switch.
 *
 * No CUSTOMPATH_SUPPORT_BACKWARD_SCAN / MARK_RESTORE: the planner puts a
 * Material node under scroll cursors and merge joins that need them.  The
 * scan is not parallel-aware.
 *
 * The plan (PlanCustomPath) carries the index conditions with table Vars
 * in custom_exprs (setrefs and EXPLAIN handle them like any scan
 * expression; replace_nestloop_params turns outer Vars into parameters),
 * the remaining restriction clauses as the qual, and in custom_private the
 * key index OID and the scan direction.
 *
 * No locks beyond the planner's own.
 *
 * widecol/wc_customscan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "access/table.h"
#include "nodes/extensible.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "utils/lsyscache.h"

#include "widecol.h"

static set_rel_pathlist_hook_type prev_set_rel_pathlist_hook = NULL;

static Plan *wc_plan_keyscan(PlannerInfo *root, RelOptInfo *rel,
							 CustomPath *best_path, List *tlist,
							 List *clauses, List *custom_plans);

static const CustomPathMethods wc_keyscan_path_methods = {
	.CustomName = WC_KEYSCAN_NAME,
	.PlanCustomPath = wc_plan_keyscan,
};

/* True if clause (an index condition on column indexcol) is an equality */
static bool
wc_clause_is_equality(Expr *clause, IndexOptInfo *index, int indexcol)
{
	Oid			opno;

	if (IsA(clause, OpExpr))
		opno = ((OpExpr *) clause)->opno;
	else if (IsA(clause, ScalarArrayOpExpr) && ((ScalarArrayOpExpr *) clause)->useOr)
		opno = ((ScalarArrayOpExpr *) clause)->opno;
	else
		return false;
	return get_op_opfamily_strategy(opno, index->opfamily[indexcol]) ==
		BTEqualStrategyNumber;
}

/* True if path fixes every one of the npk leading columns by equality */
static bool
wc_path_fixes_partition(IndexPath *path, int npk)
{
	Bitmapset  *fixed = NULL;
	ListCell   *lc;
	ListCell   *lq;
	bool		result;

	foreach(lc, path->indexclauses)
	{
		IndexClause *iclause = lfirst_node(IndexClause, lc);

		if (iclause->indexcol >= npk)
			continue;
		foreach(lq, iclause->indexquals)
		{
			RestrictInfo *rinfo = lfirst_node(RestrictInfo, lq);

			if (wc_clause_is_equality(rinfo->clause, path->indexinfo,
									  iclause->indexcol))
				fixed = bms_add_member(fixed, iclause->indexcol);
		}
	}
	result = bms_num_members(fixed) == npk;
	bms_free(fixed);
	return result;
}

/* The IndexPaths create_index_paths builds for rel on the key index alone */
static List *
wc_key_index_paths(PlannerInfo *root, RelOptInfo *rel, IndexOptInfo *keyindex)
{
	List	   *saved_pathlist = rel->pathlist;
	List	   *saved_partial = rel->partial_pathlist;
	List	   *saved_indexlist = rel->indexlist;
	List	   *result = NIL;
	ListCell   *lc;

	/*
	 * check_index_predicates() ran before the hook without the key index;
	 * it is never partial, so its clauses are the rel's restrictions.  It
	 * returns no columns (no index-only paths) and builds no bitmaps: a
	 * cheaper bitmap path would make add_path() discard the IndexPath with
	 * the same clauses and parameterization.
	 */
	keyindex->indrestrictinfo = rel->baserestrictinfo;
	keyindex->predOK = true;
	keyindex->amhasgetbitmap = false;
	memset(keyindex->canreturn, 0, sizeof(bool) * keyindex->ncolumns);

	rel->pathlist = NIL;
	rel->partial_pathlist = NIL;
	rel->indexlist = list_make1(keyindex);
	create_index_paths(root, rel);
	foreach(lc, rel->pathlist)
	{
		Path	   *path = lfirst(lc);

		if (IsA(path, IndexPath) && path->pathtype == T_IndexScan)
			result = lappend(result, path);
	}

	/* an error above abandons the whole plan, so no PG_TRY is needed */
	rel->pathlist = saved_pathlist;
	rel->partial_pathlist = saved_partial;
	rel->indexlist = saved_indexlist;
	return result;
}

/* set_rel_pathlist_hook: add keyscan and column scan paths for a widecol table */
static void
wc_set_rel_pathlist(PlannerInfo *root, RelOptInfo *rel, Index rti,
					RangeTblEntry *rte)
{
	IndexOptInfo *keyindex;
	const WcKeyIndexInfo *info;
	Relation	relation;
	ListCell   *lc;

	if (prev_set_rel_pathlist_hook)
		prev_set_rel_pathlist_hook(root, rel, rti, rte);

	if (rte->rtekind != RTE_RELATION || rte->inh ||
		rte->tablesample != NULL || !IS_SIMPLE_REL(rel))
		return;
	/* only widecol tables have a stashed key index */
	keyindex = WcStashedKeyIndex(rel);
	if (keyindex == NULL)
		return;

	/* the planner holds a lock on the relation */
	relation = table_open(rte->relid, NoLock);
	WcColumnScanAddPaths(root, rel, relation);
	info = wc_enable_keyscan ? WcGetKeyIndexInfo(relation) : NULL;
	table_close(relation, NoLock);
	if (info == NULL)
		return;
	if (info->npk <= 0 || info->npk > keyindex->nkeycolumns)
		return;

	foreach(lc, wc_key_index_paths(root, rel, keyindex))
	{
		IndexPath  *ipath = lfirst(lc);
		CustomPath *cpath;

		if (!wc_path_fixes_partition(ipath, info->npk))
			continue;
		cpath = makeNode(CustomPath);
		cpath->path.pathtype = T_CustomScan;
		cpath->path.parent = rel;
		cpath->path.pathtarget = rel->reltarget;
		cpath->path.param_info = ipath->path.param_info;
		cpath->path.parallel_aware = false;
		cpath->path.parallel_safe = ipath->path.parallel_safe;
		cpath->path.parallel_workers = 0;
		cpath->path.rows = ipath->path.rows;
		cpath->path.startup_cost = ipath->path.startup_cost;
		cpath->path.total_cost = ipath->path.total_cost;
		/* widecol.enable_keyscan, not enable_indexscan, governs keyscans */
		if (!enable_indexscan)
		{
			cpath->path.startup_cost -= disable_cost;
			cpath->path.total_cost -= disable_cost;
		}
		cpath->path.pathkeys = ipath->path.pathkeys;
		cpath->flags = 0;
		cpath->custom_paths = NIL;
		cpath->custom_private = list_make1(ipath);
		cpath->methods = &wc_keyscan_path_methods;
		add_path(rel, &cpath->path);
	}
}

/*
 * PlanCustomPath: the CustomScan for a keyscan path.  The index conditions
 * go to custom_exprs; restriction clauses they do not already enforce go
 * to the qual (a lossy condition, such as a LIKE prefix range, keeps its
 * original clause there).
 */
static Plan *
wc_plan_keyscan(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
				List *tlist, List *clauses, List *custom_plans)
{
	IndexPath  *ipath = linitial(best_path->custom_private);
	CustomScan *cscan = makeNode(CustomScan);
	List	   *indexquals = NIL;
	List	   *qual = NIL;
	ListCell   *lc;
	ListCell   *lq;

	foreach(lc, ipath->indexclauses)
	{
		IndexClause *iclause = lfirst_node(IndexClause, lc);

		foreach(lq, iclause->indexquals)
			indexquals = lappend(indexquals, lfirst_node(RestrictInfo, lq)->clause);
	}

	foreach(lc, clauses)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (rinfo->pseudoconstant)
			continue;			/* a gating Result handles these */
		if (is_redundant_with_indexclauses(rinfo, ipath->indexclauses))
			continue;
		if (!contain_mutable_functions((Node *) rinfo->clause) &&
			predicate_implied_by(list_make1(rinfo->clause), indexquals, false))
			continue;
		qual = lappend(qual, rinfo->clause);
	}

	cscan->scan.plan.targetlist = tlist;
	cscan->scan.plan.qual = qual;
	cscan->scan.scanrelid = rel->relid;
	cscan->flags = best_path->flags;
	cscan->custom_plans = NIL;
	cscan->custom_exprs = indexquals;
	cscan->custom_private =
		list_make2_oid(ipath->indexinfo->indexoid,
					   ScanDirectionIsBackward(ipath->indexscandir) ?
					   WC_KEYSCAN_BACKWARD : WC_KEYSCAN_FORWARD);
	cscan->custom_scan_tlist = NIL;
	cscan->methods = &wc_keyscan_scan_methods;
	return &cscan->scan.plan;
}

/* Install the path hook (from _PG_init) */
void
WcCustomScanInit(void)
{
	prev_set_rel_pathlist_hook = set_rel_pathlist_hook;
	set_rel_pathlist_hook = wc_set_rel_pathlist;
}
