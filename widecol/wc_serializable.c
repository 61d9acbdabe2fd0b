/*-------------------------------------------------------------------------
 *
 * wc_serializable.c
 *	  SERIALIZABLE (SSI) rw-conflicts out of cold rows, as heap records
 *	  them for its tuples.
 *
 * Serializable Snapshot Isolation needs every read of a row version written
 * by a concurrent serializable transaction to be reported
 * (CheckForSerializableConflictOut): a row the reader sees although a
 * concurrent transaction deleted it, or a row it does not see because a
 * concurrent transaction inserted it.  Heap does this for each tuple it
 * examines with HeapCheckForSerializableConflictOut, which derives the
 * writer from the tuple's xmin and xmax.  A cold row has no header of its
 * own (DESIGN.md 2.4): its xmin is the block tuple's xmin (the mover, or
 * the transaction of a COPY that wrote the block), and its xmax is the
 * xmin of its DELETE/UPDATE tombstone, if any.  So:
 *
 *	  - a block tuple stands for its rows without tombstones: heap's own
 *		check on the block tuple (WcBlockConflictOut) is exactly heap's
 *		check on each such row, visible or not (an invisible block was
 *		written by a concurrent mover or loader);
 *	  - a row with a tombstone: WcTombDeleter reduces the tombstone to the
 *		xid heap would take as the row's xmax (none when the tombstone
 *		aborted, or committed before TransactionXmin so that heap would
 *		call the row DEAD), and WcRowConflictOut applies heap's rule: the
 *		deleter when the reader still sees the row, else the inserter.
 *
 * Readers call these for what they examine: the sequential scan for every
 * block tuple and every row of a block with tombstones (heapgetpage checks
 * every tuple of a page), index fetches and the keyscan for the rows they
 * fetch, TABLESAMPLE for the blocks it samples.  Outside SERIALIZABLE, or
 * once the transaction is known safe (read-only with a safe snapshot),
 * CheckForSerializableConflictOutNeeded makes all of this a function call
 * per block, and WcHiddenRows does not compute deleters at all.
 *
 * The other direction (a write after the read) is the predicate locks':
 * the sequential scan holds heap's relation lock, fetches and the keyscan
 * lock each cold row they return (PredicateLockTID on the cold TID; the
 * keyscan also reads btree pages of the key index, which btree locks),
 * and a cold DELETE/UPDATE calls CheckForSerializableConflictIn on the
 * row after inserting its tombstone (wc_cold.c).  A row read where a mover
 * has moved it from (a delta copy, or a block a tail merge rewrote) gets
 * a relation lock instead, since writers that see the move check the new
 * TID.  Heap does both sides of
 * this under one buffer lock; here the order closes the gap instead: a
 * reader takes its lock before it reads the tombstones, a writer checks
 * for locks after its tombstone is in the TOAST index, so either the
 * writer finds the lock or the reader finds the tombstone.
 *
 * Locking: a buffer share lock around each HeapTupleSatisfiesVacuum (hint
 * bits may be set); the predicate lock manager takes its own LWLocks.
 *
 * widecol/wc_serializable.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/subtrans.h"
#include "access/xact.h"
#include "storage/bufmgr.h"
#include "storage/predicate.h"
#include "utils/snapmgr.h"

#include "widecol.h"
#include "wc_cold.h"

/*
 * Heap's check of one row for the rows of a block tuple that have no
 * tombstone: visible is whether snapshot sees the block tuple.  The caller
 * holds a pin on buf, not its lock.
 */
