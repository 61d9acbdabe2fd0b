/*-------------------------------------------------------------------------
 *
 * wc_storage.c
 *	  I/O on the TOAST relation that holds a widecol table's cold tier.
 *
 * Every widecol table has a TOAST relation (heap AM, DESIGN.md 2.2).
 * Besides ordinary TOAST chunks (chunk_seq >= 0) it holds our tuples with
 * negative chunk_seq under a block id Xb: the block tuple (Xb, -1) and the
 * tombstones (Xb, -3 ...).  Xb is reserved with GetNewOidWithIndex() on
 * the TOAST index, as toast_save_datum() reserves value ids, so real
 * TOAST values and blocks never share a chunk_id.  Inserts are plain
 * heap_insert() with HEAP_INSERT_NO_LOGICAL plus an entry in every ready
 * TOAST index (two during REINDEX CONCURRENTLY), so heap and btree WAL
 * make them crash safe and transactional.  Real TOAST code only follows
 * value ids found in TOAST pointers, so it never meets our tuples.
 *
 * Reads go through the TOAST index with SnapshotAny; callers check
 * visibility themselves under a buffer share lock.  An error context names
 * the widecol table, so a page checksum failure on a cold page says which
 * table it belongs to.
 *
 * Locking: callers open the TOAST relation and its indexes with the lock
 * matching their statement (AccessShareLock to read, RowExclusiveLock to
 * write); the table itself is already locked by the caller.
 *
 * widecol/wc_storage.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/heaptoast.h"
#include "access/table.h"
#include "access/toast_internals.h"
#include "catalog/catalog.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "widecol.h"
#include "wc_cold.h"

/*
 * Open the TOAST relation of rel with lockmode, its indexes on first use
 * (WcStorageIndex).  For scans, which may not need the indexes and run no
 * catalog changes between the open and that use.
 */
void
WcStorageOpenLazy(WcStorage *st, Relation rel, LOCKMODE lockmode)
{
	if (!OidIsValid(rel->rd_rel->reltoastrelid))
		elog(ERROR, "widecol table \"%s\" has no TOAST relation",
			 RelationGetRelationName(rel));
	st->rel = rel;
	st->lockmode = lockmode;
	st->bistate = NULL;
	st->nblocks = 0;
	st->toastrel = table_open(rel->rd_rel->reltoastrelid, lockmode);
	st->toastidxs = NULL;
	st->ntoastidxs = 0;
	st->validIndex = -1;
}

/* Open the TOAST relation of rel and its indexes with lockmode */
void
WcStorageOpen(WcStorage *st, Relation rel, LOCKMODE lockmode)
{
	WcStorageOpenLazy(st, rel, lockmode);
	(void) WcStorageIndex(st);
}

/*
 * The valid index of the TOAST relation, opening its indexes on first
 * use: a key scan that reads blocks by their TIDs and finds no tombstone
 * hint never needs them (the index's first open in a backend reads
 * catalogs, and every open takes a lock).
 */
Relation
WcStorageIndex(WcStorage *st)
{
	if (st->toastidxs == NULL)
		st->validIndex = toast_open_indexes(st->toastrel, st->lockmode,
											&st->toastidxs, &st->ntoastidxs);
	return st->toastidxs[st->validIndex];
}

/* Close what WcStorageOpen opened */
void
WcStorageClose(WcStorage *st)
{
	if (st->bistate != NULL)
		FreeBulkInsertState(st->bistate);
	if (st->toastidxs != NULL)
		toast_close_indexes(st->toastidxs, st->ntoastidxs, st->lockmode);
	table_close(st->toastrel, st->lockmode);
}

/* True if rel has a TOAST relation (every widecol table does) */
bool
WcStorageExists(Relation rel)
{
	return OidIsValid(rel->rd_rel->reltoastrelid);
}

/* Main-fork blocks of rel's TOAST relation */
BlockNumber
WcToastBlocks(Relation rel)
{
	Relation	toastrel;
	BlockNumber n;

	if (!OidIsValid(rel->rd_rel->reltoastrelid))
		return 0;
	toastrel = table_open(rel->rd_rel->reltoastrelid, AccessShareLock);
	n = RelationGetNumberOfBlocks(toastrel);
	table_close(toastrel, AccessShareLock);
	return n;
}

