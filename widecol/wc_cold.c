/*-------------------------------------------------------------------------
 *
 * wc_cold.c
 *	  Cold row visibility, and DELETE / UPDATE / row locks of cold rows
 *	  through MVCC tombstones.
 *
 * Visibility (DESIGN.md 2.4): cold row (Xb, r) is visible to a snapshot
 * iff the block tuple (Xb, -1) is, and no DELETE/UPDATE tombstone
 * (Xb, -(3+r)) is.  Lock tombstones (Xb, -(294+r)) never hide a row.
 * Under SnapshotDirty (unique checks, ON CONFLICT arbiters) an in-progress
 * block insert sets snapshot->xmin and an in-progress tombstone sets
 * snapshot->xmax, as heap's HeapTupleSatisfiesDirty does, so inserters
 * wait exactly as for heap rows.
 *
 * Modification protocol (DESIGN.md 2.6; instead of the design's block pin,
 * the tuple lock of step 1 also guards against tail merges, wc_merge.c):
 *	  1. LockTuple(rel, coldtid, ExclusiveLock) serializes the modifiers of
 *		 one row while they inspect and write its tombstones (cold TIDs never
 *		 collide with heap tuple lock tags: the offsets differ);
 *	  2. the row's tombstones are read with SnapshotDirty:
 *		 - a DELETE/UPDATE tombstone of an in-progress transaction: unlock,
 *		   wait for it (XactLockTableWait, or skip/error per wait policy),
 *		   retry;
 *		 - one committed: TM_Updated (ctid = successor) or TM_Deleted, as
 *		   heap reports a concurrent update, so READ COMMITTED rechecks with
 *		   EvalPlanQual and REPEATABLE READ raises 40001;
 *		 - one of our own transaction: TM_SelfModified / TM_Invisible by
 *		   command id, as heap;
 *		 - a lock tombstone of an in-progress transaction: wait unless the
 *		   modes are compatible (DELETE and UPDATE are treated as
 *		   LockTupleExclusive; two lockers of one row serialize because a row
 *		   has one lock slot: documented deviation);
 *		 - otherwise the block tuple: deleted by a running tail merge, wait
 *		   for it and retry; by a committed one, unlock and retry on the
 *		   row's new TID from the block's forward map;
 *	  3. act: insert the tombstone (UPDATE first inserts the new version into
 *		 the delta), then check for SERIALIZABLE predicate locks on the row
 *		 (after the insert: wc_serializable.c explains the order), then
 *		 insert its hint in the key index (the keyscan reads a block's
 *		 tombstones only when a hint names the block), or for a lock
 *		 replace a stale lock tombstone by ours;
 *	  4. UnlockTuple.  Tombstones are heap tuples: rollback, savepoints and
 *		 crash recovery undo them like any row.
 *
 * Locking: besides the transient tuple lock, writers open the TOAST
 * relation with RowExclusiveLock; readers with AccessShareLock.
 *
 * widecol/wc_cold.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/itup.h"
#include "access/relscan.h"
#include "miscadmin.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "storage/bufmgr.h"
#include "storage/procarray.h"
#include "storage/lmgr.h"
#include "storage/predicate.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "widecol.h"
#include "wc_cold.h"

typedef enum WcColdOp
{
	WC_OP_DELETE,
	WC_OP_UPDATE,
	WC_OP_LOCK
} WcColdOp;

/* The live version of one tombstone key, as seen with SnapshotDirty */
typedef struct WcTombInfo
{
	bool		found;
	bool		own;			/* inserted by our transaction */
	bool		inprogress;		/* inserted by another running transaction */
	TransactionId xmin;
	CommandId	cmin;
	ItemPointerData tid;		/* of the tombstone tuple */
	WcTombstone data;
} WcTombInfo;

/* Copy a tombstone payload, raising XX001 if it is malformed */
static void
wc_read_tomb_payload(WcStorage *st, Oid blockid, HeapTuple tup, WcTombstone *out)
{
	Oid			chunk_id;
	int32		seq;
	const char *data;
	Size		len;

	WcStorageGetChunk(tup, RelationGetDescr(st->toastrel), &chunk_id, &seq,
					  &data, &len);
	if (data == NULL || len != sizeof(WcTombstone) ||
		((WcTombstone *) data)->kind < WC_TOMB_DELETE ||
		((WcTombstone *) data)->kind > WC_TOMB_LOCK)
		WcCorrupted(st->rel, blockid, "tombstone %d is malformed", seq);
	memcpy(out, data, sizeof(WcTombstone));
}

/*
 * Is TOAST tuple tup (in the pinned buffer buf) visible to a dirty
 * snapshot, which *dirty is then (xmin/xmax: a running inserter/deleter)?
 */
