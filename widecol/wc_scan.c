/*-------------------------------------------------------------------------
 *
 * wc_scan.c
 *	  Sequential scans, TID scan checks, ANALYZE sampling and TABLESAMPLE
 *	  over both tiers.
 *
 * A scan is a heap scan of the delta (the main fork, in physical-size
 * mode, which also takes heap's predicate lock on the relation) followed
 * by a SnapshotAny heap scan of the TOAST relation whose block tuples
 * (chunk_seq = -1) are checked against the scan's snapshot under a buffer
 * share lock, decoded, and returned row by row minus the rows whose
 * tombstone the snapshot sees (DESIGN.md 5.1).  Under an MVCC snapshot the
 * tombstone probe (a TOAST index range scan) is made only for blocks
 * listed by one index-only pass over all tombstone entries at the start
 * of the cold part (WcTombstonedBlocks): a tombstone the snapshot can see
 * was inserted, with its index entry, before the snapshot was taken.  The order between tiers
 * does not matter: the snapshot alone decides visibility (2.5).  Rows are
 * stored in the slot as buffer heap tuples pointing into the decoded block
 * (valid until the scan moves to another block) with the TOAST buffer as
 * their pin, so the slot type stays TTSOpsBufferHeapTuple.  Backward
 * scans walk the cold tier and then the delta in reverse.  Under
 * SERIALIZABLE the delta scan's relation predicate lock covers cold rows,
 * and every block tuple and every row of a probed block gets heap's
 * conflict-out check (wc_serializable.c); a tombstone written after the
 * block list was made is the writer's to report, because it checks for
 * that relation lock after inserting the tombstone.
 *
 * ANALYZE and TABLESAMPLE sample a virtual block space: blocks below D
 * (delta blocks when the scan began) are heap pages handled by heap's
 * callbacks, blocks D .. D+V-1 stand for the T TOAST pages, whose visible
 * block tuples yield their rows (DESIGN.md 5.3, 5.8); relation_size
 * reports D + V outside heap code, so acquire_sample_rows and the planner
 * see both tiers.  V = T unless that would reach past the main fork's last
 * segment file (see wc_virtual_cold_blocks).
 *
 * A column scan (WcScanColumns, for the WidecolColumnScan node of queries
 * that read only some columns, wc_columnscan.c) decodes cold rows with
 * only those columns (WcBlockDecodeColumns: the others are null, and row
 * groups are decompressed only as far as the columns reach).  When the
 * query reads no column at all it counts: every visible cold row comes
 * back as one empty tuple with the row's TID; the block tuple's
 * visibility, its header and its tombstones are checked as above, but the
 * frames' CRC is not and nothing is decompressed.  Delta rows are heap's
 * tuples as ever.
 *
 * Parallel scans (DESIGN.md 5.2): the shared state is two heap block
 * allocators, one over the delta's pages and one over the TOAST pages
 * (WcParallelScanDescData).  Every participant drains delta pages through
 * heap's parallel scan, then TOAST pages; every participant has the same
 * snapshot, so each block tuple is decoded by exactly one of them.
 *
 * Locking: AccessShareLock on the TOAST relation and its indexes for the
 * life of a scan that reads cold rows; buffer share locks only around
 * visibility checks and page reads.
 *
 * widecol/wc_scan.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "miscadmin.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/tsmapi.h"
#include "access/valid.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "widecol.h"
#include "wc_cold.h"

/* Rows of the TOAST page being sampled (ANALYZE / TABLESAMPLE) */
typedef struct WcPageRows
{
	int			nrows;
	HeapTuple  *rows;
	bool	   *hidden;
} WcPageRows;

