/*-------------------------------------------------------------------------
 *
 * wc_mover.c
 *	  The mover: delta rows into compressed cold blocks, in one
 *	  transaction (widecol.compact()).
 *
 * Protocol (DESIGN.md 7.2):
 *	  1. the caller holds ShareUpdateExclusiveLock on the table (one mover,
 *		 VACUUM, ANALYZE or CIC at a time; DML and SELECT proceed);
 *		 predicate locks move to relation level (TIDs change);
 *	  2. collect: a scan of the delta page by page (each page pruned as an
 *		 index fetch prunes it) keeps tuples that are
 *		 HEAPTUPLE_LIVE with xmin before GetOldestNonRemovableTransactionId
 *		 (every snapshot sees them), no out-of-line values, and at most
 *		 WC_MAX_COLD_ROW bytes; their keys and TIDs go into a tuplesort
 *		 (maintenance_work_mem, spilling to disk); the live rows that stay
 *		 are counted by reason for VACUUM VERBOSE (WcMoveResult); the
 *		 pages' LP_DEAD items are remembered;
 *	  2a. key index cleanup (wc_keyclean.c): the key index entries of
 *		 those items (rows earlier moves claimed, pruned since) and the run
 *		 entries of the block tuples that earlier moves replaced in tail
 *		 merges and that are dead now (the background mover passes them)
 *		 are bulk deleted, as VACUUM would, when there are enough of them,
 *		 before this move claims any row;
 *	  2b. read them once in key order (wc_mover_plan): each partition's
 *		 candidates and the block of its last cold run, for the tail merge
 *		 decisions (wc_merge.c, wc_mover_end_partition); for the background
 *		 mover, partitions with a few new rows and a last block too large
 *		 to rewrite with them keep their rows in the delta for a later move
 *		 (wc_mover_plan_deferrals), at most WC_MOVER_DEFER_VISITS visits;
 *	  3. read them back in (partition key, sort key, TID) order, fetching
 *		 each row by its TID, so that every partition of the whole move is
 *		 one key-ordered stream (one run per row group it spans,
 *		 whatever the size of the move); the block builder is finished and the row
 *		 copies freed every maintenance_work_mem bytes of rows;
 *	  4. disjointness (DESIGN.md 2.7): per partition, the key of the last
 *		 END entry in the key index whose block tuple is not dead is the
 *		 last cold key; rows with a smaller key stay in the delta, so the
 *		 runs of a partition never overlap (blocks are not merged yet);
 *	  5. claim each row (not those of deferred partitions, step 2b) with
 *		 heap_delete(wait = false): a row that is being
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
 * Everything commits or aborts together (step 2a needs no undo: it removes
 * entries of rows no snapshot can see): a snapshot that does not see the
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
	TransactionId defer_from;	/* rows since then may wait, or invalid */
	WcKeyClean	clean;			/* the key index cleanup (wc_keyclean.c) */
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
	bool		deferring;		/* the partition's rows wait (wc_mover_plan) */
	HeapTuple	deferkey;		/* and its key */
	ItemPointerData tailtid;	/* its TOAST TID and block id */
	Oid			tailblock;
	/* the first pass over the candidates (wc_mover_plan) */
	bool		plan;			/* it runs (key index, tail merges on) */
	struct WcMovePart *parts;	/* partitions in key order */
	int			nparts;
	struct HTAB *tailrows;		/* tail block -> candidates of its partitions */
	MemoryContext plancxt;
	/* runs of merged blocks waiting for their partitions' new rows */
	struct WcCarry *carry;		/* in key order, from carry[firstcarry] */
	int			firstcarry;
	int			ncarry;			/* entries in use, firstcarry included */
	int			maxcarry;
} WcMoverState;

