/*-------------------------------------------------------------------------
 *
 * wc_delta.c
 *	  Heap delegation: heap callbacks that only work when the relation
 *	  looks like a heap.
 *
 * The rows of a widecol table are a heap in the table's main fork (D1), so
 * most callbacks are heap's own function pointers (see wc_tableam.c).  A
 * few heap functions check rd_tableam itself: heap_getnext() raises "only
 * heap AM is supported" for any other routine, and heap's index build and
 * CREATE INDEX CONCURRENTLY validation scans use it.  The wrappers here
 * ("as heap" calls) run such a callback with rel->rd_tableam temporarily
 * set to heap's routine and restore it in PG_FINALLY, so an error can never
 * leave the relcache entry looking like a heap.
 *
 * Locking: the callers (CREATE INDEX, REINDEX, CIC, VACUUM FULL, CLUSTER,
 * ALTER TABLE rewrites) hold at least ShareLock or ShareUpdateExclusiveLock
 * on the table for the whole call, so no relcache rebuild of the entry can
 * happen in between; if one did, it would reset rd_tableam to ours and
 * heap_getnext would fail loudly, never silently.
 *
 * widecol/wc_delta.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tableam.h"
#include "utils/rel.h"

#include "widecol.h"

/* heap's index_build_range_scan, run with rd_tableam swapped to heap's */
static double
wc_index_build_range_scan(Relation table, Relation index,
						  struct IndexInfo *index_info, bool allow_sync,
						  bool anyvisible, bool progress,
						  BlockNumber start_blockno, BlockNumber numblocks,
						  IndexBuildCallback callback, void *callback_state,
						  TableScanDesc scan)
{
	const TableAmRoutine *heap = WcHeapRoutine();
	const TableAmRoutine *saved = table->rd_tableam;
	volatile double ntuples = 0;

	table->rd_tableam = heap;
	PG_TRY();
	{
		ntuples = heap->index_build_range_scan(table, index, index_info,
											   allow_sync, anyvisible, progress,
											   start_blockno, numblocks,
											   callback, callback_state, scan);
	}
	PG_FINALLY();
	{
		table->rd_tableam = saved;
	}
	PG_END_TRY();
	return ntuples;
}

/* heap's index_validate_scan (CIC phase 3), run with rd_tableam swapped */
static void
wc_index_validate_scan(Relation table, Relation index,
					   struct IndexInfo *index_info, Snapshot snapshot,
					   struct ValidateIndexState *state)
{
	const TableAmRoutine *heap = WcHeapRoutine();
	const TableAmRoutine *saved = table->rd_tableam;

	table->rd_tableam = heap;
	PG_TRY();
	{
		heap->index_validate_scan(table, index, index_info, snapshot, state);
	}
	PG_FINALLY();
	{
		table->rd_tableam = saved;
	}
	PG_END_TRY();
}

/* Install the heap-delegation callbacks into routine */
void
WcDeltaInitRoutine(TableAmRoutine *routine)
{
	routine->index_build_range_scan = wc_index_build_range_scan;
	routine->index_validate_scan = wc_index_validate_scan;
}