typedef struct WcScanDescData
{
	TableScanDescData rs_base;
	TableScanDesc delta;		/* heap scan of the main fork */
	MemoryContext cxt;			/* where the scan began: lives as long */
	BlockNumber delta_blocks;	/* D: delta blocks when the scan began */
	BlockNumber toast_blocks;	/* T: TOAST blocks when the scan began */
	BlockNumber cold_blocks;	/* V: virtual blocks covering the T pages */
	BlockNumber pages_per_block;	/* TOAST pages per virtual block */

	/* cold part of a sequential scan */
	bool		in_cold;
	bool		storage_open;
	WcStorage	st;
	TableScanDesc toast;
	MemoryContext blkcxt;
	WcDecodedBlock *blk;
	int			row;
	bool		hidden[WC_MAX_BLOCK_ROWS];
	TransactionId deleters[WC_MAX_BLOCK_ROWS];	/* WcHiddenRows, SSI */
	bool		tombs_known;	/* tombs[] lists every block to probe */
	int			ntombs;
	Oid		   *tombs;			/* WcTombstonedBlocks, in cxt */
	Oid			cur_blockid;
	ErrorContextCallback errcb;

	/* column scan: the columns read; none: rows are counted, not decoded */
	WcColumns  *cols;
	uint64		image_decoded;	/* bytes of row group images decoded */
	uint64		image_size;		/* of all the bytes of those images */
	bool		count_only;
	int			count_nrows;	/* rows of the current block; 0: none */
	HeapTupleData empty;		/* the tuple returned for each of them */

	/* ANALYZE / TABLESAMPLE */
	bool		page_cold;
	BlockNumber sample_block;
	bool		sample_inited;
	WcPageRows	page;
	int			page_pos;
} WcScanDescData;

typedef WcScanDescData *WcScanDesc;

/* Shared state of a parallel scan: the delta's pages, then the TOAST pages */
typedef struct WcParallelScanDescData
{
	ParallelBlockTableScanDescData delta;	/* first: phs_relid = the table */
	ParallelBlockTableScanDescData toast;	/* phs_relid invalid: no TOAST */
} WcParallelScanDescData;

typedef WcParallelScanDescData *WcParallelScanDesc;

/*
 * Open the TOAST relation and its scan for the cold part, once.  Callers
 * such as ATRewriteTable fetch rows in a per-tuple memory context that is
 * reset between rows, so everything that lives as long as the scan is
 * allocated in the context the scan began in.
 */
static void
wc_scan_open_storage(WcScanDesc s)
{
	MemoryContext old;

	if (s->storage_open)
		return;
	old = MemoryContextSwitchTo(s->cxt);
	WcStorageOpen(&s->st, s->rs_base.rs_rd, AccessShareLock);
	s->blkcxt = AllocSetContextCreate(s->cxt, "widecol scan block",
									  ALLOCSET_DEFAULT_SIZES);
	s->toast = heap_beginscan(s->st.toastrel, SnapshotAny, 0, NULL,
							  s->rs_base.rs_parallel ?
							  (ParallelTableScanDesc) &((WcParallelScanDesc) s->rs_base.rs_parallel)->toast :
							  NULL,
							  SO_TYPE_SEQSCAN | SO_ALLOW_STRAT);
	MemoryContextSwitchTo(old);
	s->storage_open = true;
}

/*
 * The virtual blocks after the D delta blocks that stand for the T TOAST
 * pages.  ANALYZE prefetches the virtual block numbers it samples in the
 * main fork (PrefetchBuffer); beyond the end of the file that is a no-op,
 * but beyond the main fork's last segment file md.c raises an error, so
 * the virtual space must end inside that segment: when T pages do not fit,
 * each virtual block covers *pages_per_block consecutive TOAST pages.
 */
static BlockNumber
wc_virtual_cold_blocks(BlockNumber delta, BlockNumber toast,
					   BlockNumber *pages_per_block)
{
	BlockNumber room;

	/* a full last segment has no successor file yet: no room at all */
	room = (delta > 0 && delta % RELSEG_SIZE == 0) ? 0 :
		RELSEG_SIZE - delta % RELSEG_SIZE;
	if (toast <= room)
	{
		*pages_per_block = 1;
		return toast;
	}
	if (room == 0)
	{
		*pages_per_block = 1;
		return 0;
	}
	*pages_per_block = (toast + room - 1) / room;
	return (toast + *pages_per_block - 1) / *pages_per_block;
}

