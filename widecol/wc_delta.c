/*-------------------------------------------------------------------------
 *
 * wc_delta.c
 *	  Heap delegation for the delta tier: physical-size mode, the "as
 *	  heap" wrappers, and DML on delta rows that the mover redirected.
 *
 * The delta is a heap in the table's main fork (D1), written and read by
 * heapam with the widecol Relation.
 *
 * Physical-size mode (DESIGN.md 2.1): outside heap code our relation_size
 * reports delta blocks + TOAST blocks, the virtual block space in which
 * ANALYZE and TABLESAMPLE sample both tiers.  Heap code that sizes the
 * relation (initscan, RelationGetBufferForTuple, lazy vacuum) must see the
 * physical size, so every call into it runs with wc_physical_depth > 0.
 * Per-row paths increment and decrement without PG_TRY; an error in
 * between is repaired by the (sub)transaction callbacks, which restore the
 * depth saved when the (sub)transaction started.
 *
 * "As heap" calls: heap_getnext() refuses a relation whose rd_tableam is
 * not heap's, and heap's index build, CIC validation and cluster copy use
 * it; those run with rel->rd_tableam temporarily set to heap's routine,
 * restored in PG_FINALLY.  The callers hold at least ShareLock or
 * ShareUpdateExclusiveLock, so no relcache rebuild happens meanwhile (one
 * would reset the pointer and make heap_getnext fail loudly).
 *
 * Moved rows (DESIGN.md 7.3): the mover deletes a delta row and sets its
 * t_ctid to the row's new cold TID.  Heap then reports TM_Updated with a
 * cold ctid to anyone who read the delta copy and now updates, deletes or
 * locks it; that is a move, not an update, so the operation continues on
 * the cold TID at every isolation level (no 40001 where heap has none).
 * Heap's own chain following would read the cold TID as a heap page, so
 * tuple_lock never passes TUPLE_LOCK_FLAG_FIND_LAST_VERSION to heap and
 * follows versions one hop at a time here; tuple_get_latest_tid likewise.
 * For the same reason a lock that would make heap follow "updates in
 * progress" first waits for a running deleter (wc_wait_for_mover).
 *
 * widecol/wc_delta.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "widecol.h"
#include "wc_cold.h"

int			wc_physical_depth = 0;

/* Depth saved at the start of each open subtransaction, by nesting level */
static int *wc_saved_depth = NULL;
static int	wc_saved_depth_size = 0;

/* Top-level abort: no physical-mode section survives it */
static void
wc_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		wc_physical_depth = 0;
}

/* Subtransaction start saves the depth, its abort restores it */
static void
wc_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();

	if (event == SUBXACT_EVENT_START_SUB)
	{
		if (level >= wc_saved_depth_size)
		{
			int			newsize = Max(16, level * 2);

			if (wc_saved_depth == NULL)
				wc_saved_depth = MemoryContextAllocZero(TopMemoryContext,
														newsize * sizeof(int));
			else
				wc_saved_depth = repalloc(wc_saved_depth, newsize * sizeof(int));
			wc_saved_depth_size = newsize;
		}
		wc_saved_depth[level] = wc_physical_depth;
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB && level < wc_saved_depth_size)
		wc_physical_depth = wc_saved_depth[level];
}

/* Register the transaction callbacks (from _PG_init) */
void
WcDeltaInitCallbacks(void)
{
	RegisterXactCallback(wc_xact_callback, NULL);
	RegisterSubXactCallback(wc_subxact_callback, NULL);
}

/* heap's index_build_range_scan as heap, then the cold rows */
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

	if (scan != NULL)
		elog(ERROR, "parallel index builds are not supported on widecol tables");
	table->rd_tableam = heap;
	PG_TRY();
	{
		ntuples = heap->index_build_range_scan(table, index, index_info,
											   allow_sync, anyvisible, progress,
											   start_blockno, numblocks,
											   callback, callback_state, NULL);
	}
	PG_FINALLY();
	{
		table->rd_tableam = saved;
	}
	PG_END_TRY();

	/* a block range (BRIN summarization) covers delta pages only */
	if (start_blockno == 0 && numblocks == InvalidBlockNumber)
		ntuples += WcIndexBuildCold(table, index, index_info,
									index_info->ii_Concurrent,
									callback, callback_state);
	return ntuples;
}

