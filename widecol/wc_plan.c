/*-------------------------------------------------------------------------
 *
 * wc_plan.c
 *	  Planner hook: no parallel index builds and no index-only scans over
 *	  widecol tables.
 *
 * Parallel sequential scans divide the delta pages and the TOAST pages
 * among the workers (wc_scan.c), so queries get partial paths as for
 * heap.  A parallel index build, however, would have every worker index
 * the whole cold tier (index_build_range_scan reads it apart from the
 * parallel heap scan), so the hook sets rel_parallel_workers = 0 when it
 * is called with inhparent = true, which plan_create_index_workers()
 * does; compute_parallel_worker() then plans no build workers.  The same
 * only removes partial paths of an inheritance parent's appendrel, whose
 * members are planned separately.
 *
 * Index-only scans trust the visibility map of the heap block named by an
 * index entry's TID.  A cold TID's block number is a block id (an OID),
 * which can coincide with a real all-visible delta page once the delta is
 * large enough, so an index-only scan could return a deleted cold row.
 * The hook therefore clears canreturn on every index of a widecol table;
 * the planner then uses plain index scans, which check every row.
 *
 * No locks: the planner already holds the table lock.
 *
 * widecol/wc_plan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "nodes/pathnodes.h"
#include "optimizer/plancat.h"
#include "utils/rel.h"

#include "widecol.h"
#include "wc_cold.h"

static get_relation_info_hook_type prev_get_relation_info = NULL;

/*
 * get_relation_info_hook: a widecol table's key index is taken out of the
 * index list (the keyscan uses it, wc_keyindex.c), and the table gets no
 * parallel index build workers and no index-only scans
 */
static void
wc_get_relation_info(PlannerInfo *root, Oid relationObjectId, bool inhparent,
					 RelOptInfo *rel)
{
	if (prev_get_relation_info)
		prev_get_relation_info(root, relationObjectId, inhparent, rel);
	/* plan_create_index_workers() passes inhparent = true too */
	{
		/* the planner holds a lock on the relation already */
		Relation	relation = table_open(relationObjectId, NoLock);

		if (relation->rd_tableam == WcGetRoutine())
		{
			ListCell   *lc;

			if (!inhparent && rel->indexlist != NIL)
				WcKeyIndexHide(rel, relation);
			if (inhparent)
				rel->rel_parallel_workers = 0;
			foreach(lc, rel->indexlist)
			{
				IndexOptInfo *index = (IndexOptInfo *) lfirst(lc);
				int			i;

				for (i = 0; i < index->ncolumns; i++)
					index->canreturn[i] = false;
			}
		}
		table_close(relation, NoLock);
	}
}

/* Install the planner hook (from _PG_init) */
void
WcPlanInit(void)
{
	prev_get_relation_info = get_relation_info_hook;
	get_relation_info_hook = wc_get_relation_info;
}
