/*-------------------------------------------------------------------------
 *
 * wc_merge.c
 *	  Tail merges: the mover rewrites a partition's last block together
 *	  with the few rows it moves for that partition, and forward maps lead
 *	  modifiers holding an old cold TID to the row's new one.
 *
 * Why: a mover run that moves a handful of rows of a partition would
 * append them as a run of their own, in a block shared with other
 * partitions' small runs, and "latest N" would then read and decode two
 * blocks.  When the partition's last block holds at most
 * widecol.tail_merge_factor times as many rows as are being moved (fewer
 * than WC_MERGE_MAX_ROWS for this partition; counted over every partition
 * whose last run the block holds), the mover reads that block, deletes it,
 * and feeds the partition's run ahead of the new rows to the block
 * builder, whose tail rule then keeps the newest rows together in one
 * block.  The block's runs of other partitions keep their rows and keys:
 * they go into blocks of their own, or, for a later partition with new
 * rows of its own, ahead of those (wc_mover.c), so runs stay disjoint.
 * The factor bounds the rows rewritten per row moved (write
 * amplification).
 *
 * MVCC: the old block tuple is deleted and the new ones inserted by the
 * mover's transaction M, as for moved delta rows (DESIGN.md 2.5): a
 * snapshot that does not see M reads the old block, one that does reads
 * the new blocks, and every index holds entries for both until VACUUM
 * removes those of the dead block.  Only blocks that every snapshot sees
 * (xmin before the horizon) and that nobody has deleted, updated or
 * locked a row of are merged, so no tombstone has to follow its row.
 *
 * Locking protocol against modifiers of the block's rows (wc_cold.c):
 *	  1. M takes the tuple lock of every row of the block with
 *		 ConditionalLockTuple(ExclusiveLock), the lock a modifier holds
 *		 while it reads and writes the row's tombstones; if any is taken,
 *		 the block is not merged;
 *	  2. M reads the block's tombstones: a DELETE/UPDATE tombstone that is
 *		 not aborted, or a lock tombstone of a running transaction, and the
 *		 block is not merged; lock tombstones of finished transactions are
 *		 obsolete and M deletes them;
 *	  3. M deletes the block tuple (heap_delete), then releases the tuple
 *		 locks.
 * A modifier checks, under the row's tuple lock and after reading its
 * tombstones, whether the block tuple is deleted: by a running M it waits
 * for M and retries; by a committed M it looks the row up in the block's
 * forward map and retries on the row's new TID, at every isolation level
 * (the row's contents did not change: a move, not an update).
 *
 * Forward map: a tuple (Xb, -2) in the TOAST relation whose payload is the
 * new TID of each row of block Xb.  M inserts it and deletes it at once:
 * no snapshot ever sees it, but a SnapshotAny lookup finds it for as long
 * as the old block tuple exists, because both become dead for VACUUM at
 * the same time (when M is older than every snapshot).  A modifier can
 * hold an old TID only through a snapshot that saw the old block, and such
 * a snapshot keeps both from being removed.
 *
 * widecol/wc_merge.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/xact.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/hsearch.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "widecol.h"
#include "wc_cold.h"

int			wc_tail_merge_factor = 16;

/* Payload of a forward map tuple */
typedef struct WcForwardMap
{
	uint16		nrows;
	uint16		pad;
	ItemPointerData tids[FLEXIBLE_ARRAY_MEMBER];	/* new TID of each row */
} WcForwardMap;

/* The forward map being built for one merged block */
typedef struct WcForwardEntry
{
	Oid			blockid;		/* hash key */
	int			nrows;
	ItemPointerData tids[WC_MAX_BLOCK_ROWS];
} WcForwardEntry;

/* Release the tuple locks of rows 0..n-1 of blockid */
static void
wc_merge_unlock(Relation rel, Oid blockid, int n)
{
	int			r;

	for (r = 0; r < n; r++)
	{
		ItemPointerData tid;

		WcTidMake(&tid, blockid, r);
		UnlockTuple(rel, &tid, ExclusiveLock);
	}
}

/*
 * Step 2 of the protocol: false if a tombstone of blockid keeps it from
 * being merged; else the obsolete lock tombstones are deleted.
 */