bool
WcDirtyVisible(HeapTuple tup, Buffer buf, SnapshotData *dirty)
{
	bool		vis;

	InitDirtySnapshot(*dirty);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	vis = HeapTupleSatisfiesVisibility(tup, dirty, buf);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	return vis;
}

/* Read the live version of tombstone (blockid, seq) with SnapshotDirty */
static void
wc_get_tomb(WcStorage *st, Oid blockid, int32 seq, WcTombInfo *info)
{
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;

	memset(info, 0, sizeof(WcTombInfo));
	scan = WcStorageScanSeq(st, blockid, seq, keys);
	while ((tup = systable_getnext(scan)) != NULL)
	{
		SnapshotData dirty;

		if (!WcDirtyVisible(tup, ((BufferHeapTupleTableSlot *) scan->slot)->buffer,
							&dirty))
			continue;			/* aborted, or deleted by a committed xact */
		/* prefer a version nobody is deleting (a lock being replaced) */
		if (info->found && TransactionIdIsValid(dirty.xmax))
			continue;
		info->found = true;
		info->xmin = HeapTupleHeaderGetXmin(tup->t_data);
		info->own = TransactionIdIsCurrentTransactionId(info->xmin);
		info->inprogress = TransactionIdIsValid(dirty.xmin);
		info->cmin = info->own ? HeapTupleHeaderGetCmin(tup->t_data) : InvalidCommandId;
		info->tid = tup->t_self;
		wc_read_tomb_payload(st, blockid, tup, &info->data);
	}
	systable_endscan(scan);
}

/* Heap's conflict table for tuple lock modes */
static bool
wc_modes_conflict(LockTupleMode held, LockTupleMode req)
{
	static const bool conflicts[4][4] = {
		/* held: KeyShare, Share, NoKeyExclusive, Exclusive */
		{false, false, false, true},
		{false, false, true, true},
		{false, true, true, true},
		{true, true, true, true}
	};

	return conflicts[held][req];
}

/*
 * Wait for xid per policy.  Returns false when the caller must give up
 * (LockWaitSkip); raises 55P03 for LockWaitError.
 */
static bool
wc_wait_for(Relation rel, ItemPointer tid, TransactionId xid,
			LockWaitPolicy policy, XLTW_Oper oper)
{
	switch (policy)
	{
		case LockWaitBlock:
			XactLockTableWait(xid, rel, tid, oper);
			return true;
		case LockWaitSkip:
			return ConditionalXactLockTableWait(xid);
		case LockWaitError:
			if (!ConditionalXactLockTableWait(xid))
				ereport(ERROR,
						(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
						 errmsg("could not obtain lock on row in relation \"%s\"",
								RelationGetRelationName(rel))));
			return true;
	}
	return false;				/* keep compiler quiet */
}

/*
 * Is block blockid being deleted by a tail merge (TM_BeingModified), or
 * deleted by a committed one (TM_Deleted), or neither (TM_Ok)?  *mover
 * receives the deleting transaction.
 */
static TM_Result
wc_block_state(WcStorage *st, Oid blockid, CommandId cid, TransactionId *mover)
{
	Buffer		buf;
	HeapTupleData btup;
	TM_Result	res;

	*mover = InvalidTransactionId;
	if (!WcStorageGetBlock(st, blockid, &buf, &btup))
		return TM_Ok;			/* callers that need the block check first */
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	res = HeapTupleSatisfiesUpdate(&btup, cid, buf);
	*mover = HeapTupleHeaderGetUpdateXid(btup.t_data);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	ReleaseBuffer(buf);
	if (res == TM_Updated)
		res = TM_Deleted;
	if (res != TM_Deleted && res != TM_BeingModified)
		res = TM_Ok;
	return res;
}

/*
 * Steps 1-2 of the protocol.  On TM_Ok the tuple lock is held and *lock
 * describes the row's lock tombstone; otherwise nothing is held and tmfd
 * is filled.  nowait (DELETE/UPDATE with wait = false) returns
 * TM_BeingModified instead of waiting.  A row whose block a tail merge
 * rewrote is followed to its new place: *tid is updated (wc_merge.c).
 */
