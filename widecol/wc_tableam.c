/*-------------------------------------------------------------------------
 *
 * wc_tableam.c
 *	  The widecol TableAmRoutine and its handler function.
 *
 * Design (decision D1 of DESIGN.md): the rows of a widecol table live in
 * the table's own main fork in heap format and are written and read by
 * heapam, called with the widecol Relation.  The routine therefore starts
 * as a copy of heap's and overrides only what breaks when rd_tableam is
 * not heap's:
 *
 *	  relation_toast_am		heap's returns rel->rd_rel->relam, which would
 *							make the TOAST table a widecol table; it must be
 *							a plain heap.
 *	  index_build_range_scan, index_validate_scan
 *							heap's use heap_getnext(), which refuses any
 *							relation whose rd_tableam is not heap's ("only
 *							heap AM is supported"); wc_delta.c runs them with
 *							rd_tableam swapped to heap's.
 *
 * Everything else (scans, DML, row locks, ON CONFLICT, TOAST, VACUUM, VACUUM
 * FULL and CLUSTER, ANALYZE, TRUNCATE, parallel and bitmap scans, predicate
 * locks) is heap's code running on the widecol relation, so it behaves
 * exactly as on heap.  VACUUM FULL and CLUSTER need no swap: heap's
 * copy_for_cluster reads through table_scan_getnextslot or an index scan,
 * neither of which checks the routine, and writes with the rewrite module.  The cold tier of
 * later phases turns this file into the dispatcher between delta and cold
 * TIDs.
 *
 * The handler refuses to work unless widecol was preloaded: the options
 * and their protection live in hooks that exist only then.  The routine is
 * a static struct, filled once per backend.
 *
 * widecol/wc_tableam.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/tableam.h"
#include "catalog/pg_am_d.h"
#include "fmgr.h"

#include "widecol.h"

static TableAmRoutine wc_routine;
static bool wc_routine_ready = false;

/* The TOAST table of a widecol table is a plain heap */
static Oid
wc_relation_toast_am(Relation rel)
{
	return HEAP_TABLE_AM_OID;
}

/* The widecol routine: heap's, with the overrides described above */
const TableAmRoutine *
WcGetRoutine(void)
{
	if (!wc_routine_ready)
	{
		wc_routine = *WcHeapRoutine();
		wc_routine.relation_toast_am = wc_relation_toast_am;
		WcDeltaInitRoutine(&wc_routine);
		wc_routine_ready = true;
	}
	return &wc_routine;
}

PG_FUNCTION_INFO_V1(widecol_tableam_handler);

/* Table access method handler of widecol */
Datum
widecol_tableam_handler(PG_FUNCTION_ARGS)
{
	WcCheckPreloaded();
	PG_RETURN_POINTER(WcGetRoutine());
}