/* Begin a scan of both tiers */
static TableScanDesc
wc_scan_begin(Relation rel, Snapshot snapshot, int nkeys, ScanKey key,
			  ParallelTableScanDesc pscan, uint32 flags)
{
	WcScanDesc	s = palloc0(sizeof(WcScanDescData));

	s->cxt = CurrentMemoryContext;
	s->rs_base.rs_rd = rel;
	s->rs_base.rs_snapshot = snapshot;
	s->rs_base.rs_nkeys = nkeys;
	s->rs_base.rs_key = key;
	s->rs_base.rs_flags = flags;
	s->rs_base.rs_parallel = pscan;

	WC_PHYSICAL_BEGIN();
	s->delta = heap_beginscan(rel, snapshot, nkeys, key,
							  pscan ? (ParallelTableScanDesc) &((WcParallelScanDesc) pscan)->delta : NULL,
							  flags);
	WC_PHYSICAL_END();
	s->rs_base.rs_key = s->delta->rs_key;
	s->delta_blocks = ((HeapScanDesc) s->delta)->rs_nblocks;
	if (flags & (SO_TYPE_ANALYZE | SO_TYPE_SAMPLESCAN))
	{
		s->toast_blocks = WcToastBlocks(rel);
		s->cold_blocks = wc_virtual_cold_blocks(s->delta_blocks, s->toast_blocks,
												&s->pages_per_block);
	}
	return (TableScanDesc) s;
}

/* Forget the decoded block; the slot may point into it */
static void
wc_scan_drop_block(WcScanDesc s, TupleTableSlot *slot)
{
	if (s->blk == NULL && s->count_nrows == 0)
		return;
	if (slot)
		ExecClearTuple(slot);
	if (s->blk != NULL)
		MemoryContextReset(s->blkcxt);
	s->blk = NULL;
	s->count_nrows = 0;
	s->cur_blockid = InvalidOid;
}

/*
 * Make sscan, a widecol sequential scan without scan keys that has not
 * returned a row yet, a column scan that reads only the columns cols
 * (copied), or counts rows when it reads none (see the file header).
 * Only for plans that read nothing else of the table's rows.
 */
void
WcScanColumns(TableScanDesc sscan, const WcColumns *cols)
{
	WcScanDesc	s = (WcScanDesc) sscan;
	HeapTupleHeader h;

	Assert(sscan->rs_nkeys == 0 && s->blk == NULL && !s->in_cold);
	if (cols->maxatt > 0)
	{
		s->cols = MemoryContextAlloc(s->cxt, sizeof(WcColumns));
		s->cols->maxatt = cols->maxatt;
		s->cols->needed = MemoryContextAlloc(s->cxt, sizeof(bool) * cols->maxatt);
		memcpy(s->cols->needed, cols->needed, sizeof(bool) * cols->maxatt);
		return;
	}
	h = MemoryContextAllocZero(s->cxt, MAXALIGN(SizeofHeapTupleHeader));
	h->t_hoff = MAXALIGN(SizeofHeapTupleHeader);
	h->t_infomask = HEAP_XMAX_INVALID;
	HeapTupleHeaderSetNatts(h, 0);
	s->empty.t_len = h->t_hoff;
	s->empty.t_tableOid = RelationGetRelid(sscan->rs_rd);
	s->empty.t_data = h;
	s->count_only = true;
}