/*
 * heap's index_validate_scan (CIC phase 3), run as heap.  Cold rows need
 * no validation: CIC holds ShareUpdateExclusiveLock throughout, as does
 * the mover, so no cold block appears between build and validation.  A
 * REINDEX CONCURRENTLY copy of the key index gets the tombstone hints its
 * build may have missed (wc_indexes.c).
 */
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
	if (WcIsRunIndex(table, index))
		WcIndexValidateHints(table, index);
}

/* INSERT into the delta */
static void
wc_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
				int options, struct BulkInsertStateData *bistate)
{
	WC_PHYSICAL_BEGIN();
	WcHeapRoutine()->tuple_insert(rel, slot, cid, options, bistate);
	WC_PHYSICAL_END();
}

/* Speculative INSERT (ON CONFLICT) into the delta */
static void
wc_tuple_insert_speculative(Relation rel, TupleTableSlot *slot, CommandId cid,
							int options, struct BulkInsertStateData *bistate,
							uint32 specToken)
{
	WC_PHYSICAL_BEGIN();
	WcHeapRoutine()->tuple_insert_speculative(rel, slot, cid, options,
											  bistate, specToken);
	WC_PHYSICAL_END();
}

/* COPY / multi-row INSERT into the delta */
static void
wc_multi_insert(Relation rel, TupleTableSlot **slots, int nslots,
				CommandId cid, int options, struct BulkInsertStateData *bistate)
{
	WC_PHYSICAL_BEGIN();
	WcHeapRoutine()->multi_insert(rel, slots, nslots, cid, options, bistate);
	WC_PHYSICAL_END();
}

/* DELETE: cold rows by tombstone, delta rows by heap (following moves) */
TM_Result
WcTupleDelete(Relation rel, ItemPointer tid, CommandId cid, Snapshot snapshot,
			  Snapshot crosscheck, bool wait, TM_FailureData *tmfd,
			  bool changingPart)
{
	TM_Result	res;

	if (WcTidIsCold(tid))
		return WcColdDelete(rel, tid, cid, crosscheck, wait, tmfd, changingPart);
	res = WcHeapRoutine()->tuple_delete(rel, tid, cid, snapshot, crosscheck,
										wait, tmfd, changingPart);
	if (res == TM_Updated && WcTidIsCold(&tmfd->ctid))
	{
		ItemPointerData cold = tmfd->ctid;

		WcMoveCheckSnapshot(rel, tmfd->xmax);
		return WcColdDelete(rel, &cold, cid, crosscheck, wait, tmfd, changingPart);
	}
	return res;
}

/* UPDATE: cold rows by tombstone + delta insert, delta rows by heap */
TM_Result
WcTupleUpdate(Relation rel, ItemPointer otid, TupleTableSlot *slot,
			  CommandId cid, Snapshot snapshot, Snapshot crosscheck,
			  bool wait, TM_FailureData *tmfd, LockTupleMode *lockmode,
			  bool *update_indexes)
{
	TM_Result	res;

	if (WcTidIsCold(otid))
		return WcColdUpdate(rel, otid, slot, cid, crosscheck, wait, tmfd,
							lockmode, update_indexes);
	WC_PHYSICAL_BEGIN();
	res = WcHeapRoutine()->tuple_update(rel, otid, slot, cid, snapshot,
										crosscheck, wait, tmfd, lockmode,
										update_indexes);
	WC_PHYSICAL_END();
	if (res == TM_Updated && WcTidIsCold(&tmfd->ctid))
	{
		ItemPointerData cold = tmfd->ctid;

		WcMoveCheckSnapshot(rel, tmfd->xmax);
		return WcColdUpdate(rel, &cold, slot, cid, crosscheck, wait, tmfd,
							lockmode, update_indexes);
	}
	return res;
}

/* True if the delta tuple at tid exists and was inserted by priorXmax */
static bool
wc_delta_version_follows(Relation rel, ItemPointer tid, TransactionId priorXmax)
{
	BlockNumber blk = ItemPointerGetBlockNumber(tid);
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	Buffer		buf;
	Page		page;
	ItemId		lp;
	bool		result = false;

	if (blk >= table_block_relation_size(rel, MAIN_FORKNUM) / BLCKSZ)
		return false;
	buf = ReadBuffer(rel, blk);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page))
	{
		lp = PageGetItemId(page, off);
		if (ItemIdIsNormal(lp))
			result = TransactionIdEquals(HeapTupleHeaderGetXmin((HeapTupleHeader) PageGetItem(page, lp)),
										 priorXmax);
	}
	UnlockReleaseBuffer(buf);
	return result;
}

