/*-------------------------------------------------------------------------
 *
 * wc_mover.c
 *	  The mover: delta rows into compressed cold blocks, in one
 *	  transaction (widecol.compact()).
 *
 * Protocol (DESIGN.md 7.2, phase 2a: no merging of runs):
 *	  1. the caller holds ShareUpdateExclusiveLock on the table (one mover,
 *		 VACUUM, ANALYZE or CIC at a time; DML and SELECT proceed);
 *		 predicate locks move to relation level (TIDs change);
 *	  2. collect: a SnapshotAny scan of the delta keeps tuples that are
 *		 HEAPTUPLE_LIVE with xmin before GetOldestNonRemovableTransactionId
 *		 (every snapshot sees them), no out-of-line values, and at most
 *		 WC_MAX_COLD_ROW bytes; batches are bounded by maintenance_work_mem;
 *	  3. sort the batch by (partition key, sort key);
 *	  4. disjointness (DESIGN.md 2.7): per partition, the key of the last
 *		 END entry in the key index whose block tuple is not dead is the
 *		 last cold key; rows with a smaller key stay in the delta, so the
 *		 runs of a partition never overlap (blocks are not merged yet);
 *	  5. claim each row with heap_delete(wait = false): a row that is being
 *		 updated, deleted or locked meanwhile stays in the delta;
 *	  6. write the claimed rows into blocks (wc_block.c) stored as block
 *		 tuples under fresh block ids; the key index gets a START and an
 *		 END entry per run, every other index an entry per row with its
 *		 cold TID;
 *	  7. redirect: the t_ctid of each claimed delta tuple is set to the
 *		 row's cold TID (one generic WAL record per delta page and batch,
 *		 written before the transaction commits), so a
 *		 transaction that read the delta copy and then updates, deletes or
 *		 locks it follows the move (wc_delta.c).
 * Everything commits or aborts together: a snapshot that does not see the
 * mover's transaction sees the delta copies, one that does sees the cold
 * copies (DESIGN.md 2.5).  All writes are heap, btree and generic WAL.
 * Step 4 counts blocks of aborted movers that are not yet DEAD and the
 * blocks this run wrote in earlier batches (their index entries are
 * there already), which only ever holds back more rows.
 *
 * widecol/wc_mover.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/generic_xlog.h"
#include "access/genam.h"
#include "access/heapam.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/procarray.h"
#include "storage/predicate.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "widecol.h"
#include "wc_cold.h"

/* One delta TID and the cold TID its row moved to */
typedef struct WcRedirect
{
	ItemPointerData from;
	ItemPointerData to;
} WcRedirect;

typedef struct WcMoverState
{
	Relation	rel;
	WcKeyInfo  *keys;
	WcStorage	st;
	WcIndexInserter *ins;
	Relation	keyidx;			/* the key index, NULL if none */
	TransactionId horizon;
	WcMoveResult *result;
	HeapTuple  *batch;
	struct WcRedirect *redirects;	/* moves of the batch, written at its end */
	int			nredirects;
	int			nbatch;
	int			maxbatch;
	Size		batch_bytes;
	MemoryContext batchcxt;
} WcMoverState;


/* qsort comparator of redirects by delta TID */
static int
wc_redirect_cmp(const void *a, const void *b)
{
	return ItemPointerCompare(&((WcRedirect *) a)->from,
							  &((WcRedirect *) b)->from);
}

/* qsort comparator of batch rows by key, then by TID */
static int
wc_row_cmp(const void *a, const void *b, void *arg)
{
	WcMoverState *ms = (WcMoverState *) arg;
	HeapTuple	ta = *(HeapTuple *) a;
	HeapTuple	tb = *(HeapTuple *) b;
	int			c = WcKeyCompare(ms->keys, ta, tb, RelationGetDescr(ms->rel),
								 ms->keys->nkeys);

	return c != 0 ? c : ItemPointerCompare(&ta->t_self, &tb->t_self);
}

/*
 * Point the t_ctid of each moved delta tuple at its cold TID, one generic
 * WAL record per delta page.
 */