static TM_Result
wc_cold_acquire(WcStorage *st, ItemPointer tid, CommandId cid, WcColdOp op,
				LockTupleMode mode, LockWaitPolicy policy, bool nowait,
				TM_FailureData *tmfd, WcTombInfo *lock)
{
	Relation	rel = st->rel;
	Oid			blockid = WcTidBlock(tid);
	int			row = WcTidRow(tid);
	Buffer		buf;
	HeapTupleData btup;
	TM_Result	bres;
	XLTW_Oper	oper = op == WC_OP_LOCK ? XLTW_Lock :
		op == WC_OP_UPDATE ? XLTW_Update : XLTW_Delete;

	if (!WcStorageGetBlock(st, blockid, &buf, &btup))
		elog(ERROR, "cold row (%u,%u) of widecol table \"%s\" has no block",
			 blockid, ItemPointerGetOffsetNumberNoCheck(tid),
			 RelationGetRelationName(rel));
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	bres = HeapTupleSatisfiesUpdate(&btup, cid, buf);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	ReleaseBuffer(buf);
	if (bres == TM_Invisible)
		return TM_Invisible;

	for (;;)
	{
		WcTombInfo del;
		TransactionId waitxid = InvalidTransactionId;

		if (policy == LockWaitBlock)
			LockTuple(rel, tid, ExclusiveLock);
		else if (!ConditionalLockTuple(rel, tid, ExclusiveLock))
		{
			if (policy == LockWaitSkip)
				return TM_WouldBlock;
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("could not obtain lock on row in relation \"%s\"",
							RelationGetRelationName(rel))));
		}

		wc_get_tomb(st, blockid, WC_SEQ_TOMB(row), &del);
		wc_get_tomb(st, blockid, WC_SEQ_LOCK(row), lock);

		if (del.found && del.own)
		{
			UnlockTuple(rel, tid, ExclusiveLock);
			tmfd->xmax = del.xmin;
			tmfd->ctid = del.data.kind == WC_TOMB_UPDATE ? del.data.successor : *tid;
			if (del.cmin >= cid)
			{
				tmfd->cmax = del.cmin;
				return TM_SelfModified;
			}
			tmfd->cmax = InvalidCommandId;
			return TM_Invisible;
		}
		if (del.found && !del.inprogress)
		{
			UnlockTuple(rel, tid, ExclusiveLock);
			tmfd->xmax = del.xmin;
			tmfd->cmax = InvalidCommandId;
			if (del.data.kind == WC_TOMB_UPDATE)
			{
				tmfd->ctid = del.data.successor;
				return TM_Updated;
			}
			tmfd->ctid = *tid;
			if (del.data.moved_partitions)
			{
				ItemPointerSetMovedPartitions(&tmfd->ctid);
				return TM_Updated;
			}
			return TM_Deleted;
		}
		if (del.found)
			waitxid = del.xmin;
		else if (lock->found && !lock->own && lock->inprogress &&
				 (op == WC_OP_LOCK ||
				  wc_modes_conflict((LockTupleMode) lock->data.mode, mode)))
			waitxid = lock->xmin;
		else
		{
			/* a tail merge deleted the block, or is deleting it (wc_merge.c) */
			TransactionId mover;

			bres = wc_block_state(st, blockid, cid, &mover);
			if (bres == TM_Deleted)
			{
				ItemPointerData newtid;

				UnlockTuple(rel, tid, ExclusiveLock);
				WcMoveCheckSnapshot(rel, mover);
				if (!WcMergeForward(st, blockid, row, mover, &newtid))
				{
					tmfd->xmax = mover;
					tmfd->cmax = InvalidCommandId;
					tmfd->ctid = *tid;
					return TM_Deleted;
				}
				*tid = newtid;
				blockid = WcTidBlock(tid);
				row = WcTidRow(tid);
				continue;
			}
			if (bres == TM_BeingModified)
				waitxid = mover;
		}

		if (!TransactionIdIsValid(waitxid))
			return TM_Ok;

		UnlockTuple(rel, tid, ExclusiveLock);
		if (nowait)
		{
			tmfd->xmax = waitxid;
			tmfd->cmax = InvalidCommandId;
			tmfd->ctid = *tid;
			return TM_BeingModified;
		}
		if (!wc_wait_for(rel, tid, waitxid, policy, oper))
		{
			tmfd->xmax = waitxid;
			tmfd->cmax = InvalidCommandId;
			tmfd->ctid = *tid;
			return TM_WouldBlock;
		}
	}
}

/*
 * Insert the tombstone hint of cold row tid into the key index (DESIGN.md
 * 2.7): the keyscan learns from it that the row's block has tombstones.
 */
