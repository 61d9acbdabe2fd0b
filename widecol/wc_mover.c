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
 *		 WC_MAX_COLD_ROW bytes; their keys and TIDs go into a tuplesort
 *		 (maintenance_work_mem, spilling to disk); the live rows that stay
 *		 are counted by reason for VACUUM VERBOSE (WcMoveResult);
 *	  3. read them back in (partition key, sort key, TID) order, fetching
 *		 each row by its TID, so that every partition of the whole move is
 *		 one key-ordered stream (one run per row group it spans,
 *		 whatever the size of the move); the block builder is finished and the row
 *		 copies freed every maintenance_work_mem bytes of rows;
 *	  4. disjointness (DESIGN.md 2.7): per partition, the key of the last
 *		 END entry in the key index whose block tuple is not dead is the
 *		 last cold key; rows with a smaller key stay in the delta, so the
 *		 runs of a partition never overlap (blocks are not merged yet);
 *	  5. claim each row with heap_delete(wait = false): a row that is being
 *		 updated, deleted or locked meanwhile (since step 2) stays in the
 *		 delta;
 *	  6. write the claimed rows into blocks (wc_block.c) stored as block
 *		 tuples under fresh block ids; the key index gets a START and an
 *		 END entry per run, every other index an entry per row with its
 *		 cold TID;
 *	  7. redirect: the t_ctid of each claimed delta tuple is set to the
 *		 row's cold TID (one generic WAL record per delta page and batch of
 *		 step 3,
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
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/tuplesort.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type_d.h"

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
	struct WcRedirect *redirects;	/* moves of the batch, written at its end */
	int			nredirects;
	int			maxredirects;
	MemoryContext batchcxt;		/* row copies until their blocks are written */
	Tuplesortstate *sort;		/* (key columns..., TID) of the candidates */
	TupleTableSlot *sortslot;
	struct HTAB *fwdmaps;		/* forward maps of merged blocks (wc_merge.c) */
	bool		zstd;			/* the table's compression */
	int			level;
	/* the claimed rows of the current partition while a tail merge may come */
	HeapTuple	pending[WC_MERGE_MAX_ROWS];
	int			npending;
	bool		merge_ok;		/* the partition's last block is a candidate */
	ItemPointerData tailtid;	/* its TOAST TID and block id */
	Oid			tailblock;
} WcMoverState;