static void
wc_write_redirects(Relation rel, WcRedirect *redirects, int n)
{
	int			i = 0;

	qsort(redirects, n, sizeof(WcRedirect), wc_redirect_cmp);
	while (i < n)
	{
		BlockNumber blk = ItemPointerGetBlockNumber(&redirects[i].from);
		Buffer		buf = ReadBuffer(rel, blk);
		GenericXLogState *state;
		Page		page;

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		state = GenericXLogStart(rel);
		page = GenericXLogRegisterBuffer(state, buf, 0);
		for (; i < n && ItemPointerGetBlockNumber(&redirects[i].from) == blk; i++)
		{
			OffsetNumber off = ItemPointerGetOffsetNumber(&redirects[i].from);
			ItemId		lp = PageGetItemId(page, off);
			HeapTupleHeader htup;

			if (off > PageGetMaxOffsetNumber(page) || !ItemIdIsNormal(lp))
				elog(ERROR, "moved tuple (%u,%u) of \"%s\" vanished",
					 blk, off, RelationGetRelationName(rel));
			htup = (HeapTupleHeader) PageGetItem(page, lp);
			htup->t_ctid = redirects[i].to;
		}
		GenericXLogFinish(state);
		UnlockReleaseBuffer(buf);
	}
}

/*
 * The last cold key of row's partition: the key of the last END entry of
 * the key index whose block tuple is not dead.  Returns false if the
 * partition has no cold run; else vals/nulls (all key columns) are copied
 * into the batch context.
 */
static bool
wc_last_cold_key(WcMoverState *ms, HeapTuple row, Datum *vals, bool *nulls)
{
	Relation	idx = ms->keyidx;
	TupleDesc	desc = RelationGetDescr(ms->rel);
	ScanKeyData keys[INDEX_MAX_KEYS];
	IndexScanDesc scan;
	ItemPointer tid;
	bool		found = false;
	int			npk = ms->keys->npk;
	int			i;

	for (i = 0; i < npk; i++)
	{
		bool		isnull;
		Datum		d = heap_getattr(row, idx->rd_index->indkey.values[i], desc,
									 &isnull);
		Oid			opno;

		if (isnull)
		{
			ScanKeyEntryInitialize(&keys[i], SK_ISNULL | SK_SEARCHNULL, i + 1,
								   InvalidStrategy, InvalidOid,
								   idx->rd_indcollation[i], InvalidOid, (Datum) 0);
			continue;
		}
		opno = get_opfamily_member(idx->rd_opfamily[i], idx->rd_opcintype[i],
								   idx->rd_opcintype[i], BTEqualStrategyNumber);
		if (!OidIsValid(opno))
			elog(ERROR, "missing equality operator for column %d of index \"%s\"",
				 i + 1, RelationGetRelationName(idx));
		ScanKeyEntryInitialize(&keys[i], 0, i + 1, BTEqualStrategyNumber,
							   idx->rd_opcintype[i], idx->rd_indcollation[i],
							   get_opcode(opno), d);
	}
	scan = index_beginscan(ms->rel, idx, SnapshotAny, npk, 0);
	scan->xs_want_itup = true;
	index_rescan(scan, keys, npk, NULL, 0);
	while (!found && (tid = index_getnext_tid(scan, BackwardScanDirection)) != NULL)
	{
		ItemPointerData blocktid;
		HeapTupleData btup;
		Buffer		buf;
		Oid			blockid;
		HTSV_Result res;
		MemoryContext old;

		if (WcTidRunKind(tid) != WC_RUN_END)
			continue;
		WcTidRunBlockTid(tid, &blocktid);
		if (!WcStorageFetchAt(&ms->st, &blocktid, &buf, &btup, &blockid))
			continue;
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		res = HeapTupleSatisfiesVacuum(&btup, ms->horizon, buf);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		ReleaseBuffer(buf);
		if (res == HEAPTUPLE_DEAD)
			continue;
		index_deform_tuple(scan->xs_itup, scan->xs_itupdesc, vals, nulls);
		old = MemoryContextSwitchTo(ms->batchcxt);
		for (i = 0; i < ms->keys->nkeys; i++)
		{
			Form_pg_attribute att = TupleDescAttr(scan->xs_itupdesc, i);

			if (!nulls[i])
				vals[i] = datumCopy(vals[i], att->attbyval, att->attlen);
		}
		MemoryContextSwitchTo(old);
		found = true;
	}
	index_endscan(scan);
	return found;
}