static void
wc_put_hint(WcStorage *st, ItemPointer tid)
{
	Relation	rel = st->rel;
	Oid			blockid = WcTidBlock(tid);
	Buffer		buf;
	HeapTupleData btup;
	MemoryContext cxt;
	WcDecodedBlock *blk;
	const char *data;
	Size		len;
	Oid			chunk_id;
	int32		seq;

	if (!OidIsValid(WcGetKeyIndexInfo(rel)->keyindex))
		return;
	if (!WcStorageGetBlock(st, blockid, &buf, &btup))
		elog(ERROR, "cold block %u of widecol table \"%s\" vanished",
			 blockid, RelationGetRelationName(rel));
	cxt = AllocSetContextCreate(CurrentMemoryContext, "widecol hint",
								ALLOCSET_DEFAULT_SIZES);
	WcStorageGetChunk(&btup, RelationGetDescr(st->toastrel), &chunk_id, &seq,
					  &data, &len);
	if (data == NULL)
		WcCorrupted(rel, blockid, "block tuple has no inline data");
	blk = WcBlockDecode(rel, blockid, data, len, btup.t_data, cxt);
	if (WcTidRow(tid) < blk->nrows)
		WcIndexInsertHint(rel, &blk->rows[WcTidRow(tid)]);
	MemoryContextDelete(cxt);
	ReleaseBuffer(buf);
}

/* Insert a DELETE/UPDATE tombstone for tid, and its key index hint */
static void
wc_put_tomb(WcStorage *st, ItemPointer tid, uint8 kind, ItemPointer successor,
			bool moved)
{
	WcTombstone t;

	memset(&t, 0, sizeof(t));
	t.kind = kind;
	t.moved_partitions = moved;
	if (successor)
		t.successor = *successor;
	else
		ItemPointerSetInvalid(&t.successor);
	WcStorageInsert(st, WcTidBlock(tid), WC_SEQ_TOMB(WcTidRow(tid)), &t,
					sizeof(t), NULL);

	/*
	 * Check for predicate locks only now that the tombstone is in the TOAST
	 * index: a serializable reader locks the row before it reads the
	 * tombstones, so either it finds ours or we find its lock (heap gets
	 * the same from holding the buffer lock across both).
	 */
	CheckForSerializableConflictIn(st->rel, tid, WcTidBlock(tid));
	wc_put_hint(st, tid);
}

/* DELETE of a cold row (table_tuple_delete on a cold TID) */
TM_Result
WcColdDelete(Relation rel, ItemPointer tid, CommandId cid, Snapshot crosscheck,
			 bool wait, TM_FailureData *tmfd, bool changingPart)
{
	WcStorage	st;
	WcTombInfo	lock;
	TM_Result	res;
	ItemPointerData cur = *tid;	/* where the row is (tail merges move it) */

	WcStorageOpen(&st, rel, RowExclusiveLock);
	res = wc_cold_acquire(&st, &cur, cid, WC_OP_DELETE, LockTupleExclusive,
						  LockWaitBlock, !wait, tmfd, &lock);
	if (res == TM_Ok)
	{
		wc_put_tomb(&st, &cur, WC_TOMB_DELETE, NULL, changingPart);
		UnlockTuple(rel, &cur, ExclusiveLock);
	}
	WcStorageClose(&st);
	return res;
}

/*
 * UPDATE of a cold row: the new version goes to the delta (heap insert,
 * invisible to the current command like heap's new version), then an
 * UPDATE tombstone pointing at it hides the old one.
 */
TM_Result
WcColdUpdate(Relation rel, ItemPointer otid, TupleTableSlot *slot,
			 CommandId cid, Snapshot crosscheck, bool wait,
			 TM_FailureData *tmfd, LockTupleMode *lockmode,
			 bool *update_indexes)
{
	WcStorage	st;
	WcTombInfo	lock;
	TM_Result	res;
	ItemPointerData cur = *otid;	/* where the row is (tail merges move it) */

	*lockmode = LockTupleExclusive;
	*update_indexes = false;
	WcStorageOpen(&st, rel, RowExclusiveLock);
	res = wc_cold_acquire(&st, &cur, cid, WC_OP_UPDATE, LockTupleExclusive,
						  LockWaitBlock, !wait, tmfd, &lock);
	if (res == TM_Ok)
	{
		WC_PHYSICAL_BEGIN();
		WcHeapRoutine()->tuple_insert(rel, slot, cid, 0, NULL);
		WC_PHYSICAL_END();
		wc_put_tomb(&st, &cur, WC_TOMB_UPDATE, &slot->tts_tid, false);
		UnlockTuple(rel, &cur, ExclusiveLock);
		*update_indexes = true;
	}
	WcStorageClose(&st);
	return res;
}

/*
 * Row lock on a cold row: a lock tombstone of our transaction with the
 * strongest mode we asked for.  On TM_Ok slot receives a copy of the row.
 */