/* Reserve a new block id, unused as chunk_id in the TOAST relation */
Oid
WcStorageNewBlockId(WcStorage *st)
{
	Oid			id;

	do
	{
		id = GetNewOidWithIndex(st->toastrel,
								RelationGetRelid(WcStorageIndex(st)),
								(AttrNumber) 1);
	} while (id == (Oid) InvalidBlockNumber);
	return id;
}

/*
 * Insert the tuple (blockid, seq, data) into the TOAST relation and its
 * ready indexes; *newtid receives its TID.  Unique TOAST indexes check the
 * key, so a racing insert of the same tombstone waits or fails instead of
 * duplicating it.
 */
void
WcStorageInsert(WcStorage *st, Oid blockid, int32 seq, const void *data,
				Size len, ItemPointer newtid)
{
	TupleDesc	desc = RelationGetDescr(st->toastrel);
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	bytea	   *chunk = palloc(VARHDRSZ + len);
	HeapTuple	tup;
	int			i;

	SET_VARSIZE(chunk, VARHDRSZ + len);
	memcpy(VARDATA(chunk), data, len);
	values[0] = ObjectIdGetDatum(blockid);
	values[1] = Int32GetDatum(seq);
	values[2] = PointerGetDatum(chunk);
	tup = heap_form_tuple(desc, values, nulls);
	if (tup->t_len > MaxHeapTupleSize)
		elog(ERROR, "widecol block tuple of %u bytes is too large", tup->t_len);

	(void) WcStorageIndex(st);
	heap_insert(st->toastrel, tup, GetCurrentCommandId(true),
				HEAP_INSERT_NO_LOGICAL, st->bistate);
	for (i = 0; i < st->ntoastidxs; i++)
	{
		if (!st->toastidxs[i]->rd_index->indisready)
			continue;
		index_insert(st->toastidxs[i], values, nulls, &tup->t_self,
					 st->toastrel,
					 st->toastidxs[i]->rd_index->indisunique ?
					 UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
					 false, NULL);
	}
	if (newtid)
		*newtid = tup->t_self;
	heap_freetuple(tup);
	pfree(chunk);
}

/* chunk_id, chunk_seq and the data of a tuple of the TOAST relation */
void
WcStorageGetChunk(HeapTuple tuple, TupleDesc desc, Oid *chunk_id, int32 *seq,
				  const char **data, Size *len)
{
	bool		isnull;
	Datum		d;
	struct varlena *v;

	*chunk_id = DatumGetObjectId(fastgetattr(tuple, 1, desc, &isnull));
	*seq = DatumGetInt32(fastgetattr(tuple, 2, desc, &isnull));
	if (data == NULL)
		return;
	d = fastgetattr(tuple, 3, desc, &isnull);
	v = (struct varlena *) DatumGetPointer(d);
	if (isnull || (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v)))
	{
		*data = NULL;
		*len = 0;
		return;
	}
	*data = VARDATA_ANY(v);
	*len = VARSIZE_ANY_EXHDR(v);
}

/* A pass over every tuple of a TOAST relation, SnapshotAny (maintenance) */
TableScanDesc
WcToastScanBegin(Relation toastrel)
{
	return heap_beginscan(toastrel, SnapshotAny, 0, NULL, NULL,
						  SO_TYPE_SEQSCAN | SO_ALLOW_STRAT);
}

/*
 * Next tuple of a WcToastScanBegin pass with its buffer and chunk fields
 * (see WcStorageGetChunk); false at the end.  Checks for interrupts.
 */
bool
WcToastScanNext(TableScanDesc scan, HeapTuple *tup, Buffer *buf, Oid *chunk_id,
				int32 *seq, const char **data, Size *len)
{
	CHECK_FOR_INTERRUPTS();
	*tup = heap_getnext(scan, ForwardScanDirection);
	if (*tup == NULL)
		return false;
	*buf = ((HeapScanDesc) scan)->rs_cbuf;
	WcStorageGetChunk(*tup, RelationGetDescr(scan->rs_rd), chunk_id, seq, data, len);
	return true;
}

/*
 * Begin an index scan (SnapshotAny) of the TOAST tuples (blockid, seq):
 * the block tuple, a tombstone or a forward map; keys[2] is the caller's.
 */
SysScanDesc
WcStorageScanSeq(WcStorage *st, Oid blockid, int32 seq, ScanKeyData *keys)
{
	ScanKeyInit(&keys[0], (AttrNumber) 1, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(blockid));
	ScanKeyInit(&keys[1], (AttrNumber) 2, BTEqualStrategyNumber, F_INT4EQ,
				Int32GetDatum(seq));
	return systable_beginscan(st->toastrel,
							  RelationGetRelid(WcStorageIndex(st)),
							  true, SnapshotAny, 2, keys);
}

