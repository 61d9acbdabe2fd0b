/*-------------------------------------------------------------------------
 *
 * wc_keyclean.c
 *	  The mover's key index cleanup: remove the entries that no snapshot
 *	  can use before VACUUM would, so that the key index stays small while
 *	  rows keep arriving.
 *
 * Two kinds of such entries build up in the key index between VACUUMs:
 *	  - the entries of delta rows that earlier moves claimed, once their
 *		tuples are pruned to LP_DEAD items (the mover's delta scan prunes
 *		each page and notes its LP_DEAD items, WcKeyCleanNoteDead);
 *	  - the START and END entries of the runs of block tuples that tail
 *		merges replaced (wc_merge.c): a replaced block holds the runs of up
 *		to tens of partitions.
 * Both keep leaf pages full, so the entries of new rows split them, and
 * btree never merges pages back.  Measured with 5M events and 500k
 * single-row inserts: the key index grew from 5 MB to 30-41 MB with both
 * kept, and to 21 MB with only the second kept; a cold key scan reads a
 * larger index.
 *
 * Replaced blocks: WcKeyCleanNoteReplaced lists the TOAST TIDs of the
 * block tuples a move deletes in tail merges (WcMoveResult.replaced); the
 * background mover keeps the list in shared memory until its next visit
 * of the table (wc_worker.c) and passes it back (WcMoveParams.replaced).
 * Then each slot is looked at:
 *	  - an LP_DEAD item: every block tuple that ever sat in the slot is
 *		dead or gone, so all run entries that point at it go;
 *	  - a tuple that is DEAD now: its page is pruned first (as VACUUM's
 *		first pass prunes; the prune record carries the conflict horizon
 *		for standby queries, which btree's vacuum record does not), which
 *		makes it an LP_DEAD item;
 *	  - RECENTLY_DEAD or DELETE_IN_PROGRESS: an old snapshot may still read
 *		the block through those entries; it waits for a later visit;
 *	  - anything else (the TOAST relation's own VACUUM reclaimed the slot,
 *		which may hold a live tuple now): forgotten.  The entries left
 *		point at a vanished block tuple; scans skip them (block id check)
 *		and VACUUM removes them.
 * A slot that stays unchecked (no room left in the shared list, a failed
 * move, a restart) only leaves its entries to VACUUM, as before.
 *
 * The pass: when there is at least one removable entry per key index page
 * (an LP_DEAD delta item that the table's last cleanup did not see counts
 * one, a dead replaced block two: at least a START and an END), one
 * index_bulk_delete() pass over the key index removes them all, as
 * VACUUM's index pass would.  Dead blocks whose entries it did not remove
 * wait for the next visit.
 *
 * Locking and safety: the caller (WcMove) holds ShareUpdateExclusiveLock
 * on the table, so the table's VACUUM, which alone makes the delta's
 * LP_DEAD items unused, cannot run meanwhile; for replaced blocks the
 * pass also takes ShareUpdateExclusiveLock on the TOAST relation
 * conditionally (skipping them if a vacuum of it runs), so no slot it
 * found LP_DEAD can be reused by a new block tuple until its entries are
 * gone.  The pass runs before the move claims any row and never in a
 * transaction that already has an xid: btree waits for a cleanup lock on
 * each leaf page, and a keyscan that holds a leaf's pin while it waits for
 * the mover's transaction (an UPDATE of a row the mover claimed) would
 * wait forever, unseen by the deadlock detector.
 *
 * widecol/wc_keyclean.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "widecol.h"
#include "wc_cold.h"
#include "wc_compat.h"

/* What a replaced block's slot holds now (file header) */
typedef enum WcSlotState
{
	WC_SLOT_DEAD,				/* LP_DEAD: its run entries can go */
	WC_SLOT_WAIT,				/* not dead to every snapshot yet */
	WC_SLOT_GONE				/* reclaimed: forget it */
} WcSlotState;