/* Restart both parts of the scan */
static void
wc_scan_rescan(TableScanDesc sscan, ScanKey key, bool set_params,
			   bool allow_strat, bool allow_sync, bool allow_pagemode)
{
	WcScanDesc	s = (WcScanDesc) sscan;

	WC_PHYSICAL_BEGIN();
	heap_rescan(s->delta, key, set_params, allow_strat, allow_sync,
				allow_pagemode);
	WC_PHYSICAL_END();
	s->in_cold = false;
	if (s->blk)
	{
		MemoryContextReset(s->blkcxt);
		s->blk = NULL;
	}
	s->count_nrows = 0;
	if (s->tombs_known)
	{
		pfree(s->tombs);
		s->tombs_known = false;
	}
	if (s->toast)
		heap_rescan(s->toast, NULL, false, false, false, false);
	s->sample_inited = false;
}

/* End the scan */
static void
wc_scan_end(TableScanDesc sscan)
{
	WcScanDesc	s = (WcScanDesc) sscan;

	heap_endscan(s->delta);
	if (s->toast)
		heap_endscan(s->toast);
	if (s->storage_open)
	{
		MemoryContextDelete(s->blkcxt);
		WcStorageClose(&s->st);
	}
	pfree(s);
}

/* Rows of the current block (decoded, or counted by a column scan) */
static inline int
wc_block_nrows(WcScanDesc s)
{
	return s->count_only ? s->count_nrows : s->blk->nrows;
}

/*
 * Store the next row of the decoded block in direction dir that is not
 * hidden and passes the scan keys; false when the block has no more.
 */
static bool
wc_block_next_row(WcScanDesc s, bool forward, TupleTableSlot *slot)
{
	int			r = forward ? s->row + 1 : s->row - 1;
	int			nrows = wc_block_nrows(s);

	for (; r >= 0 && r < nrows; r += forward ? 1 : -1)
	{
		HeapTuple	row;

		if (s->hidden[r])
			continue;
		if (s->count_only)
		{
			s->row = r;
			WcTidMake(&s->empty.t_self, s->cur_blockid, r);
			ExecStoreBufferHeapTuple(&s->empty, slot,
									 ((HeapScanDesc) s->toast)->rs_cbuf);
			return true;
		}
		row = &s->blk->rows[r];
		if (s->rs_base.rs_nkeys > 0)
		{
			bool		valid;

			HeapKeyTest(row, RelationGetDescr(s->rs_base.rs_rd),
						s->rs_base.rs_nkeys, s->rs_base.rs_key, valid);
			if (!valid)
				continue;
		}
		s->row = r;
		ExecStoreBufferHeapTuple(row, slot, ((HeapScanDesc) s->toast)->rs_cbuf);
		return true;
	}
	return false;
}

/*
 * Bytes of row group images a column scan has decoded so far, and their
 * full size (EXPLAIN ANALYZE)
 */
void
WcScanColumnStats(TableScanDesc sscan, uint64 *decoded, uint64 *size)
{
	WcScanDesc	s = (WcScanDesc) sscan;

	*decoded = s->image_decoded;
	*size = s->image_size;
}

/*
 * Next visible cold row in direction dir; false at the end of the tier.
 * Rows of the current block are returned without touching the error
 * context stack; reading and decoding the next block tuple is done with
 * the context that names the table.
 */
