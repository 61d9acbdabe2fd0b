/*-------------------------------------------------------------------------
 *
 * wc_fetch.c
 *	  Index fetches over both tiers, and index entry deletion requests.
 *
 * Delta TIDs go to heap's index fetch (HOT chains, predicate locks).  A
 * cold TID (Xb, 292 + r) is served from a small LRU cache of decoded
 * blocks, so an index scan that returns many rows of one block decodes it
 * once (decoding per row is the classic columnar failure).  Each cache
 * entry keeps its TOAST buffer pinned: the pin keeps the block tuple in
 * place for the per-fetch visibility check of the block tuple, and serves
 * as the slot's buffer for ExecStoreBufferHeapTuple, so rows are handed
 * out without copying.  The row's tombstone is looked up per fetch (one
 * TOAST index probe), because its visibility depends on the snapshot and
 * on concurrent writers.  Under SERIALIZABLE a fetch records heap's
 * conflicts out for the block tuple and the tombstone, and locks the row
 * (PredicateLockTID) before it reads the tombstone (wc_serializable.c).
 *
 * index_delete_tuples: btree asks the table which index entries are dead.
 * Heap's callback reads each TID's heap page, so cold TIDs and the key
 * index's run entries are taken out of the request and never reported
 * deletable; VACUUM removes the entries of dead cold rows and blocks
 * (wc_vacuum.c).  A run entry fetched as a row raises an error: only the
 * keyscan knows what it means.
 *
 * Locking: AccessShareLock on the TOAST relation and its indexes for the
 * life of the fetch descriptor; buffer share locks only for visibility.
 *
 * widecol/wc_fetch.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "miscadmin.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "storage/bufmgr.h"
#include "storage/procarray.h"
#include "storage/predicate.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "widecol.h"
#include "wc_cold.h"

#define WC_FETCH_CACHE_SIZE 4

typedef struct WcFetchCacheEntry
{
	Oid			blockid;		/* InvalidOid: empty */
	Buffer		buf;			/* pinned TOAST buffer of the block tuple */
	HeapTupleData btup;			/* the block tuple, in buf's page */
	WcDecodedBlock *blk;
	MemoryContext cxt;
	uint64		used;			/* LRU clock */
} WcFetchCacheEntry;

typedef struct WcIndexFetchData
{
	IndexFetchTableData base;
	IndexFetchTableData *heap;
	MemoryContext cxt;			/* where the fetches began: lives as long */
	bool		storage_open;
	WcStorage	st;
	WcFetchCacheEntry cache[WC_FETCH_CACHE_SIZE];
	uint64		clock;
	Oid			cur_blockid;
} WcIndexFetchData;

/* Begin index fetches: heap's descriptor plus an empty block cache */
static IndexFetchTableData *
wc_index_fetch_begin(Relation rel)
{
	WcIndexFetchData *f = palloc0(sizeof(WcIndexFetchData));

	f->base.rel = rel;
	f->cxt = CurrentMemoryContext;
	f->heap = WcHeapRoutine()->index_fetch_begin(rel);
	/* cache entries get their memory context when first filled */
	return &f->base;
}

/* Empty one cache entry */
static void
wc_cache_evict(WcFetchCacheEntry *e)
{
	if (!OidIsValid(e->blockid))
		return;
	ReleaseBuffer(e->buf);
	MemoryContextReset(e->cxt);
	e->blockid = InvalidOid;
	e->blk = NULL;
}

/* Reset between index rescans; the cache stays (blocks are immutable) */
static void
wc_index_fetch_reset(IndexFetchTableData *scan)
{
	WcIndexFetchData *f = (WcIndexFetchData *) scan;

	WcHeapRoutine()->index_fetch_reset(f->heap);
}

/* End index fetches */
static void
wc_index_fetch_end(IndexFetchTableData *scan)
{
	WcIndexFetchData *f = (WcIndexFetchData *) scan;
	int			i;

	WcHeapRoutine()->index_fetch_end(f->heap);
	for (i = 0; i < WC_FETCH_CACHE_SIZE; i++)
	{
		wc_cache_evict(&f->cache[i]);
		if (f->cache[i].cxt != NULL)
			MemoryContextDelete(f->cache[i].cxt);
	}
	if (f->storage_open)
		WcStorageClose(&f->st);
	pfree(f);
}

/* The cache entry of blockid, loading it if needed; NULL if no block */
static WcFetchCacheEntry *
wc_cache_get(WcIndexFetchData *f, Oid blockid)
{
	Relation	rel = f->base.rel;
	WcFetchCacheEntry *victim = NULL;
	ErrorContextCallback errcb;
	Oid			chunk_id;
	int32		seq;
	const char *data;
	Size		len;
	int			i;

	for (i = 0; i < WC_FETCH_CACHE_SIZE; i++)
	{
		WcFetchCacheEntry *e = &f->cache[i];

		if (e->blockid == blockid)
		{
			e->used = ++f->clock;
			return e;
		}
		if (victim == NULL || !OidIsValid(e->blockid) ||
			(OidIsValid(victim->blockid) && e->used < victim->used))
			victim = e;
	}

	if (!WcStorageExists(rel))
		return NULL;
	if (!f->storage_open)
	{
		MemoryContext old = MemoryContextSwitchTo(f->cxt);

		WcStorageOpen(&f->st, rel, AccessShareLock);
		MemoryContextSwitchTo(old);
		f->storage_open = true;
	}
	wc_cache_evict(victim);
	if (victim->cxt == NULL)
		victim->cxt = AllocSetContextCreate(f->cxt, "widecol fetch block",
											ALLOCSET_SMALL_SIZES);
	f->cur_blockid = blockid;
	WcStoragePushContext(&errcb, rel, &f->cur_blockid);
	if (!WcStorageGetBlock(&f->st, blockid, &victim->buf, &victim->btup))
	{
		WcStoragePopContext(&errcb);
		return NULL;
	}
	victim->blockid = blockid;
	victim->used = ++f->clock;
	WcStorageGetChunk(&victim->btup, RelationGetDescr(f->st.toastrel),
					  &chunk_id, &seq, &data, &len);
	if (data == NULL)
		WcCorrupted(rel, blockid, "block tuple has no inline data");
	/* lazily: a fetch by TID rebuilds only its row's group */
	victim->blk = WcBlockDecodeLazy(rel, blockid, data, len,
									victim->btup.t_data, victim->cxt);
	WcStoragePopContext(&errcb);
	return victim;
}

