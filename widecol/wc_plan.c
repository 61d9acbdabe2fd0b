/*-------------------------------------------------------------------------
 *
 * wc_plan.c
 *	  Planner hook: no parallel plans and no index-only scans over widecol
 *	  tables.
 *
 * A parallel sequential scan would need the cold tier divided among the
 * workers as well; this phase does not implement that, so the
 * get_relation_info hook sets rel_parallel_workers = 0 for widecol tables.
 * compute_parallel_worker() then yields no partial paths (seq, index or
 * bitmap) and plan_create_index_workers() no parallel index builds.  A
 * widecol table can still be read in full by each worker of a parallel
 * plan (for example the inner side of a parallel hash join), which is an
 * ordinary scan.
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
 * parallel workers and no index-only scans
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