static bool
wc_cold_next(WcScanDesc s, ScanDirection dir, TupleTableSlot *slot)
{
	Relation	rel = s->rs_base.rs_rd;
	Snapshot	snapshot = s->rs_base.rs_snapshot;
	bool		forward = ScanDirectionIsForward(dir);
	bool		found = false;

	if (s->blk != NULL || s->count_nrows > 0)
	{
		if (wc_block_next_row(s, forward, slot))
			return true;
		wc_scan_drop_block(s, slot);
	}
	if (!WcStorageExists(rel))
		return false;			/* still being created: no cold tier yet */
	if (s->rs_base.rs_parallel != NULL &&
		!OidIsValid(((WcParallelScanDesc) s->rs_base.rs_parallel)->toast.base.phs_relid))
		return false;			/* had no TOAST relation when the scan began */
	wc_scan_open_storage(s);
	/* page reads and decoding below name the table in any error */
	WcStoragePushContext(&s->errcb, rel, &s->cur_blockid);
	if (!s->tombs_known && IsMVCCSnapshot(snapshot))
	{
		MemoryContext old = MemoryContextSwitchTo(s->cxt);

		s->ntombs = WcTombstonedBlocks(&s->st, &s->tombs);
		s->tombs_known = true;
		MemoryContextSwitchTo(old);
	}
	while (!found)
	{
		HeapTuple	tup;
		Buffer		buf;
		Oid			chunk_id;
		int32		seq;
		const char *data;
		Size		len;
		bool		visible;

		CHECK_FOR_INTERRUPTS();
		tup = heap_getnext(s->toast, dir);
		if (tup == NULL)
			break;
		WcStorageGetChunk(tup, RelationGetDescr(s->st.toastrel), &chunk_id,
						  &seq, &data, &len);
		if (seq != WC_SEQ_BLOCK)
			continue;
		buf = ((HeapScanDesc) s->toast)->rs_cbuf;
		visible = WcBlockTupleVisible(tup, snapshot, buf);
		WcBlockConflictOut(rel, visible, tup, buf, snapshot);
		if (!visible)
			continue;

		s->cur_blockid = chunk_id;
		if (data == NULL)
			WcCorrupted(rel, chunk_id, "block tuple has no inline data");
		if (s->count_only)
		{
			WcBlockSummary sum;

			WcBlockSummarize(rel, chunk_id, data, len, &sum);
			s->count_nrows = sum.nrows;
			/* the inserter SSI's conflict-out check names for a hidden row */
			HeapTupleHeaderSetXmin(s->empty.t_data,
								   HeapTupleHeaderGetRawXmin(tup->t_data));
			s->empty.t_data->t_infomask = HEAP_XMAX_INVALID |
				(tup->t_data->t_infomask & HEAP_XMIN_FROZEN);
		}
		else if (s->cols != NULL)
		{
			s->blk = WcBlockDecodeColumns(rel, slot->tts_tupleDescriptor, chunk_id,
										  data, len, tup->t_data, s->blkcxt,
										  s->cols);
			s->image_decoded += s->blk->image_decoded;
			s->image_size += s->blk->image_size;
		}
		else
		{
			/* the slot's layout: ALTER TABLE's rewrite reads with the old one */
			s->blk = WcBlockDecodeAs(rel, slot->tts_tupleDescriptor, chunk_id,
									 data, len, tup->t_data, s->blkcxt);
		}
		memset(s->hidden, 0, sizeof(s->hidden));
		if (!s->tombs_known ||
			WcBlockTombstoned(s->tombs, s->ntombs, chunk_id))
		{
			WcHiddenRows(&s->st, chunk_id, snapshot, s->hidden, s->deleters);
			if (s->count_only)
			{
				int			r;

				for (r = 0; r < s->count_nrows; r++)
					WcRowConflictOut(rel, &s->empty, !s->hidden[r],
									 s->deleters[r], snapshot);
			}
			else
				WcBlockRowsConflictOut(rel, s->blk, s->hidden, s->deleters,
									   snapshot);
		}
		s->row = forward ? -1 : wc_block_nrows(s);
		found = wc_block_next_row(s, forward, slot);
		if (!found)
			wc_scan_drop_block(s, slot);
	}
	WcStoragePopContext(&s->errcb);
	return found;
}

/* Next row of the scan: delta first, then cold (reverse when backward) */
static bool
wc_scan_getnextslot(TableScanDesc sscan, ScanDirection dir,
					TupleTableSlot *slot)
{
	WcScanDesc	s = (WcScanDesc) sscan;

	if (ScanDirectionIsNoMovement(dir))
		return false;
	for (;;)
	{
		if (!s->in_cold)
		{
			if (heap_getnextslot(s->delta, dir, slot))
				return true;
			if (ScanDirectionIsBackward(dir))
				return false;
			s->in_cold = true;
		}
		if (wc_cold_next(s, dir, slot))
			return true;
		ExecClearTuple(slot);
		if (ScanDirectionIsForward(dir))
			return false;
		s->in_cold = false;
	}
}