void
WcBlockConflictOut(Relation rel, bool visible, HeapTuple blocktup, Buffer buf,
				   Snapshot snapshot)
{
	bool		moved;

	if (!CheckForSerializableConflictOutNeeded(rel, snapshot))
		return;
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	HeapCheckForSerializableConflictOut(visible, rel, blocktup, buf, snapshot);
	moved = visible && !(blocktup->t_data->t_infomask & HEAP_XMAX_INVALID) &&
		!HEAP_XMAX_IS_LOCKED_ONLY(blocktup->t_data->t_infomask) &&
		!TransactionIdDidAbort(HeapTupleHeaderGetRawXmax(blocktup->t_data));
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);

	/*
	 * A tail merge is moving or has moved the rows the reader sees here; a
	 * writer that sees the merge modifies them under their new TIDs, where
	 * the reader's row locks would not be found.  Lock the relation.
	 */
	if (moved)
		PredicateLockRelation(rel, snapshot);
}

/*
 * SERIALIZABLE: a reader sees delta tuple tup although a mover moved it
 * (its xmax is the mover's, its t_ctid a cold TID): a writer that sees the
 * move modifies the cold copy, where the reader's lock on tup would not be
 * found, so lock the relation.
 */
void
WcDeltaMovedLock(Relation rel, HeapTuple tup, Snapshot snapshot)
{
	if (WcTidIsCold(&tup->t_data->t_ctid) &&
		!(tup->t_data->t_infomask & HEAP_XMAX_INVALID) &&
		CheckForSerializableConflictOutNeeded(rel, snapshot))
		PredicateLockRelation(rel, snapshot);
}

/*
 * The writer of a DELETE/UPDATE tombstone as heap would see it in the
 * row's xmax for HeapCheckForSerializableConflictOut: InvalidTransactionId
 * when the tombstone aborted, or committed before TransactionXmin (heap's
 * HEAPTUPLE_DEAD).  The caller holds a pin on buf, not its lock, and must
 * need the check (CheckForSerializableConflictOutNeeded).
 */
TransactionId
WcTombDeleter(HeapTuple tomb, Buffer buf)
{
	TransactionId xid = HeapTupleHeaderGetXmin(tomb->t_data);
	HTSV_Result res;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	res = HeapTupleSatisfiesVacuum(tomb, TransactionXmin, buf);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	if (res == HEAPTUPLE_DEAD)
		return InvalidTransactionId;
	if (res != HEAPTUPLE_INSERT_IN_PROGRESS &&
		TransactionIdPrecedes(xid, TransactionXmin))
		return InvalidTransactionId;
	return xid;
}

/*
 * Heap's check of one cold row of a block tuple the snapshot sees: row is
 * the decoded row (its xmin is the block's), visible whether the snapshot
 * sees it (no visible tombstone), deleter what WcTombDeleter said of its
 * tombstone (InvalidTransactionId: none, and WcBlockConflictOut covers the
 * row).
 */
void
WcRowConflictOut(Relation rel, HeapTuple row, bool visible,
				 TransactionId deleter, Snapshot snapshot)
{
	TransactionId xid;

	if (!TransactionIdIsValid(deleter))
		return;
	if (!CheckForSerializableConflictOutNeeded(rel, snapshot))
		return;
	xid = visible ? deleter : HeapTupleHeaderGetXmin(row->t_data);

	/* the rest is HeapCheckForSerializableConflictOut's */
	if (TransactionIdPrecedes(xid, TransactionXmin))
		return;
	if (TransactionIdEquals(xid, GetTopTransactionIdIfAny()))
		return;
	xid = SubTransGetTopmostTransaction(xid);
	if (TransactionIdPrecedes(xid, TransactionXmin))
		return;
	CheckForSerializableConflictOut(rel, xid, snapshot);
}

/*
 * WcRowConflictOut for every row of a decoded block whose tombstones
 * WcHiddenRows read into hidden[] and deleters[].
 */
void
WcBlockRowsConflictOut(Relation rel, WcDecodedBlock *blk, const bool *hidden,
					   const TransactionId *deleters, Snapshot snapshot)
{
	int			r;

	for (r = 0; r < blk->nrows; r++)
		WcRowConflictOut(rel, &blk->rows[r], !hidden[r], deleters[r], snapshot);
}