TM_Result
WcColdLock(Relation rel, ItemPointer tid, Snapshot snapshot,
		   TupleTableSlot *slot, CommandId cid, LockTupleMode mode,
		   LockWaitPolicy wait_policy, TM_FailureData *tmfd)
{
	WcStorage	st;
	WcTombInfo	lock;
	TM_Result	res;
	ItemPointerData cur = *tid;	/* where the row is (tail merges move it) */

	tmfd->traversed = false;
	WcStorageOpen(&st, rel, RowExclusiveLock);
	tid = &cur;
	res = wc_cold_acquire(&st, tid, cid, WC_OP_LOCK, mode, wait_policy, false,
						  tmfd, &lock);
	if (res == TM_Ok)
	{
		if (!(lock.found && lock.own && lock.data.mode >= mode))
		{
			WcTombstone t;

			/* the key is unique: remove a stale or weaker lock of ours first */
			if (lock.found)
				simple_heap_delete(st.toastrel, &lock.tid);
			memset(&t, 0, sizeof(t));
			t.kind = WC_TOMB_LOCK;
			t.mode = (uint8) mode;
			ItemPointerSetInvalid(&t.successor);
			WcStorageInsert(&st, WcTidBlock(tid), WC_SEQ_LOCK(WcTidRow(tid)),
							&t, sizeof(t), NULL);
		}
		UnlockTuple(rel, tid, ExclusiveLock);
		if (!WcColdFetch(rel, tid, SnapshotAny, slot))
			elog(ERROR, "locked cold row (%u,%u) of widecol table \"%s\" vanished",
				 WcTidBlock(tid), ItemPointerGetOffsetNumberNoCheck(tid),
				 RelationGetRelationName(rel));
	}
	WcStorageClose(&st);
	return res;
}

/*
 * Does tombstone tup hide its row from snapshot?  For SnapshotDirty an
 * in-progress tombstone does not hide the row but sets snapshot->xmax.
 */
static bool
wc_tomb_hides(HeapTuple tup, Snapshot snapshot, Buffer buf)
{
	bool		vis;

	switch (snapshot->snapshot_type)
	{
		case SNAPSHOT_ANY:
		case SNAPSHOT_TOAST:
		case SNAPSHOT_NON_VACUUMABLE:
			return false;
		case SNAPSHOT_DIRTY:
			{
				SnapshotData dirty;

				InitDirtySnapshot(dirty);
				LockBuffer(buf, BUFFER_LOCK_SHARE);
				vis = HeapTupleSatisfiesVisibility(tup, &dirty, buf);
				LockBuffer(buf, BUFFER_LOCK_UNLOCK);
				if (vis && TransactionIdIsValid(dirty.xmin))
				{
					snapshot->xmax = dirty.xmin;
					return false;
				}
				return vis;
			}
		default:
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			vis = HeapTupleSatisfiesVisibility(tup, snapshot, buf);
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			return vis;
	}
}

/*
 * Begin an index scan (SnapshotAny) over the DELETE/UPDATE tombstones of
 * blockid, and with with_locks also its lock tombstones; keys[3] is the
 * caller's
 */
SysScanDesc
WcTombScanBegin(WcStorage *st, Oid blockid, bool with_locks, ScanKeyData *keys)
{
	ScanKeyInit(&keys[0], (AttrNumber) 1, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(blockid));
	ScanKeyInit(&keys[1], (AttrNumber) 2, BTGreaterEqualStrategyNumber,
				F_INT4GE, Int32GetDatum(with_locks ? WC_SEQ_LOCK_LAST : WC_SEQ_TOMB_LAST));
	ScanKeyInit(&keys[2], (AttrNumber) 2, BTLessEqualStrategyNumber,
				F_INT4LE, Int32GetDatum(WC_SEQ_TOMB_FIRST));
	return systable_beginscan(st->toastrel,
							  RelationGetRelid(WcStorageIndex(st)),
							  true, SnapshotAny, 3, keys);
}

/*
 * Next tombstone of a WcTombScanBegin scan: its tuple, buffer and row;
 * false at the end.
 */
static bool
wc_tomb_scan_next(WcStorage *st, SysScanDesc scan, HeapTuple *tup,
				  Buffer *buf, int *row)
{
	while ((*tup = systable_getnext(scan)) != NULL)
	{
		Oid			chunk_id;
		int32		seq;

		WcStorageGetChunk(*tup, RelationGetDescr(st->toastrel), &chunk_id, &seq,
						  NULL, NULL);
		*row = -seq - 3;
		if (*row < 0 || *row >= WC_MAX_BLOCK_ROWS)
			continue;
		*buf = ((BufferHeapTupleTableSlot *) scan->slot)->buffer;
		return true;
	}
	return false;
}

