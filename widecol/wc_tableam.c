/*-------------------------------------------------------------------------
 *
 * wc_tableam.c
 *	  The widecol TableAmRoutine and its handler function.
 *
 * Design: the delta tier (fresh rows) is a heap in the table's own main
 * fork, written and read by heapam with the widecol Relation (decision D1
 * of DESIGN.md); the cold tier is compressed blocks in the table's TOAST
 * relation (D2).  The routine starts as a copy of heap's; every callback
 * that can meet a cold row, or that heap could not run on a non-heap
 * relation, is replaced by the module that owns it:
 *
 *	  wc_scan.c		scans, TID checks, ANALYZE, TABLESAMPLE, relation_size
 *	  wc_fetch.c	index fetches, row fetches, snapshot checks, index entry
 *					deletion requests
 *	  wc_delta.c	inserts (physical-size mode), update/delete/lock with
 *					the cold dispatch, latest TID, index build/validation
 *	  wc_vacuum.c	VACUUM, VACUUM FULL and CLUSTER
 *
 * Each of them tells cold TIDs from delta TIDs by offset (WcTidIsCold) and
 * hands delta TIDs to heap's callback.  Bitmap scans are declined (D10):
 * with scan_bitmap_next_block NULL the planner builds no bitmap paths, and
 * tidbitmap.c could not hold cold offsets anyway.  TID range scans are
 * declined the same way.  relation_toast_am is heap: the TOAST relation
 * is a plain heap (heap's callback would return our AM).
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
#include "wc_cold.h"

static TableAmRoutine wc_routine;
static bool wc_routine_ready = false;

/* The TOAST table of a widecol table is a plain heap */
static Oid
wc_relation_toast_am(Relation rel)
{
	return HEAP_TABLE_AM_OID;
}

/* Every widecol table has a TOAST relation: it holds the cold tier */
static bool
wc_relation_needs_toast_table(Relation rel)
{
	return true;
}

/* The widecol routine: heap's, with the overrides described above */
const TableAmRoutine *
WcGetRoutine(void)
{
	if (!wc_routine_ready)
	{
		wc_routine = *WcHeapRoutine();
		wc_routine.relation_toast_am = wc_relation_toast_am;
		wc_routine.relation_needs_toast_table = wc_relation_needs_toast_table;
		WcDeltaInitRoutine(&wc_routine);
		WcScanInitRoutine(&wc_routine);
		WcFetchInitRoutine(&wc_routine);
		WcVacuumInitRoutine(&wc_routine);
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