/* qsort comparator of redirects by delta TID */
static int
wc_redirect_cmp(const void *a, const void *b)
{
	return ItemPointerCompare(&((WcRedirect *) a)->from,
							  &((WcRedirect *) b)->from);
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

/* Flush callback of the block builder: store a block, remember the moves */
static void
wc_mover_flush(void *arg, WcBlockBuilder *b, int nrows, HeapTuple *rows,
			   ItemPointer srctids)
{
	WcMoverState *ms = (WcMoverState *) arg;
	uint32		raw_size;
	Size		stored_size;
	Oid			blockid = WcStoreBlock(&ms->st, ms->ins, b, rows, nrows, 0,
									   &raw_size, &stored_size);
	int			i;

	ms->result->blocks_written++;
	ms->result->raw_bytes += raw_size;
	ms->result->compressed_bytes += stored_size;
	for (i = 0; i < nrows; i++)
	{
		if (WcTidIsCold(&srctids[i]))
		{
			ItemPointerData to;

			/* a row of a merged block: its forward map entry */
			WcTidMake(&to, blockid, i);
			WcMergeNoteMove(&ms->fwdmaps, &srctids[i], &to);
			continue;
		}
		ms->result->moved_rows++;
		if (ms->nredirects == ms->maxredirects)
		{
			ms->maxredirects *= 2;
			ms->redirects = repalloc_huge(ms->redirects,
										  sizeof(WcRedirect) * ms->maxredirects);
		}
		ms->redirects[ms->nredirects].from = srctids[i];
		WcTidMake(&ms->redirects[ms->nredirects].to, blockid, i);
		ms->nredirects++;
	}
}

/* The tuplesort of candidates: key columns and TID, in that order */
static void
wc_mover_sort_begin(WcMoverState *ms)
{
	TupleDesc	desc = RelationGetDescr(ms->rel);
	int			n = ms->keys->nkeys + 1;
	TupleDesc	sortdesc = CreateTemplateTupleDesc(n);
	AttrNumber *attnums = palloc(sizeof(AttrNumber) * n);
	Oid		   *ops = palloc(sizeof(Oid) * n);
	Oid		   *colls = palloc(sizeof(Oid) * n);
	bool	   *nullsfirst = palloc0(sizeof(bool) * n);
	int			i;

	for (i = 0; i < n; i++)
	{
		attnums[i] = i + 1;
		if (i < ms->keys->nkeys)
		{
			Form_pg_attribute att = TupleDescAttr(desc, ms->keys->attnums[i] - 1);

			TupleDescInitEntry(sortdesc, i + 1, NameStr(att->attname),
							   att->atttypid, att->atttypmod, 0);
			TupleDescInitEntryCollation(sortdesc, i + 1, att->attcollation);
			ops[i] = ms->keys->sortops[i];
			colls[i] = ms->keys->collations[i];
		}
		else
		{
			TupleDescInitEntry(sortdesc, i + 1, "tid", TIDOID, -1, 0);
			ops[i] = TIDLessOperator;
			colls[i] = InvalidOid;
		}
	}
	ms->sort = tuplesort_begin_heap(sortdesc, n, attnums, ops, colls, nullsfirst,
									maintenance_work_mem, NULL, TUPLESORT_NONE);
	ms->sortslot = MakeSingleTupleTableSlot(sortdesc, &TTSOpsMinimalTuple);
}

/* Add delta tuple tup to the candidates */
static void
wc_mover_sort_add(WcMoverState *ms, HeapTuple tup)
{
	TupleTableSlot *slot = ms->sortslot;
	int			i;

	ExecClearTuple(slot);
	for (i = 0; i < ms->keys->nkeys; i++)
		slot->tts_values[i] = heap_getattr(tup, ms->keys->attnums[i],
										   RelationGetDescr(ms->rel),
										   &slot->tts_isnull[i]);
	slot->tts_values[i] = PointerGetDatum(&tup->t_self);
	slot->tts_isnull[i] = false;
	ExecStoreVirtualTuple(slot);
	tuplesort_puttupleslot(ms->sort, slot);
}

/*
 * The current partition has ended: hand its pending rows to the builder,
 * after the rows of its last block if that block can be merged
 * (wc_merge.c).
 */
static void
wc_mover_end_partition(WcMoverState *ms, WcBlockBuilder *b)
{
	int			i;

	if (ms->npending > 0 && ms->merge_ok)
	{
		WcDecodedBlock *blk = WcMergeTake(&ms->st, &ms->tailtid, ms->tailblock,
										  ms->horizon, ms->npending,
										  ms->batchcxt);

		if (blk != NULL)
		{
			TupleDesc	desc = RelationGetDescr(ms->rel);
			WcBlockBuilder *side = NULL;
			int			r;

			/*
			 * The partition's run goes ahead of its new rows; runs of other
			 * partitions keep their rows and keys in blocks of their own.
			 */
			ms->result->merged_blocks++;
			for (r = 0; r < blk->nruns; r++)
			{
				WcRunEntry *run = &blk->runs[r];
				bool		ours = WcKeyCompare(ms->keys, &blk->rows[run->first_row],
												ms->pending[0], desc,
												ms->keys->npk) == 0;

				if (!ours && side == NULL)
					side = WcBuilderBegin(ms->rel, ms->keys, ms->zstd, ms->level,
										  wc_mover_flush, ms);
				for (i = run->first_row; i < run->first_row + run->nrows; i++)
					WcBuilderAdd(ours ? b : side, &blk->rows[i], &blk->rows[i].t_self);
			}
			if (side != NULL)
			{
				WcBuilderFinish(side);
				pfree(side);
			}
		}
	}
	for (i = 0; i < ms->npending; i++)
		WcBuilderAdd(b, ms->pending[i], &ms->pending[i]->t_self);
	ms->npending = 0;
	ms->merge_ok = false;
}

/* Finish the blocks being built, then redirect their delta tuples */
static void
wc_mover_finish_batch(WcMoverState *ms, WcBlockBuilder *b)
{
	wc_mover_end_partition(ms, b);
	WcBuilderFinish(b);
	pfree(b);
	wc_write_redirects(ms->rel, ms->redirects, ms->nredirects);
	ms->nredirects = 0;
	MemoryContextReset(ms->batchcxt);
}

/*
 * Read the candidates in key order, claim them and write them into blocks
 * (file header, steps 3 to 7).
 */
static void
wc_mover_write(WcMoverState *ms, bool zstd, int level)
{
	CommandId	cid = GetCurrentCommandId(true);
	Size		budget = (Size) maintenance_work_mem * 1024;
	Size		bytes = 0;
	WcBlockBuilder *b = WcBuilderBegin(ms->rel, ms->keys, zstd, level,
									   wc_mover_flush, ms);
	HeapTuple	prev = NULL;
	Datum		last[INDEX_MAX_KEYS];
	bool		lastnull[INDEX_MAX_KEYS];
	bool		has_last = false;
	int			nkeys = ms->keys->nkeys;

	ms->maxredirects = 1024;
	ms->redirects = palloc(sizeof(WcRedirect) * ms->maxredirects);
	tuplesort_performsort(ms->sort);
	while (tuplesort_gettupleslot(ms->sort, true, false, ms->sortslot, NULL))
	{
		HeapTupleData tuple;
		HeapTuple	tup;
		Buffer		buf;
		TM_FailureData tmfd;
		bool		isnull;
		Datum		tid;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		tid = slot_getattr(ms->sortslot, nkeys + 1, &isnull);
		tuple.t_self = *(ItemPointer) DatumGetPointer(tid);
		if (!heap_fetch(ms->rel, SnapshotAny, &tuple, &buf, false))
			continue;
		old = MemoryContextSwitchTo(ms->batchcxt);
		tup = heap_copytuple(&tuple);
		MemoryContextSwitchTo(old);
		ReleaseBuffer(buf);

		/* disjointness: keys below the partition's last cold key stay */
		if (ms->keyidx != NULL)
		{
			if (prev == NULL ||
				WcKeyCompare(ms->keys, prev, tup, RelationGetDescr(ms->rel),
							 ms->keys->npk) != 0)
			{
				wc_mover_end_partition(ms, b);
				has_last = WcLastColdKey(ms->rel, ms->keyidx, &ms->st, ms->keys,
										 ms->horizon, tup, last, lastnull,
										 ms->batchcxt, &ms->tailtid,
										 &ms->tailblock);
				ms->merge_ok = has_last && wc_tail_merge_factor > 0;
			}
			prev = tup;
			if (has_last && WcRowVsKey(ms->keys, RelationGetDescr(ms->rel), tup,
										  last, lastnull) < 0)
			{
				ms->result->left_order++;
				continue;
			}
		}
		if (heap_delete(ms->rel, &tup->t_self, cid, InvalidSnapshot, false,
						&tmfd, false) != TM_Ok)
		{
			ms->result->left_busy++;
			continue;
		}
		if (ms->merge_ok)
		{
			/* a tail merge needs few new rows: hold them until it is decided */
			if (ms->npending == WC_MERGE_MAX_ROWS)
			{
				ms->merge_ok = false;
				wc_mover_end_partition(ms, b);
				WcBuilderAdd(b, tup, &tup->t_self);
			}
			else
				ms->pending[ms->npending++] = tup;
		}
		else
			WcBuilderAdd(b, tup, &tup->t_self);
		bytes += tup->t_len + HEAPTUPLESIZE;
		if (bytes >= budget)
		{
			/* the last cold key lives in batchcxt too: look it up again */
			wc_mover_finish_batch(ms, b);
			b = WcBuilderBegin(ms->rel, ms->keys, zstd, level, wc_mover_flush, ms);
			prev = NULL;
			bytes = 0;
		}
	}
	wc_mover_finish_batch(ms, b);
	pfree(ms->redirects);
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

	memset(result, 0, sizeof(WcMoveResult));
	memset(&ms, 0, sizeof(ms));
	ms.rel = rel;
	ms.result = result;
	ms.keys = WcKeyInfoBuild(rel);
	WcReadStoredKeys(RelationGetRelid(rel), &opts);
	WcKeysCompression(&opts, &zstd, &level);
	ms.zstd = zstd;
	ms.level = level;
	ms.batchcxt = AllocSetContextCreate(CurrentMemoryContext, "widecol mover batch",
										ALLOCSET_DEFAULT_SIZES);

	TransferPredicateLocksToHeapRelation(rel);
	WcStorageOpen(&ms.st, rel, RowExclusiveLock);
	ms.st.bistate = GetBulkInsertState();
	ms.ins = WcIndexInserterBegin(rel);
	horizon = GetOldestNonRemovableTransactionId(rel);
	ms.horizon = horizon;
	if (OidIsValid(WcGetKeyIndexInfo(rel)->keyindex))
		ms.keyidx = index_open(WcGetKeyIndexInfo(rel)->keyindex, AccessShareLock);
	wc_mover_sort_begin(&ms);

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
		/* count the live rows that stay, by reason (file header, step 2) */
		if (res == HEAPTUPLE_INSERT_IN_PROGRESS ||
			(res == HEAPTUPLE_LIVE &&
			 !TransactionIdPrecedes(HeapTupleHeaderGetXmin(tup->t_data), horizon)))
			result->left_recent++;
		else if (res == HEAPTUPLE_DELETE_IN_PROGRESS)
			result->left_busy++;
		else if (res != HEAPTUPLE_LIVE)
			continue;
		else if (HeapTupleHasExternal(tup))
			result->left_toasted++;
		else if (tup->t_len > WC_MAX_COLD_ROW)
			result->left_large++;
		else
			wc_mover_sort_add(&ms, tup);
	}
	ExecDropSingleTupleTableSlot(slot);
	heap_endscan(scan);
	wc_mover_write(&ms, zstd, level);
	WcMergeWriteMaps(&ms.st, ms.fwdmaps);
	tuplesort_end(ms.sort);
	ExecDropSingleTupleTableSlot(ms.sortslot);

	WcIndexInserterEnd(ms.ins);
	if (ms.keyidx != NULL)
		index_close(ms.keyidx, AccessShareLock);
	WcStorageClose(&ms.st);
	MemoryContextDelete(ms.batchcxt);
}

/*
 * WcMove as the table's owner in a security-restricted operation, as VACUUM
 * and REINDEX run index expressions: the caller may be a superuser (the
 * background mover, or a superuser calling widecol.compact) and the
 * expressions are the owner's code.  An error undoes it with the
 * transaction.
 */
void
WcMoveAsOwner(Relation rel, WcMoveResult *result)
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(rel->rd_rel->relowner,
						   save_sec_context | SECURITY_RESTRICTED_OPERATION);
	save_nestlevel = NewGUCNestLevel();
	WcMove(rel, result);
	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
}