/*
 * Set hidden[] (WC_MAX_BLOCK_ROWS entries) to the rows of blockid whose
 * DELETE/UPDATE tombstone snapshot sees.  Readers of rows for a query
 * pass deleters[] (same size, else NULL): under SERIALIZABLE it receives
 * each row's tombstone writer for WcRowConflictOut (wc_serializable.c),
 * otherwise InvalidTransactionId throughout.
 */
void
WcHiddenRows(WcStorage *st, Oid blockid, Snapshot snapshot, bool *hidden,
			 TransactionId *deleters)
{
	ScanKeyData keys[3];
	SysScanDesc scan;
	HeapTuple	tup;
	Buffer		buf;
	int			row;
	bool		ssi = false;

	/* callers reuse the arrays from block to block */
	memset(hidden, 0, sizeof(bool) * WC_MAX_BLOCK_ROWS);
	if (deleters != NULL)
	{
		memset(deleters, 0, sizeof(TransactionId) * WC_MAX_BLOCK_ROWS);
		ssi = CheckForSerializableConflictOutNeeded(st->rel, snapshot);
	}
	if (snapshot->snapshot_type == SNAPSHOT_ANY)
		return;
	scan = WcTombScanBegin(st, blockid, false, keys);
	while (wc_tomb_scan_next(st, scan, &tup, &buf, &row))
	{
		if (wc_tomb_hides(tup, snapshot, buf))
			hidden[row] = true;
		if (ssi)
		{
			TransactionId deleter = WcTombDeleter(tup, buf);

			/* aborted tombstones of the row yield none */
			if (TransactionIdIsValid(deleter))
				deleters[row] = deleter;
		}
	}
	systable_endscan(scan);
}