static bool
wc_merge_check_tombs(WcStorage *st, Oid blockid)
{
	ScanKeyData keys[3];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		ok = true;
	List	   *obsolete = NIL;
	ListCell   *lc;

	scan = WcTombScanBegin(st, blockid, true, keys);
	while (ok && (tup = systable_getnext(scan)) != NULL)
	{
		SnapshotData dirty;
		Oid			chunk_id;
		int32		seq;

		if (!WcDirtyVisible(tup, ((BufferHeapTupleTableSlot *) scan->slot)->buffer,
							&dirty))
			continue;			/* aborted, or deleted by a committed xact */
		WcStorageGetChunk(tup, RelationGetDescr(st->toastrel), &chunk_id, &seq,
						  NULL, NULL);
		if (seq >= WC_SEQ_TOMB_LAST || TransactionIdIsValid(dirty.xmin) ||
			TransactionIdIsValid(dirty.xmax))
			ok = false;			/* a row deleted or updated, or locked now */
		else
		{
			ItemPointer tid = palloc(sizeof(ItemPointerData));

			*tid = tup->t_self;
			obsolete = lappend(obsolete, tid);
		}
	}
	systable_endscan(scan);
	if (ok)
		foreach(lc, obsolete)
			simple_heap_delete(st->toastrel, (ItemPointer) lfirst(lc));
	list_free_deep(obsolete);
	return ok;
}

/*
 * Pin the block tuple of block blockid at TOAST TID blocktid and find its
 * payload (*data is NULL if it has none inline); false if it is not there.
 */
static bool
wc_merge_fetch(WcStorage *st, ItemPointer blocktid, Oid blockid, Buffer *buf,
			   HeapTupleData *btup, const char **data, Size *len)
{
	Oid			found;
	Oid			chunk_id;
	int32		seq;

	if (!WcStorageFetchAt(st, blocktid, buf, btup, &found))
		return false;
	if (found != blockid)
	{
		ReleaseBuffer(*buf);
		return false;
	}
	WcStorageGetChunk(btup, RelationGetDescr(st->toastrel), &chunk_id, &seq,
					  data, len);
	return true;
}

/*
 * Rows of the block whose block tuple is at TOAST TID blocktid (block id
 * blockid), or -1 if it is not there: what WcMergeTake weighs against the
 * new rows, for the mover's plan (wc_mover_plan).
 */
int
WcMergeBlockRows(WcStorage *st, ItemPointer blocktid, Oid blockid)
{
	Buffer		buf;
	HeapTupleData btup;
	const char *data;
	Size		len;
	WcBlockSummary sum;

	if (!wc_merge_fetch(st, blocktid, blockid, &buf, &btup, &data, &len))
		return -1;
	sum.nrows = -1;
	if (data != NULL)
		WcBlockSummarize(st->rel, blockid, data, len, &sum);
	ReleaseBuffer(buf);
	return sum.nrows;
}

/*
 * Take the block tuple at TOAST TID blocktid (block id blockid, the last
 * block of a partition) for a tail merge with newrows moved rows: if it may
 * be merged (file header), delete it in the current transaction and return
 * its rows decoded into cxt; else return NULL and change nothing.
 */
WcDecodedBlock *
WcMergeTake(WcStorage *st, ItemPointer blocktid, Oid blockid,
			TransactionId horizon, int newrows, MemoryContext cxt)
{
	Relation	rel = st->rel;
	Buffer		buf;
	HeapTupleData btup;
	const char *data;
	Size		len;
	WcBlockSummary sum;
	HTSV_Result res;
	WcDecodedBlock *blk = NULL;
	TM_FailureData tmfd;
	int			locked = 0;

	if (!wc_merge_fetch(st, blocktid, blockid, &buf, &btup, &data, &len))
		return NULL;
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	res = HeapTupleSatisfiesVacuum(&btup, horizon, buf);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	if (res != HEAPTUPLE_LIVE || data == NULL ||
		!TransactionIdPrecedes(HeapTupleHeaderGetXmin(btup.t_data), horizon))
	{
		ReleaseBuffer(buf);
		return NULL;
	}
	WcBlockSummarize(rel, blockid, data, len, &sum);
	if (sum.nrows > (int64) wc_tail_merge_factor * newrows)
	{
		ReleaseBuffer(buf);
		return NULL;
	}

	/* 1: the tuple locks of its rows */
	for (; locked < sum.nrows; locked++)
	{
		ItemPointerData tid;

		WcTidMake(&tid, blockid, locked);
		if (!ConditionalLockTuple(rel, &tid, ExclusiveLock))
			break;
	}
	/* 2 and 3: no tombstone in the way, then delete the block tuple */
	if (locked == sum.nrows && wc_merge_check_tombs(st, blockid) &&
		heap_delete(st->toastrel, &btup.t_self, GetCurrentCommandId(true),
					InvalidSnapshot, false, &tmfd, false) == TM_Ok)
		blk = WcBlockDecode(rel, blockid, data, len, btup.t_data, cxt);
	wc_merge_unlock(rel, blockid, locked);
	ReleaseBuffer(buf);
	return blk;
}