/* Order of two TIDs, for qsort and bsearch */
static int
wc_keyclean_tid_cmp(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

/* Start a cleanup of the key index keyidx of rel */
void
WcKeyCleanInit(WcKeyClean *kc, Relation rel, Relation keyidx, Relation toastrel)
{
	memset(kc, 0, sizeof(WcKeyClean));
	kc->rel = rel;
	kc->keyidx = keyidx;
	kc->toastrel = toastrel;
	kc->maxdead = Max((Size) maintenance_work_mem * 1024 / 4 / sizeof(ItemPointerData),
					  MaxHeapTuplesPerPage);
}

/* Remember the LP_DEAD item (blkno, off) of the delta, while there is room */
void
WcKeyCleanNoteDead(WcKeyClean *kc, BlockNumber blkno, OffsetNumber off)
{
	if (kc->keyidx == NULL || kc->ndead >= kc->maxdead)
		return;
	if (kc->ndead == kc->deadcap)
	{
		int64		cap = Min(Max(kc->deadcap * 2, 1024), kc->maxdead);

		kc->dead = kc->dead == NULL ?
			MemoryContextAllocHuge(CurrentMemoryContext, sizeof(ItemPointerData) * cap) :
			repalloc_huge(kc->dead, sizeof(ItemPointerData) * cap);
		kc->deadcap = cap;
	}
	Assert(kc->ndead < kc->deadcap);
	/* ItemPointerSet is a macro that evaluates its pointer more than once */
	ItemPointerSet(&kc->dead[kc->ndead], blkno, off);
	kc->ndead++;
}

/*
 * Note that the current move deleted the block tuple at TOAST TID tid (a
 * tail merge), while the list has room
 */
void
WcKeyCleanNoteReplaced(WcMoveResult *result, const ItemPointerData *tid)
{
	if (result->nreplaced >= WC_MOVER_MAX_REPLACED)
		return;
	if (result->nreplaced == result->maxreplaced)
	{
		int			cap = Min(Max(result->maxreplaced * 2, 64), WC_MOVER_MAX_REPLACED);

		result->replaced = result->replaced == NULL ?
			palloc(sizeof(ItemPointerData) * cap) :
			repalloc(result->replaced, sizeof(ItemPointerData) * cap);
		result->maxreplaced = cap;
	}
	result->replaced[result->nreplaced++] = *tid;
}

/*
 * What the slot off of the pinned TOAST page buf holds now (file header);
 * a DEAD tuple is pruned to an LP_DEAD item if the page's cleanup lock is
 * free, else it waits.
 */
static WcSlotState
wc_keyclean_slot(WcKeyClean *kc, Buffer buf, OffsetNumber off,
				 TransactionId horizon)
{
	Page		page = BufferGetPage(buf);
	WcSlotState state = WC_SLOT_GONE;
	bool		prune = false;
	ItemId		lp;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	if (off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page))
	{
		lp = PageGetItemId(page, off);
		if (ItemIdIsDead(lp))
			state = WC_SLOT_DEAD;
		else if (ItemIdIsNormal(lp))
		{
			HeapTupleData tup;

			tup.t_data = (HeapTupleHeader) PageGetItem(page, lp);
			tup.t_len = ItemIdGetLength(lp);
			tup.t_tableOid = RelationGetRelid(kc->toastrel);
			ItemPointerSet(&tup.t_self, BufferGetBlockNumber(buf), off);
			switch (HeapTupleSatisfiesVacuum(&tup, horizon, buf))
			{
				case HEAPTUPLE_DEAD:
					prune = true;
					state = WC_SLOT_WAIT;
					break;
				case HEAPTUPLE_RECENTLY_DEAD:
				case HEAPTUPLE_DELETE_IN_PROGRESS:
					state = WC_SLOT_WAIT;
					break;
				default:
					break;
			}
		}
	}
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	if (prune && ConditionalLockBufferForCleanup(buf))
	{
		WcHeapPagePrune(kc->toastrel, buf);
		lp = PageGetItemId(page, off);
		if (ItemIdIsDead(lp))
			state = WC_SLOT_DEAD;
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	}
	return state;
}

/*
 * Look at the replaced blocks of params: the dead ones go into kc->blocks,
 * those that wait into result->replaced (file header)
 */
static void
wc_keyclean_replaced(WcKeyClean *kc, const WcMoveParams *params,
					 TransactionId horizon, WcMoveResult *result)
{
	ItemPointerData *tids;
	int			n = params->nreplaced;
	int			i;
	BlockNumber nblocks;
	Buffer		buf = InvalidBuffer;

	tids = palloc(sizeof(ItemPointerData) * n);
	memcpy(tids, params->replaced, sizeof(ItemPointerData) * n);
	qsort(tids, n, sizeof(ItemPointerData), wc_keyclean_tid_cmp);
	kc->blocks = palloc(sizeof(ItemPointerData) * n);
	nblocks = RelationGetNumberOfBlocks(kc->toastrel);
	for (i = 0; i < n; i++)
	{
		BlockNumber blkno = ItemPointerGetBlockNumber(&tids[i]);

		CHECK_FOR_INTERRUPTS();
		if ((i > 0 && ItemPointerEquals(&tids[i], &tids[i - 1])) ||
			blkno >= nblocks)
			continue;
		if (!BufferIsValid(buf) || BufferGetBlockNumber(buf) != blkno)
		{
			if (BufferIsValid(buf))
				ReleaseBuffer(buf);
			buf = ReadBuffer(kc->toastrel, blkno);
		}
		switch (wc_keyclean_slot(kc, buf, ItemPointerGetOffsetNumber(&tids[i]),
								 horizon))
		{
			case WC_SLOT_DEAD:
				kc->blocks[kc->nblocks++] = tids[i];
				break;
			case WC_SLOT_WAIT:
				WcKeyCleanNoteReplaced(result, &tids[i]);
				break;
			case WC_SLOT_GONE:
				break;
		}
	}
	if (BufferIsValid(buf))
		ReleaseBuffer(buf);
	pfree(tids);
}