/*
 * Before heap locks delta tuple tid: if a running transaction has deleted
 * it or changed its key (xmax a plain xid, HEAP_KEYS_UPDATED), wait for
 * that transaction first.  Every lock mode conflicts with such a change, so
 * heap would wait too; but after waiting, when asked to lock updated
 * versions (TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS), heap follows the
 * t_ctid it read before sleeping, and if the deleter is a mover whose
 * redirect is already written that is a cold TID, which heap would read as
 * a heap page.  After our wait heap sees a finished deleter and reports
 * TM_Updated (followed by WcTupleLock) without following anything.  Only a
 * mover that deletes the tuple and writes its redirect between this check
 * and heap's own read could still get through; the mover writes redirects
 * at the end of each batch, long after its deletes.  Returns false if the
 * wait policy forbids waiting.
 */
static bool
wc_wait_for_mover(Relation rel, ItemPointer tid, LockWaitPolicy policy)
{
	BlockNumber blk = ItemPointerGetBlockNumber(tid);
	OffsetNumber off = ItemPointerGetOffsetNumber(tid);
	TransactionId mover = InvalidTransactionId;	/* the deleter */
	Buffer		buf;
	Page		page;

	if (blk >= table_block_relation_size(rel, MAIN_FORKNUM) / BLCKSZ)
		return true;
	buf = ReadBuffer(rel, blk);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page) &&
		ItemIdIsNormal(PageGetItemId(page, off)))
	{
		HeapTupleHeader htup = (HeapTupleHeader) PageGetItem(page, PageGetItemId(page, off));

		if (!(htup->t_infomask & (HEAP_XMAX_INVALID | HEAP_XMAX_IS_MULTI)) &&
			!HEAP_XMAX_IS_LOCKED_ONLY(htup->t_infomask) &&
			(htup->t_infomask2 & HEAP_KEYS_UPDATED))
			mover = HeapTupleHeaderGetRawXmax(htup);
	}
	UnlockReleaseBuffer(buf);
	if (!TransactionIdIsValid(mover) || !TransactionIdIsInProgress(mover))
		return true;
	switch (policy)
	{
		case LockWaitBlock:
			XactLockTableWait(mover, rel, tid, XLTW_Lock);
			return true;
		case LockWaitSkip:
			return ConditionalXactLockTableWait(mover);
		case LockWaitError:
			if (!ConditionalXactLockTableWait(mover))
				ereport(ERROR,
						(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
						 errmsg("could not obtain lock on row in relation \"%s\"",
								RelationGetRelationName(rel))));
			return true;
	}
	return true;
}

/*
 * Row lock with heap's semantics over both tiers.  Versions are followed
 * one hop at a time: a move (delta -> cold) always, as it is the same row;
 * an update only with TUPLE_LOCK_FLAG_FIND_LAST_VERSION.  Without the
 * flag the caller keeps its TID, and after a move gets the delta copy it
 * read (its later UPDATE follows the move again).
 */
TM_Result
WcTupleLock(Relation rel, ItemPointer tid, Snapshot snapshot,
			TupleTableSlot *slot, CommandId cid, LockTupleMode mode,
			LockWaitPolicy wait_policy, uint8 flags, TM_FailureData *tmfd)
{
	const TableAmRoutine *heap = WcHeapRoutine();
	bool		follow = (flags & TUPLE_LOCK_FLAG_FIND_LAST_VERSION) != 0;
	uint8		hflags = flags & ~TUPLE_LOCK_FLAG_FIND_LAST_VERSION;
	ItemPointerData orig = *tid;
	ItemPointerData cur = *tid;
	bool		traversed = false;
	bool		moved = false;
	TransactionId priorXmax = InvalidTransactionId;
	TM_Result	res;

	for (;;)
	{
		if (WcTidIsCold(&cur))
			res = WcColdLock(rel, &cur, snapshot, slot, cid, mode, wait_policy,
							 tmfd);
		else if (TransactionIdIsValid(priorXmax) &&
				 !wc_delta_version_follows(rel, &cur, priorXmax))
		{
			res = TM_Deleted;
			tmfd->ctid = cur;
			break;
		}
		else if ((hflags & TUPLE_LOCK_FLAG_LOCK_UPDATE_IN_PROGRESS) &&
				 !wc_wait_for_mover(rel, &cur, wait_policy))
		{
			res = TM_WouldBlock;
			tmfd->ctid = cur;
			break;
		}
		else
			res = heap->tuple_lock(rel, &cur, snapshot, slot, cid, mode,
								   wait_policy, hflags, tmfd);

		if (res != TM_Updated || !ItemPointerIsValid(&tmfd->ctid) ||
			ItemPointerIndicatesMovedPartitions(&tmfd->ctid) ||
			ItemPointerEquals(&tmfd->ctid, &cur))
			break;
		if (!WcTidIsCold(&cur) && WcTidIsCold(&tmfd->ctid))
		{
			WcMoveCheckSnapshot(rel, tmfd->xmax);
			cur = tmfd->ctid;
			moved = true;
			priorXmax = InvalidTransactionId;
			continue;
		}
		if (!follow)
			break;
		priorXmax = tmfd->xmax;
		cur = tmfd->ctid;
		traversed = true;
	}

	if (!follow)
	{
		*tid = orig;
		if (res == TM_Ok && moved)
			heap->tuple_fetch_row_version(rel, tid, SnapshotAny, slot);
		tmfd->traversed = false;
	}
	else
	{
		*tid = cur;
		tmfd->traversed = traversed || moved;
	}
	return res;
}