/* Compare the key of row with a key given as key index column values */
static int
wc_row_vs_key(WcMoverState *ms, HeapTuple row, Datum *vals, bool *nulls)
{
	TupleDesc	desc = RelationGetDescr(ms->rel);
	int			i;

	for (i = 0; i < ms->keys->nkeys; i++)
	{
		bool		isnull;
		Datum		d = heap_getattr(row, ms->keys->attnums[i], desc, &isnull);
		int			c = ApplySortComparator(d, isnull, vals[i], nulls[i],
											&ms->keys->ssup[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

/* Flush callback of the block builder: store a block and index its rows */
static void
wc_mover_flush(void *arg, WcBlockBuilder *b, int nrows, HeapTuple *rows,
			   ItemPointer srctids)
{
	WcMoverState *ms = (WcMoverState *) arg;
	Oid			blockid = WcStorageNewBlockId(&ms->st);
	bytea	   *payload = WcBuildPayloadForBlock(b, blockid);
	WcBlockHeader *hdr = (WcBlockHeader *) VARDATA(payload);
	ItemPointerData blocktid;
	int			i;

	WcStorageInsert(&ms->st, blockid, WC_SEQ_BLOCK, VARDATA(payload),
					VARSIZE(payload) - VARHDRSZ, &blocktid);
	WcIndexInserterAddRuns(ms->ins, &blocktid, rows,
						   (WcRunEntry *) (VARDATA(payload) + sizeof(WcBlockHeader)),
						   hdr->nruns);
	ms->result->blocks_written++;
	ms->result->moved_rows += nrows;
	ms->result->raw_bytes += hdr->raw_size;
	ms->result->compressed_bytes += VARSIZE(payload) - VARHDRSZ;

	for (i = 0; i < nrows; i++)
	{
		ItemPointerData cold;

		WcTidMake(&cold, blockid, i);
		WcIndexInserterAdd(ms->ins, rows[i], &cold);
		ms->redirects[ms->nredirects].from = srctids[i];
		ms->redirects[ms->nredirects].to = cold;
		ms->nredirects++;
	}
	pfree(payload);
}

/*
 * Sort the batch, claim its rows, write them into blocks, then redirect the
 * claimed delta tuples (grouped by page: one WAL record per delta page per
 * batch).
 */
static void
wc_mover_process_batch(WcMoverState *ms, bool zstd, int level)
{
	WcBlockBuilder *b;
	CommandId	cid = GetCurrentCommandId(true);
	Datum		last[INDEX_MAX_KEYS];
	bool		lastnull[INDEX_MAX_KEYS];
	bool		has_last = false;
	int			i;

	if (ms->nbatch == 0)
		return;
	qsort_arg(ms->batch, ms->nbatch, sizeof(HeapTuple), wc_row_cmp, ms);
	ms->redirects = palloc_extended(sizeof(WcRedirect) * ms->nbatch, MCXT_ALLOC_HUGE);
	ms->nredirects = 0;
	b = WcBuilderBegin(ms->rel, ms->keys, zstd, level, wc_mover_flush, ms);
	for (i = 0; i < ms->nbatch; i++)
	{
		HeapTuple	tup = ms->batch[i];
		TM_FailureData tmfd;
		TM_Result	res;

		CHECK_FOR_INTERRUPTS();
		/* disjointness: keys below the partition's last cold key stay */
		if (ms->keyidx != NULL)
		{
			if (i == 0 || WcKeyCompare(ms->keys, ms->batch[i - 1], tup,
									   RelationGetDescr(ms->rel),
									   ms->keys->npk) != 0)
				has_last = wc_last_cold_key(ms, tup, last, lastnull);
			if (has_last && wc_row_vs_key(ms, tup, last, lastnull) < 0)
				continue;
		}
		res = heap_delete(ms->rel, &tup->t_self, cid, InvalidSnapshot, false,
						  &tmfd, false);
		if (res != TM_Ok)
			continue;
		WcBuilderAdd(b, tup, &tup->t_self);
	}
	WcBuilderFinish(b);
	pfree(b);
	wc_write_redirects(ms->rel, ms->redirects, ms->nredirects);
	pfree(ms->redirects);
	MemoryContextReset(ms->batchcxt);
	ms->nbatch = 0;
	ms->batch_bytes = 0;
}

/*
 * Move every movable delta row of rel into the cold tier.  The caller
 * holds ShareUpdateExclusiveLock on rel and is in a transaction of its own.
 */
void
WcMove(Relation rel, WcMoveResult *result)
{
	WcMoverState ms;
	WcKeys		opts;
	bool		zstd;
	int			level;
	TransactionId horizon;
	TableScanDesc scan;
	TupleTableSlot *slot;
	Size		budget = (Size) maintenance_work_mem * 1024;
	MemoryContext old;

	memset(result, 0, sizeof(WcMoveResult));
	memset(&ms, 0, sizeof(ms));
	ms.rel = rel;
	ms.result = result;
	ms.keys = WcKeyInfoBuild(rel);
	WcReadStoredKeys(RelationGetRelid(rel), &opts);
	WcKeysCompression(&opts, &zstd, &level);
	ms.batchcxt = AllocSetContextCreate(CurrentMemoryContext, "widecol mover batch",
										ALLOCSET_DEFAULT_SIZES);
	ms.maxbatch = 1024;
	ms.batch = palloc(sizeof(HeapTuple) * ms.maxbatch);

	TransferPredicateLocksToHeapRelation(rel);
	WcStorageOpen(&ms.st, rel, RowExclusiveLock);
	ms.ins = WcIndexInserterBegin(rel);
	horizon = GetOldestNonRemovableTransactionId(rel);
	ms.horizon = horizon;
	if (OidIsValid(WcGetKeyIndexInfo(rel)->keyindex))
		ms.keyidx = index_open(WcGetKeyIndexInfo(rel)->keyindex, AccessShareLock);

	WC_PHYSICAL_BEGIN();
	scan = heap_beginscan(rel, SnapshotAny, 0, NULL, NULL,
						  SO_TYPE_SEQSCAN | SO_ALLOW_STRAT);
	WC_PHYSICAL_END();
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsBufferHeapTuple);
	while (heap_getnextslot(scan, ForwardScanDirection, slot))
	{
		BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) slot;
		HeapTuple	tup = bslot->base.tuple;
		Buffer		buf = bslot->buffer;
		HTSV_Result res;

		CHECK_FOR_INTERRUPTS();
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		res = HeapTupleSatisfiesVacuum(tup, horizon, buf);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		if (res != HEAPTUPLE_LIVE ||
			!TransactionIdPrecedes(HeapTupleHeaderGetXmin(tup->t_data), horizon) ||
			HeapTupleHasExternal(tup) || tup->t_len > WC_MAX_COLD_ROW)
			continue;

		if (ms.nbatch == ms.maxbatch)
		{
			ms.maxbatch *= 2;
			ms.batch = repalloc_huge(ms.batch, sizeof(HeapTuple) * ms.maxbatch);
		}
		old = MemoryContextSwitchTo(ms.batchcxt);
		ms.batch[ms.nbatch++] = heap_copytuple(tup);
		MemoryContextSwitchTo(old);
		ms.batch_bytes += tup->t_len + HEAPTUPLESIZE;
		if (ms.batch_bytes >= budget)
			wc_mover_process_batch(&ms, zstd, level);
	}
	ExecDropSingleTupleTableSlot(slot);
	wc_mover_process_batch(&ms, zstd, level);
	heap_endscan(scan);

	WcIndexInserterEnd(ms.ins);
	if (ms.keyidx != NULL)
		index_close(ms.keyidx, AccessShareLock);
	WcStorageClose(&ms.st);
	MemoryContextDelete(ms.batchcxt);
	pfree(ms.batch);
}