/* Fetch the row at tid if snapshot sees it */
static bool
wc_index_fetch_tuple(IndexFetchTableData *scan, ItemPointer tid,
					 Snapshot snapshot, TupleTableSlot *slot,
					 bool *call_again, bool *all_dead)
{
	WcIndexFetchData *f = (WcIndexFetchData *) scan;
	Relation	rel = f->base.rel;
	WcFetchCacheEntry *e;
	int			row;
	bool		visible;
	TransactionId deleter;

	if (WcTidIsDelta(tid))
	{
		bool		found = WcHeapRoutine()->index_fetch_tuple(f->heap, tid, snapshot,
															   slot, call_again,
															   all_dead);

		if (found)
			WcDeltaMovedLock(rel, ((BufferHeapTupleTableSlot *) slot)->base.tuple,
							 snapshot);
		return found;
	}
	if (!WcTidIsCold(tid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot fetch a row of widecol table \"%s\" by index entry (%u,%u)",
						RelationGetRelationName(rel),
						ItemPointerGetBlockNumberNoCheck(tid),
						ItemPointerGetOffsetNumberNoCheck(tid)),
				 errdetail("Run entries of the key index address cold blocks, not rows; only the widecol keyscan reads them.")));
	*call_again = false;
	if (all_dead)
		*all_dead = false;

	e = wc_cache_get(f, WcTidBlock(tid));
	row = WcTidRow(tid);
	if (e == NULL || row >= e->blk->nrows)
		return false;
	visible = WcBlockTupleVisible(&e->btup, snapshot, e->buf);
	WcBlockConflictOut(rel, visible, &e->btup, e->buf, snapshot);
	if (!visible)
		return false;
	/* lock before reading the tombstone (wc_serializable.c) */
	if (IsMVCCSnapshot(snapshot))
		PredicateLockTID(rel, tid, snapshot,
						 HeapTupleHeaderGetXmin(e->btup.t_data));
	visible = !WcRowHidden(&f->st, e->blockid, row, snapshot, &deleter);
	WcRowConflictOut(rel, WcBlockRow(e->blk, row), visible, deleter, snapshot);
	if (!visible)
		return false;
	ExecStoreBufferHeapTuple(WcBlockRow(e->blk, row), slot, e->buf);
	slot->tts_tableOid = RelationGetRelid(rel);
	return true;
}

/*
 * Which index entries are dead: heap's answer for delta TIDs; cold TIDs
 * are removed from the request (never deleted here).
 */
static TransactionId
wc_index_delete_tuples(Relation rel, TM_IndexDeleteOp *delstate)
{
	int			n = 0;
	int			i;

	for (i = 0; i < delstate->ndeltids; i++)
	{
		if (WcTidIsDelta(&delstate->deltids[i].tid))
			delstate->deltids[n++] = delstate->deltids[i];
	}
	delstate->ndeltids = n;
	if (n == 0)
		return InvalidTransactionId;
	return WcHeapRoutine()->index_delete_tuples(rel, delstate);
}

/* Cold or delta: fetch one row version (EvalPlanQual, RETURNING, TID scan) */
static bool
wc_tuple_fetch_row_version(Relation rel, ItemPointer tid, Snapshot snapshot,
						   TupleTableSlot *slot)
{
	if (WcTidIsCold(tid))
		return WcColdFetch(rel, tid, snapshot, slot);
	return WcHeapRoutine()->tuple_fetch_row_version(rel, tid, snapshot, slot);
}

/* Cold or delta: does snapshot see the row in slot? */
static bool
wc_tuple_satisfies_snapshot(Relation rel, TupleTableSlot *slot,
							Snapshot snapshot)
{
	if (WcTidIsCold(&slot->tts_tid))
		return WcColdRowVisible(rel, &slot->tts_tid, snapshot);
	return WcHeapRoutine()->tuple_satisfies_snapshot(rel, slot, snapshot);
}

/* Install the fetch callbacks into routine */
void
WcFetchInitRoutine(TableAmRoutine *routine)
{
	routine->index_fetch_begin = wc_index_fetch_begin;
	routine->index_fetch_reset = wc_index_fetch_reset;
	routine->index_fetch_end = wc_index_fetch_end;
	routine->index_fetch_tuple = wc_index_fetch_tuple;
	routine->index_delete_tuples = wc_index_delete_tuples;
	routine->tuple_fetch_row_version = wc_tuple_fetch_row_version;
	routine->tuple_satisfies_snapshot = wc_tuple_satisfies_snapshot;
}