/*
 * tuple_get_latest_tid over both tiers: heap's loop, one hop at a time,
 * so that a move into the cold tier is followed instead of being read as
 * a heap page.
 */
void
WcGetLatestTid(TableScanDesc scan, ItemPointer tid)
{
	Relation	rel = scan->rs_rd;
	Snapshot	snapshot = scan->rs_snapshot;
	ItemPointerData ctid = *tid;
	TransactionId priorXmax = InvalidTransactionId;
	BlockNumber nblocks = table_block_relation_size(rel, MAIN_FORKNUM) / BLCKSZ;

	for (;;)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber off;
		ItemId		lp;
		HeapTupleData tp;
		bool		valid;

		CHECK_FOR_INTERRUPTS();
		if (WcTidIsCold(&ctid))
		{
			ItemPointerData next;
			TransactionId xmin;

			if (WcColdRowVisible(rel, &ctid, snapshot))
				*tid = ctid;
			if (!WcColdSuccessor(rel, &ctid, &next, &xmin) ||
				!ItemPointerIsValid(&next))
				break;
			ctid = next;
			priorXmax = xmin;
			continue;
		}

		if (ItemPointerGetBlockNumber(&ctid) >= nblocks)
			break;
		buf = ReadBuffer(rel, ItemPointerGetBlockNumber(&ctid));
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		off = ItemPointerGetOffsetNumber(&ctid);
		if (off < FirstOffsetNumber || off > PageGetMaxOffsetNumber(page))
		{
			UnlockReleaseBuffer(buf);
			break;
		}
		lp = PageGetItemId(page, off);
		if (!ItemIdIsNormal(lp))
		{
			UnlockReleaseBuffer(buf);
			break;
		}
		tp.t_self = ctid;
		tp.t_tableOid = RelationGetRelid(rel);
		tp.t_data = (HeapTupleHeader) PageGetItem(page, lp);
		tp.t_len = ItemIdGetLength(lp);
		if (TransactionIdIsValid(priorXmax) &&
			!TransactionIdEquals(priorXmax, HeapTupleHeaderGetXmin(tp.t_data)))
		{
			UnlockReleaseBuffer(buf);
			break;
		}
		valid = HeapTupleSatisfiesVisibility(&tp, snapshot, buf);
		if (valid)
			*tid = ctid;
		if ((tp.t_data->t_infomask & HEAP_XMAX_INVALID) ||
			HeapTupleHeaderIsOnlyLocked(tp.t_data) ||
			HeapTupleHeaderIndicatesMovedPartitions(tp.t_data) ||
			ItemPointerEquals(&tp.t_self, &tp.t_data->t_ctid))
		{
			UnlockReleaseBuffer(buf);
			break;
		}
		ctid = tp.t_data->t_ctid;
		priorXmax = WcTidIsCold(&ctid) ? InvalidTransactionId :
			HeapTupleHeaderGetUpdateXid(tp.t_data);
		UnlockReleaseBuffer(buf);
	}
}

/* Install the heap-delegation callbacks into routine */
void
WcDeltaInitRoutine(TableAmRoutine *routine)
{
	routine->index_build_range_scan = wc_index_build_range_scan;
	routine->index_validate_scan = wc_index_validate_scan;
	routine->tuple_insert = wc_tuple_insert;
	routine->tuple_insert_speculative = wc_tuple_insert_speculative;
	routine->multi_insert = wc_multi_insert;
	routine->tuple_delete = WcTupleDelete;
	routine->tuple_update = WcTupleUpdate;
	routine->tuple_lock = WcTupleLock;
	routine->tuple_get_latest_tid = WcGetLatestTid;
}