/* A partition of the move, as the first pass saw it */
typedef struct WcMovePart
{
	HeapTuple	key;			/* a row holding only its partition key */
	Oid			tailblock;		/* block of its last cold run, or InvalidOid */
	ItemPointerData tailtid;	/* that block's TOAST TID */
	int64		ncand;			/* candidate rows */
	int64		nold;			/* of those, from before defer_from */
	bool		defer;			/* its rows wait for a later move */
} WcMovePart;

/* Candidate rows of the partitions whose last cold run is in a block */
typedef struct WcTailRows
{
	Oid			tailblock;
	int64		ncand;
	int			blockrows;		/* rows of the block; -2 until read */
	bool		declined;		/* a tail merge of it was refused this move */
} WcTailRows;

/* Rows [first, first + nrows) of a merged block, one partition's runs */
typedef struct WcCarry
{
	WcDecodedBlock *blk;
	int			first;
	int			nrows;
} WcCarry;

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
	int			n = ms->keys->nkeys + 1;	/* sorted on: key columns, TID */
	TupleDesc	sortdesc = CreateTemplateTupleDesc(n + 1);
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
	/* carried along: did the row arrive since defer_from (it may wait)? */
	TupleDescInitEntry(sortdesc, n + 1, "young", BOOLOID, -1, 0);
	/* read twice when planned: wc_mover_plan, then wc_mover_write */
	ms->sort = tuplesort_begin_heap(sortdesc, n, attnums, ops, colls, nullsfirst,
									maintenance_work_mem, NULL,
									ms->plan ? TUPLESORT_RANDOMACCESS : TUPLESORT_NONE);
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
	slot->tts_values[i + 1] =
		BoolGetDatum(TransactionIdIsValid(ms->defer_from) &&
					 !TransactionIdPrecedes(HeapTupleHeaderGetXmin(tup->t_data),
											ms->defer_from));
	slot->tts_isnull[i + 1] = false;
	ExecStoreVirtualTuple(slot);
	tuplesort_puttupleslot(ms->sort, slot);
}