/*
 * Bulk delete callback: is itemptr an LP_DEAD delta item, or a run entry of
 * a dead replaced block?
 */
static bool
wc_keyclean_reaped(ItemPointer itemptr, void *state)
{
	WcKeyClean *kc = (WcKeyClean *) state;

	if (WcTidRunKind(itemptr) != 0)
	{
		ItemPointerData blocktid;

		if (kc->nblocks == 0)
			return false;
		WcTidRunBlockTid(itemptr, &blocktid);
		return bsearch(&blocktid, kc->blocks, kc->nblocks,
					   sizeof(ItemPointerData), wc_keyclean_tid_cmp) != NULL;
	}
	if (kc->ndead == 0 || !WcTidIsDelta(itemptr))
		return false;
	return bsearch(itemptr, kc->dead, kc->ndead, sizeof(ItemPointerData),
				   wc_keyclean_tid_cmp) != NULL;
}

/* Remove the entries of kc from the key index (one index_bulk_delete pass) */
static void
wc_keyclean_bulk_delete(WcKeyClean *kc, WcMoveResult *result)
{
	IndexVacuumInfo ivinfo;
	IndexBulkDeleteResult *stats;

	LockRelation(kc->keyidx, RowExclusiveLock);
	memset(&ivinfo, 0, sizeof(ivinfo));
	ivinfo.index = kc->keyidx;
	ivinfo.analyze_only = false;
	ivinfo.report_progress = false;
	ivinfo.estimated_count = true;
	ivinfo.message_level = DEBUG2;
	ivinfo.num_heap_tuples = -1;
	ivinfo.strategy = GetAccessStrategy(BAS_VACUUM);
	WcIndexVacuumInfoSetHeap(&ivinfo, kc->rel);
	stats = index_bulk_delete(&ivinfo, NULL, wc_keyclean_reaped, kc);
	if (stats != NULL)
	{
		result->key_entries_removed = (int64) stats->tuples_removed;
		pfree(stats);
	}
	FreeAccessStrategy(ivinfo.strategy);
}

/*
 * Run the cleanup (file header) with the delta's LP_DEAD items noted so
 * far and, for the background mover, the replaced blocks of params.  The
 * replaced blocks to look at again next time go into result->replaced.
 */
void
WcKeyCleanRun(WcKeyClean *kc, const WcMoveParams *params,
			  TransactionId horizon, WcMoveResult *result)
{
	Oid			toastrelid = RelationGetRelid(kc->toastrel);
	bool		allowed = !TransactionIdIsValid(GetTopTransactionIdIfAny());
	bool		toast_locked = false;
	int64		seen = 0;
	int64		removable;
	int			i;

	result->dead_items = kc->ndead;
	if (params != NULL && params->dead_cleaned <= kc->ndead)
		seen = params->dead_cleaned;	/* fewer now: VACUUM ran since */
	if (params != NULL && params->nreplaced > 0)
	{
		if (allowed && kc->keyidx != NULL &&
			ConditionalLockRelationOid(toastrelid, ShareUpdateExclusiveLock))
		{
			toast_locked = true;
			wc_keyclean_replaced(kc, params, horizon, result);
		}
		else
		{
			for (i = 0; i < params->nreplaced; i++)
				WcKeyCleanNoteReplaced(result, &params->replaced[i]);
		}
	}
	removable = kc->ndead - seen + 2 * (int64) kc->nblocks;
	if (allowed && kc->keyidx != NULL && removable > 0 &&
		removable >= RelationGetNumberOfBlocks(kc->keyidx))
	{
		wc_keyclean_bulk_delete(kc, result);
		result->key_cleaned = true;
		result->replaced_cleaned = kc->nblocks;
	}
	else
	{
		/* dead blocks stay LP_DEAD items: look at them again next time */
		for (i = 0; i < kc->nblocks; i++)
			WcKeyCleanNoteReplaced(result, &kc->blocks[i]);
	}
	if (toast_locked)
		UnlockRelationOid(toastrelid, ShareUpdateExclusiveLock);
	if (kc->dead != NULL)
		pfree(kc->dead);
	if (kc->blocks != NULL)
		pfree(kc->blocks);
	kc->dead = NULL;
	kc->blocks = NULL;
	kc->ndead = kc->nblocks = 0;
}
