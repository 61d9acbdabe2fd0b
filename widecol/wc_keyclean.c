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
 * btree never merges pages back; keyscans also step over the dead blocks
 * until VACUUM.  Measured with 5M events and 500k single-row inserts: the
 * key index grew from 5 MB to 30-41 MB with both kept, to 21 MB with only
 * the second kept, and still to 20 MB with neither (the delta rows' own
 * entries at their peak split leaves too); a cold key scan and the key
 * index read-ahead read a larger index.
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
 * one, a dead replaced block two per run), one index_bulk_delete() pass
 * over the key index removes them all, as VACUUM's index pass would.  Dead
 * blocks whose entries it did not remove wait for the next visit.  The
 * list keeps at most WC_MOVER_MAX_REPLACED_TABLE blocks per table, so that
 * one table cannot take the whole shared list.
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

StaticAssertDecl(offsetof(WcReplacedBlock, tid) == 0,
				 "wc_keyclean_tid_cmp orders WcReplacedBlocks by their first member");

/*
 * Order of two TIDs, for qsort and bsearch; also of WcReplacedBlocks, whose
 * first member is their TID
 */
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
 * Note a block tuple that a tail merge of the current move deleted, or one
 * to look at again at the next move, while the list has room (the
 * background mover keeps WC_MOVER_MAX_REPLACED_TABLE per table)
 */
void
WcKeyCleanNoteReplaced(WcMoveResult *result, const WcReplacedBlock *blk)
{
	if (result->nreplaced >= WC_MOVER_MAX_REPLACED_TABLE)
		return;
	if (result->nreplaced == result->maxreplaced)
	{
		int			cap = Min(Max(result->maxreplaced * 2, 64),
							  WC_MOVER_MAX_REPLACED_TABLE);

		result->replaced = result->replaced == NULL ?
			palloc(sizeof(WcReplacedBlock) * cap) :
			repalloc(result->replaced, sizeof(WcReplacedBlock) * cap);
		result->maxreplaced = cap;
	}
	result->replaced[result->nreplaced++] = *blk;
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

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	if (off >= FirstOffsetNumber && off <= PageGetMaxOffsetNumber(page))
	{
		ItemId		lp = PageGetItemId(page, off);

		if (ItemIdIsDead(lp))
			state = WC_SLOT_DEAD;
		else if (ItemIdIsNormal(lp))
		{
			HeapTupleData tup;

			WcPageTuple(kc->toastrel, page, BufferGetBlockNumber(buf), off, &tup);
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
		if (off <= PageGetMaxOffsetNumber(page) &&
			ItemIdIsDead(PageGetItemId(page, off)))
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
	WcReplacedBlock *blks;
	int			n = params->nreplaced;
	int			i;
	BlockNumber nblocks;
	Buffer		buf = InvalidBuffer;

	blks = palloc(sizeof(WcReplacedBlock) * n);
	memcpy(blks, params->replaced, sizeof(WcReplacedBlock) * n);
	qsort(blks, n, sizeof(WcReplacedBlock), wc_keyclean_tid_cmp);
	kc->blocks = palloc(sizeof(WcReplacedBlock) * n);
	nblocks = RelationGetNumberOfBlocks(kc->toastrel);
	for (i = 0; i < n; i++)
	{
		ItemPointer tid = &blks[i].tid;
		BlockNumber blkno = ItemPointerGetBlockNumber(tid);

		CHECK_FOR_INTERRUPTS();
		if ((i > 0 && ItemPointerEquals(tid, &blks[i - 1].tid)) ||
			blkno >= nblocks)
			continue;
		if (!BufferIsValid(buf) || BufferGetBlockNumber(buf) != blkno)
		{
			if (BufferIsValid(buf))
				ReleaseBuffer(buf);
			buf = ReadBuffer(kc->toastrel, blkno);
		}
		switch (wc_keyclean_slot(kc, buf, ItemPointerGetOffsetNumber(tid),
								 horizon))
		{
			case WC_SLOT_DEAD:
				kc->blocks[kc->nblocks++] = blks[i];
				kc->nblockentries += 2 * (int64) Max(blks[i].nruns, 1);
				break;
			case WC_SLOT_WAIT:
				WcKeyCleanNoteReplaced(result, &blks[i]);
				break;
			case WC_SLOT_GONE:
				break;
		}
	}
	if (BufferIsValid(buf))
		ReleaseBuffer(buf);
	pfree(blks);
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
		WcReplacedBlock *blk;

		if (kc->nblocks == 0)
			return false;
		WcTidRunBlockTid(itemptr, &blocktid);
		blk = bsearch(&blocktid, kc->blocks, kc->nblocks,
					  sizeof(WcReplacedBlock), wc_keyclean_tid_cmp);
		if (blk == NULL)
			return false;
		kc->matched[blk - kc->blocks] = true;
		return true;
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
	removable = kc->ndead - seen + kc->nblockentries;
	if (allowed && kc->keyidx != NULL && removable > 0 &&
		removable >= RelationGetNumberOfBlocks(kc->keyidx))
	{
		if (kc->nblocks > 0)
			kc->matched = palloc0(sizeof(bool) * kc->nblocks);
		wc_keyclean_bulk_delete(kc, result);
		result->key_cleaned = true;
		for (i = 0; i < kc->nblocks; i++)
			result->replaced_cleaned += kc->matched[i] ? 1 : 0;
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
	if (kc->matched != NULL)
		pfree(kc->matched);
	kc->dead = NULL;
	kc->blocks = NULL;
	kc->matched = NULL;
	kc->ndead = kc->nblocks = kc->nblockentries = 0;
}