/* bsearch/qsort comparator of block ids */
static int
wc_oid_cmp(const void *a, const void *b)
{
	Oid			x = *(const Oid *) a;
	Oid			y = *(const Oid *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * The sorted, distinct ids of the blocks that have DELETE/UPDATE tombstone
 * tuples of any state, from one index-only pass over the TOAST index
 * (SnapshotAny).  Every tombstone that a snapshot taken before this call
 * can see has its index entry already, so a scan under such a snapshot
 * needs to probe only these blocks.  Returns the count; *blocks is
 * palloc'd in the current memory context.
 */
int
WcTombstonedBlocks(WcStorage *st, Oid **blocks)
{
	Relation	index = WcStorageIndex(st);
	ScanKeyData keys[2];
	IndexScanDesc scan;
	int			n = 0;
	int			cap = 64;
	int			i;
	int			k;

	*blocks = palloc(sizeof(Oid) * cap);
	ScanKeyInit(&keys[0], (AttrNumber) 2, BTGreaterEqualStrategyNumber,
				F_INT4GE, Int32GetDatum(WC_SEQ_TOMB_LAST));
	ScanKeyInit(&keys[1], (AttrNumber) 2, BTLessEqualStrategyNumber,
				F_INT4LE, Int32GetDatum(WC_SEQ_TOMB_FIRST));
	scan = index_beginscan(st->toastrel, index, SnapshotAny, 2, 0);
	scan->xs_want_itup = true;
	index_rescan(scan, keys, 2, NULL, 0);
	while (index_getnext_tid(scan, ForwardScanDirection) != NULL)
	{
		bool		isnull;
		Oid			blockid = DatumGetObjectId(index_getattr(scan->xs_itup, 1,
															 scan->xs_itupdesc,
															 &isnull));

		CHECK_FOR_INTERRUPTS();
		if (isnull || (n > 0 && (*blocks)[n - 1] == blockid))
			continue;
		if (n == cap)
		{
			cap *= 2;
			*blocks = repalloc_huge(*blocks, sizeof(Oid) * cap);
		}
		(*blocks)[n++] = blockid;
	}
	index_endscan(scan);

	/* entries come in (chunk_id, chunk_seq) order, but OIDs may wrap */
	qsort(*blocks, n, sizeof(Oid), wc_oid_cmp);
	for (i = 0, k = 0; i < n; i++)
		if (k == 0 || (*blocks)[k - 1] != (*blocks)[i])
			(*blocks)[k++] = (*blocks)[i];
	return k;
}

/* True if blockid is among the n sorted ids of WcTombstonedBlocks */
bool
WcBlockTombstoned(const Oid *blocks, int n, Oid blockid)
{
	return bsearch(&blockid, blocks, n, sizeof(Oid), wc_oid_cmp) != NULL;
}

/* Visibility of a block tuple to snapshot (takes the buffer lock itself) */
bool
WcBlockTupleVisible(HeapTuple blocktup, Snapshot snapshot, Buffer buf)
{
	bool		vis;

	if (snapshot->snapshot_type == SNAPSHOT_ANY)
		return true;
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	vis = HeapTupleSatisfiesVisibility(blocktup, snapshot, buf);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	return vis;
}

/* Store a copy of cold row `row` in slot, with its TID and table OID */
void
WcStoreColdRow(TupleTableSlot *slot, HeapTuple row, Relation rel)
{
	ExecForceStoreHeapTuple(row, slot, false);
	slot->tts_tid = row->t_self;
	slot->tts_tableOid = RelationGetRelid(rel);
}

/*
 * Fetch cold row tid into slot if snapshot sees it (decoding its block).
 * Returns false for rows that do not exist or are not visible.
 */
bool
WcColdFetch(Relation rel, ItemPointer tid, Snapshot snapshot,
			TupleTableSlot *slot)
{
	WcStorage	st;
	Buffer		buf;
	HeapTupleData btup;
	bool		result = false;
	Oid			blockid = WcTidBlock(tid);
	int			row = WcTidRow(tid);
	ErrorContextCallback errcb;

	if (!WcStorageExists(rel))
		return false;
	WcStorageOpen(&st, rel, AccessShareLock);
	WcStoragePushContext(&errcb, rel, &blockid);
	if (WcStorageGetBlock(&st, blockid, &buf, &btup))
	{
		bool		visible = WcBlockTupleVisible(&btup, snapshot, buf);

		WcBlockConflictOut(rel, visible, &btup, buf, snapshot);
		if (visible)
		{
			MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
													  "widecol fetch",
													  ALLOCSET_DEFAULT_SIZES);
			const char *data;
			Size		len;
			Oid			chunk_id;
			int32		seq;
			WcDecodedBlock *blk;
			TransactionId deleter;

			WcStorageGetChunk(&btup, RelationGetDescr(st.toastrel), &chunk_id,
							  &seq, &data, &len);
			if (data == NULL)
				WcCorrupted(rel, blockid, "block tuple has no inline data");
			blk = WcBlockDecode(rel, blockid, data, len, btup.t_data, cxt);
			if (row < blk->nrows)
			{
				/* lock before reading tombstones (wc_serializable.c) */
				if (IsMVCCSnapshot(snapshot))
					PredicateLockTID(rel, tid, snapshot,
									 HeapTupleHeaderGetXmin(btup.t_data));
				result = !WcRowHidden(&st, blockid, row, snapshot, &deleter);
				WcRowConflictOut(rel, &blk->rows[row], result, deleter,
								 snapshot);
				if (result)
					WcStoreColdRow(slot, &blk->rows[row], rel);
			}
			MemoryContextDelete(cxt);
		}
		ReleaseBuffer(buf);
	}
	WcStoragePopContext(&errcb);
	WcStorageClose(&st);
	return result;
}

/* True if the block tuple's inserter (the mover) committed */
static bool
wc_block_committed(HeapTuple blocktup)
{
	TransactionId xmin = HeapTupleHeaderGetRawXmin(blocktup->t_data);

	if (HeapTupleHeaderXminCommitted(blocktup->t_data))
		return true;
	if (HeapTupleHeaderXminInvalid(blocktup->t_data))
		return false;
	return !TransactionIdIsInProgress(xmin) && TransactionIdDidCommit(xmin);
}

/*
 * True if cold row tid exists and snapshot sees it (no visible DELETE or
 * UPDATE tombstone); SnapshotDirty gets xmin/xmax set as
 * HeapTupleSatisfiesDirty would.  This answers "does the snapshot see this
 * row" for a row the caller already holds (tuple_satisfies_snapshot), so
 * under an MVCC snapshot a row of a committed block counts as seen even if
 * the block was written after the snapshot: the mover only moves rows that
 * every live snapshot sees (their xmin precedes the oldest xmin), and a
 * snapshot that does not see the move sees the row's delta copy.  Rows of
 * a block a COPY loaded (WC_BLOCK_LOADED) are new: they count as seen only
 * if the block is visible.
 */
bool
WcColdRowVisible(Relation rel, ItemPointer tid, Snapshot snapshot)
{
	WcStorage	st;
	Buffer		buf;
	HeapTupleData btup;
	bool		result = false;
	Oid			blockid = WcTidBlock(tid);
	ErrorContextCallback errcb;

	if (!WcStorageExists(rel))
		return false;
	WcStorageOpen(&st, rel, AccessShareLock);
	WcStoragePushContext(&errcb, rel, &blockid);
	if (WcStorageGetBlock(&st, blockid, &buf, &btup))
	{
		const char *data;
		Size		len;
		Oid			chunk_id;
		int32		seq;
		WcBlockSummary sum;

		WcStorageGetChunk(&btup, RelationGetDescr(st.toastrel), &chunk_id,
						  &seq, &data, &len);
		if (data == NULL)
			WcCorrupted(rel, blockid, "block tuple has no inline data");
		WcBlockSummarize(rel, blockid, data, len, &sum);
		if (WcTidRow(tid) < sum.nrows &&
			(WcBlockTupleVisible(&btup, snapshot, buf) ||
			 (IsMVCCSnapshot(snapshot) && !(sum.flags & WC_BLOCK_LOADED) &&
			  wc_block_committed(&btup))))
			result = !WcRowHidden(&st, blockid, WcTidRow(tid), snapshot, NULL);
		ReleaseBuffer(buf);
	}
	WcStoragePopContext(&errcb);
	WcStorageClose(&st);
	return result;
}

/*
 * The successor of cold row tid if a non-aborted UPDATE tombstone of
 * another transaction or ours names one, or if a committed tail merge
 * moved the row; *xmin receives the tombstone's inserter or the merge's
 * transaction.
 */
bool
WcColdSuccessor(Relation rel, ItemPointer tid, ItemPointer successor,
				TransactionId *xmin)
{
	WcStorage	st;
	WcTombInfo	del;

	if (!WcStorageExists(rel))
		return false;
	WcStorageOpen(&st, rel, AccessShareLock);
	wc_get_tomb(&st, WcTidBlock(tid), WC_SEQ_TOMB(WcTidRow(tid)), &del);
	if (!del.found &&
		wc_block_state(&st, WcTidBlock(tid), GetCurrentCommandId(false),
					   xmin) == TM_Deleted)
	{
		/* a tail merge moved the row: its new place is the successor */
		bool		found = WcMergeForward(&st, WcTidBlock(tid), WcTidRow(tid),
										   *xmin, successor);

		WcStorageClose(&st);
		return found;
	}
	WcStorageClose(&st);
	if (!del.found || del.data.kind != WC_TOMB_UPDATE)
		return false;
	*successor = del.data.successor;
	*xmin = del.xmin;
	return true;
}

/*
 * Does snapshot see a DELETE/UPDATE tombstone of row `row` of blockid?
 * *deleter (if not NULL) receives the tombstone writer for
 * WcRowConflictOut under SERIALIZABLE, as in WcHiddenRows.
 */
bool
WcRowHidden(WcStorage *st, Oid blockid, int row, Snapshot snapshot,
			TransactionId *deleter)
{
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		hidden = false;
	bool		ssi = false;

	if (deleter != NULL)
	{
		*deleter = InvalidTransactionId;
		ssi = CheckForSerializableConflictOutNeeded(st->rel, snapshot);
	}
	if (snapshot->snapshot_type == SNAPSHOT_ANY)
		return false;
	scan = WcStorageScanSeq(st, blockid, WC_SEQ_TOMB(row), keys);
	while ((tup = systable_getnext(scan)) != NULL)
	{
		Buffer		buf = ((BufferHeapTupleTableSlot *) scan->slot)->buffer;

		if (wc_tomb_hides(tup, snapshot, buf))
			hidden = true;
		if (ssi)
		{
			TransactionId d = WcTombDeleter(tup, buf);

			if (TransactionIdIsValid(d))
				*deleter = d;
		}
		else if (hidden)
			break;
	}
	systable_endscan(scan);
	return hidden;
}

/*
 * Classify the rows of blockid by their DELETE/UPDATE tombstones for
 * maintenance (index builds, VACUUM): state[r] becomes WC_ROW_DEAD when a
 * tombstone committed before OldestXmin (no snapshot can see the row),
 * WC_ROW_DELETED when a tombstone exists that some snapshot may not see
 * yet (committed later, or in progress), else stays WC_ROW_LIVE.
 */
void
WcTombStates(WcStorage *st, Oid blockid, TransactionId OldestXmin,
			 uint8 *state)
{
	ScanKeyData keys[3];
	SysScanDesc scan;
	HeapTuple	tup;
	Buffer		buf;
	int			row;

	scan = WcTombScanBegin(st, blockid, false, keys);
	while (wc_tomb_scan_next(st, scan, &tup, &buf, &row))
	{
		HTSV_Result res;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		res = HeapTupleSatisfiesVacuum(tup, OldestXmin, buf);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		if (res == HEAPTUPLE_LIVE &&
			TransactionIdPrecedes(HeapTupleHeaderGetXmin(tup->t_data), OldestXmin))
			state[row] = WC_ROW_DEAD;
		else if (res != HEAPTUPLE_DEAD && state[row] != WC_ROW_DEAD)
			state[row] = WC_ROW_DELETED;
	}
	systable_endscan(scan);
}