/* TID scans: delta TIDs below the delta size, every cold TID (fetch decides) */
static bool
wc_tuple_tid_valid(TableScanDesc sscan, ItemPointer tid)
{
	WcScanDesc	s = (WcScanDesc) sscan;

	if (WcTidIsCold(tid))
		return true;
	return WcHeapRoutine()->tuple_tid_valid(s->delta, tid);
}

/*
 * Load the visible block tuples of virtual cold block vblock (TOAST pages
 * vblock * pages_per_block onwards) for sampling: their rows, and which of
 * them the snapshot sees tombstoned.  A TABLESAMPLE scan (sample) reads
 * them for a query: under SERIALIZABLE it records heap's conflicts out for
 * every block tuple and row of the pages, as heapgetpage does.
 */
static void
wc_load_toast_pages(WcScanDesc s, BlockNumber vblock,
					BufferAccessStrategy bstrategy, Snapshot snapshot,
					bool sample)
{
	Relation	rel = s->rs_base.rs_rd;
	BlockNumber first = vblock * s->pages_per_block;
	BlockNumber last;
	BlockNumber tblock;
	List	   *blocks = NIL;
	ListCell   *lc;
	int			n = 0;

	memset(&s->page, 0, sizeof(s->page));
	s->page_pos = 0;
	if (!WcStorageExists(rel))
		return;
	wc_scan_open_storage(s);
	MemoryContextReset(s->blkcxt);
	s->blk = NULL;
	last = Min(first + s->pages_per_block, RelationGetNumberOfBlocks(s->st.toastrel));
	WcStoragePushContext(&s->errcb, rel, &s->cur_blockid);
	for (tblock = first; tblock < last; tblock++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber off;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(s->st.toastrel, MAIN_FORKNUM, tblock, RBM_NORMAL,
								 bstrategy);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		maxoff = PageGetMaxOffsetNumber(page);
		for (off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		lp = PageGetItemId(page, off);
			HeapTupleData tup;
			Oid			chunk_id;
			int32		seq;
			const char *data;
			Size		len;
			WcDecodedBlock *blk;
			bool		visible;

			if (!ItemIdIsNormal(lp))
				continue;
			WcPageTuple(s->st.toastrel, page, tblock, off, &tup);
			WcStorageGetChunk(&tup, RelationGetDescr(s->st.toastrel), &chunk_id,
							  &seq, &data, &len);
			if (seq != WC_SEQ_BLOCK)
				continue;
			visible = HeapTupleSatisfiesVisibility(&tup, snapshot, buf);
			if (sample)
				HeapCheckForSerializableConflictOut(visible, rel, &tup, buf,
													snapshot);
			if (!visible)
				continue;
			s->cur_blockid = chunk_id;
			if (data == NULL)
				WcCorrupted(rel, chunk_id, "block tuple has no inline data");
			blk = WcBlockDecode(rel, chunk_id, data, len, tup.t_data, s->blkcxt);
			blocks = lappend(blocks, blk);
			n += blk->nrows;
		}
		UnlockReleaseBuffer(buf);
	}
	WcStoragePopContext(&s->errcb);
	s->cur_blockid = InvalidOid;

	s->page.rows = MemoryContextAlloc(s->blkcxt, sizeof(HeapTuple) * Max(n, 1));
	s->page.hidden = MemoryContextAllocZero(s->blkcxt, sizeof(bool) * Max(n, 1));
	foreach(lc, blocks)
	{
		WcDecodedBlock *blk = lfirst(lc);
		bool		hidden[WC_MAX_BLOCK_ROWS] = {0};
		int			i;

		WcHiddenRows(&s->st, blk->blockid, snapshot, hidden,
					 sample ? s->deleters : NULL);
		if (sample)
			WcBlockRowsConflictOut(rel, blk, hidden, s->deleters, snapshot);
		for (i = 0; i < blk->nrows; i++)
		{
			s->page.rows[s->page.nrows] = &blk->rows[i];
			s->page.hidden[s->page.nrows] = hidden[i];
			s->page.nrows++;
		}
	}
	list_free(blocks);
}