/* Remember that row oldtid of a merged block now lives at newtid */
void
WcMergeNoteMove(HTAB **maps, ItemPointer oldtid, ItemPointer newtid)
{
	Oid			blockid = WcTidBlock(oldtid);
	WcForwardEntry *e;
	bool		found;
	int			row = WcTidRow(oldtid);

	if (*maps == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(WcForwardEntry);
		ctl.hcxt = CurrentMemoryContext;
		*maps = hash_create("widecol forward maps", 256, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(*maps, &blockid, HASH_ENTER, &found);
	if (!found)
	{
		e->nrows = 0;
		memset(e->tids, 0, sizeof(e->tids));
	}
	e->tids[row] = *newtid;
	e->nrows = Max(e->nrows, row + 1);
}

/*
 * Store the forward maps of the merged blocks (file header): each is
 * inserted and deleted by the current transaction.
 */
void
WcMergeWriteMaps(WcStorage *st, HTAB *maps)
{
	HASH_SEQ_STATUS hs;
	WcForwardEntry *e;
	List	   *tids = NIL;
	ListCell   *lc;

	if (maps == NULL)
		return;
	hash_seq_init(&hs, maps);
	while ((e = hash_seq_search(&hs)) != NULL)
	{
		Size		len = offsetof(WcForwardMap, tids) + sizeof(ItemPointerData) * e->nrows;
		WcForwardMap *map = palloc0(len);
		ItemPointer tid = palloc(sizeof(ItemPointerData));

		map->nrows = e->nrows;
		memcpy(map->tids, e->tids, sizeof(ItemPointerData) * e->nrows);
		WcStorageInsert(st, e->blockid, WC_SEQ_FORWARD, map, len, tid);
		tids = lappend(tids, tid);
		pfree(map);
	}
	CommandCounterIncrement();
	foreach(lc, tids)
		simple_heap_delete(st->toastrel, (ItemPointer) lfirst(lc));
	list_free_deep(tids);
}

/*
 * The new TID of row `row` of block blockid, which transaction mover
 * deleted in a tail merge, from the block's forward map.  Returns false if
 * there is no map (VACUUM FULL drops the maps of the blocks it re-forms;
 * only a transaction whose snapshot predates the merge could still hold
 * such a row, and it gets a serialization failure first); raises XX001 if
 * the map does not name the row.
 */
bool
WcMergeForward(WcStorage *st, Oid blockid, int row, TransactionId mover,
			   ItemPointer newtid)
{
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;
	bool		mapped = false;

	scan = WcStorageScanSeq(st, blockid, WC_SEQ_FORWARD, keys);
	while ((tup = systable_getnext(scan)) != NULL)
	{
		Oid			chunk_id;
		int32		seq;
		const char *data;
		Size		len;
		WcForwardMap map;

		/* maps of aborted merges linger until VACUUM: take the mover's */
		if (!TransactionIdEquals(HeapTupleHeaderGetRawXmin(tup->t_data), mover))
			continue;
		mapped = true;
		WcStorageGetChunk(tup, RelationGetDescr(st->toastrel), &chunk_id, &seq,
						  &data, &len);
		if (data == NULL || len < offsetof(WcForwardMap, tids))
			break;
		memcpy(&map, data, offsetof(WcForwardMap, tids));
		if (row >= map.nrows ||
			len != offsetof(WcForwardMap, tids) + sizeof(ItemPointerData) * map.nrows)
			break;
		memcpy(newtid, data + offsetof(WcForwardMap, tids) + sizeof(ItemPointerData) * row,
			   sizeof(ItemPointerData));
		found = WcTidIsCold(newtid);
		break;
	}
	systable_endscan(scan);
	if (mapped && !found)
		WcCorrupted(st->rel, blockid,
					"row %d was merged into another block, but the block's forward map does not name it",
					row);
	return found;
}

/*
 * A modifier is about to follow a row that transaction mover moved (delta
 * to cold, or a tail merge).  A transaction-snapshot transaction
 * (REPEATABLE READ, SERIALIZABLE) whose snapshot does not see the move
 * would go on reading the row's old copy beside its own change: raise the
 * serialization failure heap raises for a row updated since the snapshot.
 */
void
WcMoveCheckSnapshot(Relation rel, TransactionId mover)
{
	if (IsolationUsesXactSnapshot() && TransactionIdIsValid(mover) &&
		!TransactionIdIsCurrentTransactionId(mover) &&
		XidInMVCCSnapshot(mover, GetTransactionSnapshot()))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent update"),
				 errdetail("The row was moved within widecol table \"%s\" after the transaction's snapshot was taken.",
						   RelationGetRelationName(rel))));
}