/*
 * Find the block tuple of blockid (SnapshotAny).  On success *tuple points
 * into the page of *buf, which the caller must release.
 */
bool
WcStorageGetBlock(WcStorage *st, Oid blockid, Buffer *buf, HeapTupleData *tuple)
{
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	scan = WcStorageScanSeq(st, blockid, WC_SEQ_BLOCK, keys);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		*buf = ((BufferHeapTupleTableSlot *) scan->slot)->buffer;
		IncrBufferRefCount(*buf);
		*tuple = *tup;
		found = true;
	}
	systable_endscan(scan);
	return found;
}

/*
 * Does page blkno of the TOAST relation exist?  A stale run entry may name
 * a page past the end of the relation, which ReadBuffer refuses.  The
 * relation cannot shrink while we hold a lock on it (truncation takes
 * AccessExclusiveLock), so every page below a size read once exists: the
 * size this backend last read or extended the relation to, which smgr
 * keeps until a truncation's invalidation closes the relation (processed
 * when we locked it), and our own lookups (st->nblocks).  Only pages past
 * both need a size lookup, a system call.
 */
bool
WcStoragePageExists(WcStorage *st, BlockNumber blkno)
{
	if (blkno >= st->nblocks)
	{
		BlockNumber known = RelationGetSmgr(st->toastrel)->smgr_cached_nblocks[MAIN_FORKNUM];

		if (known != InvalidBlockNumber)
			st->nblocks = Max(st->nblocks, known);
		if (blkno >= st->nblocks)
			st->nblocks = RelationGetNumberOfBlocks(st->toastrel);
	}
	return blkno < st->nblocks;
}

/*
 * Read the tuple at physical TID blocktid of the TOAST relation, as a run
 * entry of the key index names it.  Returns false unless a block tuple is
 * there (past the end of the relation, unused line pointer, or another
 * kind of tuple: the slot was reused); else *tuple points into the page of
 * *buf (pinned, the caller releases it) and *blockid is its block id.
 */
bool
WcStorageFetchAt(WcStorage *st, ItemPointer blocktid, Buffer *buf,
				 HeapTupleData *tuple, Oid *blockid)
{
	BlockNumber blkno = ItemPointerGetBlockNumberNoCheck(blocktid);
	int32		seq;

	if (!WcStoragePageExists(st, blkno))
		return false;
	tuple->t_self = *blocktid;
	if (!heap_fetch(st->toastrel, SnapshotAny, tuple, buf, false))
		return false;
	WcStorageGetChunk(tuple, RelationGetDescr(st->toastrel), blockid, &seq,
					  NULL, NULL);
	if (seq != WC_SEQ_BLOCK)
	{
		ReleaseBuffer(*buf);
		return false;
	}
	return true;
}

/* State of the error context: relation and current block id */
typedef struct WcStorageContextArg
{
	Relation	rel;
	Oid		   *blockid;
} WcStorageContextArg;

/* Error context callback: "cold block %u of widecol table \"%s\"" */
static void
wc_storage_errcontext(void *arg)
{
	WcStorageContextArg *a = (WcStorageContextArg *) arg;

	if (a->blockid != NULL && OidIsValid(*a->blockid))
		errcontext("cold block %u of widecol table \"%s\"",
				   *a->blockid, RelationGetRelationName(a->rel));
	else
		errcontext("cold tier of widecol table \"%s\"",
				   RelationGetRelationName(a->rel));
}

/*
 * Push an error context naming rel (and *blockid when set) for the reads
 * that follow; pop it with WcStoragePopContext.
 */
void
WcStoragePushContext(ErrorContextCallback *cb, Relation rel, Oid *blockid)
{
	WcStorageContextArg *a = palloc(sizeof(WcStorageContextArg));

	a->rel = rel;
	a->blockid = blockid;
	cb->callback = wc_storage_errcontext;
	cb->arg = a;
	cb->previous = error_context_stack;
	error_context_stack = cb;
}

/* Pop the context pushed by WcStoragePushContext */
void
WcStoragePopContext(ErrorContextCallback *cb)
{
	error_context_stack = cb->previous;
	pfree(cb->arg);
}