/* ANALYZE: read virtual block blockno (a delta page or a TOAST page) */
static bool
wc_scan_analyze_next_block(TableScanDesc sscan, BlockNumber blockno,
						   BufferAccessStrategy bstrategy)
{
	WcScanDesc	s = (WcScanDesc) sscan;

	if (blockno < s->delta_blocks)
	{
		s->page_cold = false;
		return WcHeapRoutine()->scan_analyze_next_block(s->delta, blockno,
														bstrategy);
	}
	s->page_cold = true;
	wc_load_toast_pages(s, blockno - s->delta_blocks, bstrategy,
						GetActiveSnapshot(), false);
	return true;
}

/* ANALYZE: next sample row of the current virtual block */
static bool
wc_scan_analyze_next_tuple(TableScanDesc sscan, TransactionId OldestXmin,
						   double *liverows, double *deadrows,
						   TupleTableSlot *slot)
{
	WcScanDesc	s = (WcScanDesc) sscan;

	if (!s->page_cold)
		return WcHeapRoutine()->scan_analyze_next_tuple(s->delta, OldestXmin,
														liverows, deadrows, slot);
	while (s->page_pos < s->page.nrows)
	{
		int			i = s->page_pos++;

		if (s->page.hidden[i])
		{
			*deadrows += 1;
			continue;
		}
		WcStoreColdRow(slot, s->page.rows[i], s->rs_base.rs_rd);
		*liverows += 1;
		return true;
	}
	ExecClearTuple(slot);
	return false;
}

/* TABLESAMPLE: choose the next virtual block */
static bool
wc_scan_sample_next_block(TableScanDesc sscan, SampleScanState *scanstate)
{
	WcScanDesc	s = (WcScanDesc) sscan;
	TsmRoutine *tsm = scanstate->tsmroutine;
	BlockNumber nblocks = s->delta_blocks + s->cold_blocks;
	BlockNumber blockno;

	if (nblocks == 0)
		return false;
	if (tsm->NextSampleBlock)
		blockno = tsm->NextSampleBlock(scanstate, nblocks);
	else if (!s->sample_inited)
		blockno = 0;
	else
		blockno = s->sample_block + 1 < nblocks ? s->sample_block + 1 :
			InvalidBlockNumber;
	if (!BlockNumberIsValid(blockno))
	{
		s->sample_inited = false;
		return false;
	}
	s->sample_inited = true;
	s->sample_block = blockno;

	if (blockno < s->delta_blocks)
	{
		HeapScanDesc hscan = (HeapScanDesc) s->delta;

		s->page_cold = false;
		heapgetpage(s->delta, blockno);
		hscan->rs_inited = true;
		return true;
	}
	s->page_cold = true;
	wc_load_toast_pages(s, blockno - s->delta_blocks, NULL,
						s->rs_base.rs_snapshot, true);
	return true;
}

/* TABLESAMPLE: next sampled row of the current virtual block */
static bool
wc_scan_sample_next_tuple(TableScanDesc sscan, SampleScanState *scanstate,
						  TupleTableSlot *slot)
{
	WcScanDesc	s = (WcScanDesc) sscan;
	TsmRoutine *tsm = scanstate->tsmroutine;

	if (!s->page_cold)
		return WcHeapRoutine()->scan_sample_next_tuple(s->delta, scanstate, slot);
	for (;;)
	{
		OffsetNumber off;

		CHECK_FOR_INTERRUPTS();
		off = tsm->NextSampleTuple(scanstate, s->sample_block,
								   (OffsetNumber) s->page.nrows);
		if (!OffsetNumberIsValid(off) || off > s->page.nrows)
		{
			ExecClearTuple(slot);
			return false;
		}
		if (s->page.hidden[off - 1])
			continue;
		WcStoreColdRow(slot, s->page.rows[off - 1], s->rs_base.rs_rd);
		return true;
	}
}