/* Compare the partition key of the sort slot's tuple with key's */
static int
wc_mover_slot_vs_key(WcMoverState *ms, HeapTuple key)
{
	TupleDesc	desc = RelationGetDescr(ms->rel);
	int			i;

	for (i = 0; i < ms->keys->npk; i++)
	{
		bool		isnull;
		bool		keynull;
		Datum		d = slot_getattr(ms->sortslot, i + 1, &isnull);
		Datum		k = heap_getattr(key, ms->keys->attnums[i], desc, &keynull);
		int			c = ApplySortComparator(d, isnull, k, keynull, &ms->keys->ssup[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

/* Compare the key of the sort slot's tuple with a last cold key */
static int
wc_mover_slot_vs_last(WcMoverState *ms, Datum *last, bool *lastnull)
{
	int			i;

	for (i = 0; i < ms->keys->nkeys; i++)
	{
		bool		isnull;
		Datum		d = slot_getattr(ms->sortslot, i + 1, &isnull);
		int			c = ApplySortComparator(d, isnull, last[i], lastnull[i],
											&ms->keys->ssup[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

/* Count the sort slot's row as a candidate of partition part */
static void
wc_mover_count(WcMoverState *ms, WcMovePart *part)
{
	bool		isnull;

	part->ncand++;
	if (!DatumGetBool(slot_getattr(ms->sortslot, ms->keys->nkeys + 2, &isnull)))
		part->nold++;
}

/*
 * Deferral (background mover only, ms->defer_from valid): a partition with
 * fewer than WC_DEFER_ROWS new rows, all of them arrived since defer_from,
 * whose last block is too large for a tail merge with the new rows of its
 * partitions (wc_merge.c's rule), keeps its rows in the delta for a later
 * move.  Moved now, they would be a small run of their own in a block
 * shared with other partitions' small runs, and that run would stay:
 * "latest N" of the partition would read one more block for good.  Moved
 * later, more rows of the partition go together.  The worker passes the
 * horizon of its visit WC_MOVER_DEFER_VISITS visits back, so a row waits
 * for at most that many visits.  Deferred partitions have no candidates
 * for the write pass (their runs do not wait in the carry).
 */
static void
wc_mover_plan_deferrals(WcMoverState *ms)
{
	int			i;

	for (i = 0; i < ms->nparts; i++)
	{
		WcMovePart *part = &ms->parts[i];
		WcTailRows *tr;

		if (!OidIsValid(part->tailblock) || part->ncand == 0 ||
			part->ncand >= WC_DEFER_ROWS || part->nold > 0)
			continue;
		tr = hash_search(ms->tailrows, &part->tailblock, HASH_FIND, NULL);
		Assert(tr != NULL);
		if (tr->blockrows == -2)
			tr->blockrows = WcMergeBlockRows(&ms->st, &part->tailtid,
											 part->tailblock);
		if (tr->blockrows > (int64) wc_tail_merge_factor *
			Min(tr->ncand, WC_MAX_BLOCK_ROWS))
		{
			part->defer = true;
			part->ncand = 0;
		}
	}
}

/* The first pass's entry of the partition of row, or NULL */
static WcMovePart *
wc_mover_find_part(WcMoverState *ms, HeapTuple row)
{
	TupleDesc	desc = RelationGetDescr(ms->rel);
	int			lo = 0;
	int			hi = ms->nparts - 1;

	while (lo <= hi)
	{
		int			mid = lo + (hi - lo) / 2;
		int			c = WcKeyCompare(ms->keys, ms->parts[mid].key, row, desc,
									 ms->keys->npk);

		if (c == 0)
			return &ms->parts[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/*
 * First pass over the sorted candidates (when the table has a key index):
 * each partition's candidate rows and the block of its last cold run, and
 * per such block the candidates of every partition whose last run it
 * holds.  A move that finds partitions with few new rows each appends
 * small runs, many partitions' to a block; the next move's tail merges
 * weigh such a block's rows against the new rows of all the partitions
 * whose last run it holds, not of one (wc_mover_end_partition), and the
 * runs of the partitions after the merging one wait for their new rows
 * (wc_mover_carry_add), so a partition's newest rows stay one run.  Rows
 * below their partition's last cold key stay in the delta and are not
 * counted (else they would have the same block rewritten by every move).
 * The plan takes at most maintenance_work_mem; later partitions are not
 * planned (no carry, their blocks weighed by their own rows).  Ends with
 * the sort rewound for wc_mover_write.
 */
static void
wc_mover_plan(WcMoverState *ms)
{
	TupleDesc	desc = RelationGetDescr(ms->rel);
	Datum	   *values = palloc0(sizeof(Datum) * desc->natts);
	bool	   *isnull = palloc(sizeof(bool) * desc->natts);
	Datum		last[INDEX_MAX_KEYS];
	bool		lastnull[INDEX_MAX_KEYS];
	bool		has_last = false;
	int			maxparts = 64;
	HASHCTL		ctl;
	MemoryContext old;
	int			i;

	ms->plancxt = AllocSetContextCreate(CurrentMemoryContext, "widecol mover plan",
										ALLOCSET_DEFAULT_SIZES);
	ms->parts = MemoryContextAlloc(ms->plancxt, sizeof(WcMovePart) * maxparts);
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(WcTailRows);
	ctl.hcxt = ms->plancxt;
	ms->tailrows = hash_create("widecol mover tail rows", 256, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	while (tuplesort_gettupleslot(ms->sort, true, false, ms->sortslot, NULL))
	{
		WcMovePart *part;
		ItemPointerData tailtid;

		CHECK_FOR_INTERRUPTS();
		if (ms->nparts > 0 &&
			wc_mover_slot_vs_key(ms, ms->parts[ms->nparts - 1].key) == 0)
		{
			/* rows below the last cold key stay in the delta: not counted */
			if (!has_last || wc_mover_slot_vs_last(ms, last, lastnull) >= 0)
				wc_mover_count(ms, &ms->parts[ms->nparts - 1]);
			continue;
		}
		/* past maintenance_work_mem, later partitions go unplanned */
		if (MemoryContextMemAllocated(ms->plancxt, true) >
			(Size) maintenance_work_mem * 1024)
			break;
		if (ms->nparts == maxparts)
		{
			maxparts *= 2;
			ms->parts = repalloc_huge(ms->parts, sizeof(WcMovePart) * maxparts);
		}
		part = &ms->parts[ms->nparts++];
		for (i = 0; i < desc->natts; i++)
			isnull[i] = true;
		for (i = 0; i < ms->keys->npk; i++)
		{
			AttrNumber	att = ms->keys->attnums[i];

			values[att - 1] = slot_getattr(ms->sortslot, i + 1, &isnull[att - 1]);
		}
		old = MemoryContextSwitchTo(ms->plancxt);
		part->key = heap_form_tuple(desc, values, isnull);
		MemoryContextSwitchTo(old);
		MemoryContextReset(ms->batchcxt);	/* the previous partition's key */
		has_last = WcLastColdKey(ms->rel, ms->keyidx, &ms->st, ms->keys,
								 ms->horizon, part->key, last, lastnull,
								 ms->batchcxt, &tailtid, &part->tailblock);
		if (!has_last)
			part->tailblock = InvalidOid;
		part->tailtid = tailtid;
		part->ncand = part->nold = 0;
		part->defer = false;
		if (!has_last || wc_mover_slot_vs_last(ms, last, lastnull) >= 0)
			wc_mover_count(ms, part);
	}
	MemoryContextReset(ms->batchcxt);
	for (i = 0; i < ms->nparts; i++)
	{
		WcTailRows *tr;
		bool		found;

		if (!OidIsValid(ms->parts[i].tailblock))
			continue;
		tr = hash_search(ms->tailrows, &ms->parts[i].tailblock, HASH_ENTER, &found);
		if (!found)
		{
			tr->ncand = 0;
			tr->blockrows = -2;
			tr->declined = false;
		}
		tr->ncand += ms->parts[i].ncand;
	}
	if (TransactionIdIsValid(ms->defer_from))
		wc_mover_plan_deferrals(ms);
	pfree(values);
	pfree(isnull);
	tuplesort_rescan(ms->sort);
}

/*
 * Will the partition of row get new rows in this move, with its last cold
 * run in block tailblock (the first pass)?
 */
static bool
wc_mover_waits(WcMoverState *ms, HeapTuple row, Oid tailblock)
{
	WcMovePart *part = wc_mover_find_part(ms, row);

	return part != NULL && part->tailblock == tailblock && part->ncand > 0;
}

/*
 * Let rows [first, first + nrows) of merged block blk, runs of a partition
 * after the one being merged, wait in the carry (kept in key order) for
 * that partition's new rows; consecutive runs of one partition join.
 */
static void
wc_mover_carry_add(WcMoverState *ms, WcDecodedBlock *blk, int first, int nrows)
{
	TupleDesc	desc = RelationGetDescr(ms->rel);
	int			pos = ms->ncarry;

	if (pos > ms->firstcarry)
	{
		WcCarry    *prev = &ms->carry[pos - 1];

		if (prev->blk == blk && prev->first + prev->nrows == first &&
			WcKeyCompare(ms->keys, &blk->rows[prev->first], &blk->rows[first],
						 desc, ms->keys->npk) == 0)
		{
			prev->nrows += nrows;
			return;
		}
	}
	if (ms->ncarry == ms->maxcarry && ms->firstcarry > 0)
	{
		/* reuse the room of the entries already emitted */
		memmove(ms->carry, ms->carry + ms->firstcarry,
				sizeof(WcCarry) * (ms->ncarry - ms->firstcarry));
		ms->ncarry -= ms->firstcarry;
		pos -= ms->firstcarry;
		ms->firstcarry = 0;
	}
	if (ms->ncarry == ms->maxcarry)
	{
		ms->maxcarry = Max(ms->maxcarry * 2, 64);
		ms->carry = ms->carry == NULL ?
			MemoryContextAlloc(ms->plancxt, sizeof(WcCarry) * ms->maxcarry) :
			repalloc(ms->carry, sizeof(WcCarry) * ms->maxcarry);
	}
	/* partitions of earlier merged blocks may come later */
	while (pos > ms->firstcarry &&
		   WcKeyCompare(ms->keys, &ms->carry[pos - 1].blk->rows[ms->carry[pos - 1].first],
						&blk->rows[first], desc, ms->keys->npk) > 0)
		pos--;
	memmove(&ms->carry[pos + 1], &ms->carry[pos], sizeof(WcCarry) * (ms->ncarry - pos));
	ms->carry[pos].blk = blk;
	ms->carry[pos].first = first;
	ms->carry[pos].nrows = nrows;
	ms->ncarry++;
}

/*
 * Hand the carry's runs of the partitions before row's (all of them if
 * row is NULL) to the builder as runs of their own, in key order; then, if
 * the carry holds row's partition, its runs, which the partition's new
 * rows extend.  Returns the last row of those, or NULL.
 */
static HeapTuple
wc_mover_emit_carry(WcMoverState *ms, WcBlockBuilder *b, HeapTuple row)
{
	TupleDesc	desc = RelationGetDescr(ms->rel);
	HeapTuple	lastrow = NULL;

	while (ms->firstcarry < ms->ncarry)
	{
		WcCarry    *c = &ms->carry[ms->firstcarry];
		int			cmp = row == NULL ? -1 :
			WcKeyCompare(ms->keys, &c->blk->rows[c->first], row, desc, ms->keys->npk);
		int			i;

		if (cmp > 0)
			break;
		for (i = c->first; i < c->first + c->nrows; i++)
			WcBuilderAdd(b, &c->blk->rows[i], &c->blk->rows[i].t_self);
		ms->firstcarry++;
		/* a partition's runs may be several entries: all, in order */
		if (cmp == 0)
			lastrow = &c->blk->rows[c->first + c->nrows - 1];
	}
	if (ms->firstcarry == ms->ncarry)
		ms->firstcarry = ms->ncarry = 0;
	return lastrow;
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
		WcTailRows *tr = ms->tailrows == NULL ? NULL :
			hash_search(ms->tailrows, &ms->tailblock, HASH_FIND, NULL);
		int64		newrows = Max(ms->npending, tr != NULL ? tr->ncand : 0);
		WcDecodedBlock *blk = NULL;

		/* every partition of a block weighs it the same: ask once */
		if (tr == NULL || !tr->declined)
			blk = WcMergeTake(&ms->st, &ms->tailtid, ms->tailblock, ms->horizon,
							  (int) Min(newrows, WC_MAX_BLOCK_ROWS),
							  ms->batchcxt);
		if (blk == NULL && tr != NULL)
			tr->declined = true;

		if (blk != NULL)
		{
			TupleDesc	desc = RelationGetDescr(ms->rel);
			WcBlockBuilder *side = NULL;
			WcReplacedBlock replaced;
			int			r;

			/*
			 * The partition's run goes ahead of its new rows; a later
			 * partition whose last run this is and that has new rows in this
			 * move waits in the carry; runs of other partitions keep their
			 * rows and keys in blocks of their own.  The deleted block's run
			 * entries go at a later move (wc_keyclean.c).
			 */
			ms->result->merged_blocks++;
			replaced.tid = ms->tailtid;
			replaced.nruns = (uint16) Min(blk->nruns, PG_UINT16_MAX);
			WcKeyCleanNoteReplaced(ms->result, &replaced);
			for (r = 0; r < blk->nruns; r++)
			{
				WcRunEntry *run = &blk->runs[r];
				int			c = WcKeyCompare(ms->keys, &blk->rows[run->first_row],
											 ms->pending[0], desc, ms->keys->npk);

				if (c > 0 && wc_mover_waits(ms, &blk->rows[run->first_row],
											ms->tailblock))
				{
					wc_mover_carry_add(ms, blk, run->first_row, run->nrows);
					continue;
				}
				if (c != 0 && side == NULL)
					side = WcBuilderBegin(ms->rel, ms->keys, ms->zstd, ms->level,
										  wc_mover_flush, ms);
				for (i = run->first_row; i < run->first_row + run->nrows; i++)
					WcBuilderAdd(c == 0 ? b : side, &blk->rows[i], &blk->rows[i].t_self);
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
	wc_mover_emit_carry(ms, b, NULL);
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
		/* the rest of a deferred partition: not even fetched */
		if (ms->deferring && wc_mover_slot_vs_key(ms, ms->deferkey) == 0)
		{
			ms->result->left_deferred++;
			continue;
		}
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
				HeapTuple	carried;

				wc_mover_end_partition(ms, b);
				carried = wc_mover_emit_carry(ms, b, tup);
				if (ms->plan && TransactionIdIsValid(ms->defer_from))
				{
					WcMovePart *part = wc_mover_find_part(ms, tup);

					ms->deferring = part != NULL && part->defer;
					ms->deferkey = ms->deferring ? part->key : NULL;
				}
				prev = tup;
				if (ms->deferring)
				{
					ms->result->left_deferred++;
					bytes += tup->t_len + HEAPTUPLESIZE;
					continue;
				}
				has_last = WcLastColdKey(ms->rel, ms->keyidx, &ms->st, ms->keys,
										 ms->horizon, tup, last, lastnull,
										 ms->batchcxt, &ms->tailtid,
										 &ms->tailblock);
				ms->merge_ok = has_last && wc_tail_merge_factor > 0;
				if (carried != NULL)
				{
					int			k;

					/*
					 * Its last run, from a block merged in this move (which
					 * WcLastColdKey passes over), is in the builder: the new
					 * rows extend it, from its last key on.
					 */
					for (k = 0; k < nkeys; k++)
						last[k] = heap_getattr(carried, ms->keys->attnums[k],
											   RelationGetDescr(ms->rel), &lastnull[k]);
					has_last = true;
					ms->merge_ok = false;
				}
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
 * Step 2: scan the delta page by page.  Each page is pruned as an index
 * fetch or a page-at-a-time scan would prune it (heap_page_prune_opt: a
 * full page whose dead tuples no snapshot needs; the mover's old SnapshotAny
 * scan did not prune, so delta pages the mover emptied waited for VACUUM
 * or a reader to be reused); its live rows that every snapshot sees become
 * candidates, the others are counted by reason; its LP_DEAD items (rows
 * earlier moves claimed, or deleted ones, now pruned) are collected for
 * the key index cleanup (wc_keyclean.c), at most a quarter of
 * maintenance_work_mem.
 */
static void
wc_mover_collect(WcMoverState *ms)
{
	Relation	rel = ms->rel;
	WcMoveResult *result = ms->result;
	BufferAccessStrategy strategy = NULL;
	BlockNumber nblocks;
	BlockNumber blkno;
	OffsetNumber cand[MaxHeapTuplesPerPage];

	WC_PHYSICAL_BEGIN();
	nblocks = RelationGetNumberOfBlocks(rel);
	WC_PHYSICAL_END();
	/* a ring of buffers for a delta larger than a quarter of them, as heap's scans */
	if (nblocks > (BlockNumber) (NBuffers / 4))
		strategy = GetAccessStrategy(BAS_BULKREAD);
	for (blkno = 0; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber off;
		OffsetNumber maxoff;
		int			ncand = 0;
		int			i;

		CHECK_FOR_INTERRUPTS();
		buf = ReadBufferExtended(rel, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
		heap_page_prune_opt(rel, buf);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		maxoff = PageGetMaxOffsetNumber(page);
		for (off = FirstOffsetNumber; off <= maxoff; off = OffsetNumberNext(off))
		{
			ItemId		lp = PageGetItemId(page, off);
			HeapTupleData tup;
			HTSV_Result res;

			if (ItemIdIsDead(lp))
			{
				WcKeyCleanNoteDead(&ms->clean, blkno, off);
				continue;
			}
			if (!ItemIdIsNormal(lp))
				continue;
			WcPageTuple(rel, page, blkno, off, &tup);
			res = HeapTupleSatisfiesVacuum(&tup, ms->horizon, buf);
			/* count the live rows that stay, by reason (file header, step 2) */
			if (res == HEAPTUPLE_INSERT_IN_PROGRESS ||
				(res == HEAPTUPLE_LIVE &&
				 !TransactionIdPrecedes(HeapTupleHeaderGetXmin(tup.t_data), ms->horizon)))
				result->left_recent++;
			else if (res == HEAPTUPLE_DELETE_IN_PROGRESS)
				result->left_busy++;
			else if (res != HEAPTUPLE_LIVE)
				continue;
			else if (HeapTupleHasExternal(&tup))
				result->left_toasted++;
			else if (tup.t_len > WC_MAX_COLD_ROW)
				result->left_large++;
			else
				cand[ncand++] = off;
		}
		/* the pin keeps the tuples in place; the sort may write files */
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		for (i = 0; i < ncand; i++)
		{
			HeapTupleData tup;

			WcPageTuple(rel, page, blkno, cand[i], &tup);
			wc_mover_sort_add(ms, &tup);
		}
		ReleaseBuffer(buf);
	}
	if (strategy != NULL)
		FreeAccessStrategy(strategy);
}

/*
 * Move every movable delta row of rel into the cold tier.  The caller
 * holds ShareUpdateExclusiveLock on rel and is in a transaction of its own.
 */
void
WcMove(Relation rel, const WcMoveParams *params, WcMoveResult *result)
{
	WcMoverState ms;
	WcKeys		opts;
	bool		zstd;
	int			level;
	TransactionId horizon;

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
	result->horizon = horizon;
	if (params != NULL)
		ms.defer_from = params->defer_from;
	if (OidIsValid(WcGetKeyIndexInfo(rel)->keyindex))
		ms.keyidx = index_open(WcGetKeyIndexInfo(rel)->keyindex, AccessShareLock);
	ms.plan = ms.keyidx != NULL && wc_tail_merge_factor > 0;
	WcKeyCleanInit(&ms.clean, rel, ms.keyidx, ms.st.toastrel);
	wc_mover_sort_begin(&ms);
	wc_mover_collect(&ms);
	if (ms.keyidx != NULL)
		WcKeyCleanRun(&ms.clean, params, horizon, result);
	tuplesort_performsort(ms.sort);
	if (ms.plan)
		wc_mover_plan(&ms);
	wc_mover_write(&ms, zstd, level);
	WcMergeWriteMaps(&ms.st, ms.fwdmaps);
	tuplesort_end(ms.sort);
	ExecDropSingleTupleTableSlot(ms.sortslot);

	WcIndexInserterEnd(ms.ins);
	if (ms.keyidx != NULL)
		index_close(ms.keyidx, AccessShareLock);
	WcStorageClose(&ms.st);
	MemoryContextDelete(ms.batchcxt);
	if (ms.plancxt != NULL)
		MemoryContextDelete(ms.plancxt);
}

/*
 * WcMove as the table's owner in a security-restricted operation, as VACUUM
 * and REINDEX run index expressions: the caller may be a superuser (the
 * background mover, or a superuser calling widecol.compact) and the
 * expressions are the owner's code.  An error undoes it with the
 * transaction.
 */
void
WcMoveAsOwner(Relation rel, const WcMoveParams *params, WcMoveResult *result)
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(rel->rd_rel->relowner,
						   save_sec_context | SECURITY_RESTRICTED_OPERATION);
	save_nestlevel = NewGUCNestLevel();
	WcMove(rel, params, result);
	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
}