/*
 * Size of a fork: inside heap code (physical mode) the real size; else the
 * main fork reports delta + TOAST blocks, the virtual block space.
 */
static uint64
wc_relation_size(Relation rel, ForkNumber forkNumber)
{
	uint64		size = table_block_relation_size(rel, forkNumber);

	if (forkNumber == MAIN_FORKNUM && wc_physical_depth == 0)
	{
		BlockNumber per;

		size += (uint64) wc_virtual_cold_blocks(size / BLCKSZ, WcToastBlocks(rel),
												&per) * BLCKSZ;
	}
	return size;
}

/* Shared memory a parallel scan of rel needs (before the snapshot) */
static Size
wc_parallelscan_estimate(Relation rel)
{
	return sizeof(WcParallelScanDescData);
}

/*
 * Set up the shared state of a parallel scan: heap's block allocator over
 * the delta pages (physical size) and another over the TOAST pages.
 * Returns where the serialized snapshot goes.
 */
static Size
wc_parallelscan_initialize(Relation rel, ParallelTableScanDesc pscan)
{
	WcParallelScanDesc p = (WcParallelScanDesc) pscan;

	WC_PHYSICAL_BEGIN();
	table_block_parallelscan_initialize(rel, (ParallelTableScanDesc) &p->delta);
	WC_PHYSICAL_END();
	if (WcStorageExists(rel))
	{
		Relation	toastrel = table_open(rel->rd_rel->reltoastrelid,
										  AccessShareLock);

		table_block_parallelscan_initialize(toastrel,
											(ParallelTableScanDesc) &p->toast);
		table_close(toastrel, AccessShareLock);
	}
	else
	{
		memset(&p->toast, 0, sizeof(p->toast));
		p->toast.base.phs_relid = InvalidOid;
	}
	return sizeof(WcParallelScanDescData);
}

/* Restart a parallel scan: both allocators start over */
static void
wc_parallelscan_reinitialize(Relation rel, ParallelTableScanDesc pscan)
{
	WcParallelScanDesc p = (WcParallelScanDesc) pscan;

	table_block_parallelscan_reinitialize(rel, (ParallelTableScanDesc) &p->delta);
	if (OidIsValid(p->toast.base.phs_relid))
		table_block_parallelscan_reinitialize(rel, (ParallelTableScanDesc) &p->toast);
}

/* Install the scan callbacks into routine */
void
WcScanInitRoutine(TableAmRoutine *routine)
{
	routine->scan_begin = wc_scan_begin;
	routine->scan_end = wc_scan_end;
	routine->scan_rescan = wc_scan_rescan;
	routine->scan_getnextslot = wc_scan_getnextslot;
	routine->scan_set_tidrange = NULL;
	routine->scan_getnextslot_tidrange = NULL;
	routine->tuple_tid_valid = wc_tuple_tid_valid;
	routine->scan_analyze_next_block = wc_scan_analyze_next_block;
	routine->scan_analyze_next_tuple = wc_scan_analyze_next_tuple;
	routine->scan_sample_next_block = wc_scan_sample_next_block;
	routine->scan_sample_next_tuple = wc_scan_sample_next_tuple;
	routine->scan_bitmap_next_block = NULL;
	routine->scan_bitmap_next_tuple = NULL;
	routine->relation_size = wc_relation_size;
	routine->parallelscan_estimate = wc_parallelscan_estimate;
	routine->parallelscan_initialize = wc_parallelscan_initialize;
	routine->parallelscan_reinitialize = wc_parallelscan_reinitialize;
}
