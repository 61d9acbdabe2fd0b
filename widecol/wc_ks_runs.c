/*-------------------------------------------------------------------------
 *
 * wc_ks_runs.c
 *	  The cold runs a widecol keyscan merges (wc_keyscan.c): the scan's
 *	  cache of decoded blocks, and opening, validating and positioning the
 *	  runs named by key index entries.
 *
 * Blocks.  A run entry names its block tuple by physical TOAST TID.  The
 * scan keeps up to WC_KS_CACHE_SIZE blocks decoded lazily (a row group is
 * rebuilt, or a run of it copied from the group cache, when one of its rows
 * is first read: wc_block.c), each with its TOAST buffer pinned: the pin keeps the
 * block tuple in place and is the buffer rows are stored in the slot with.
 * A block tuple the snapshot does not see, or a slot that no longer holds
 * one, yields no block (the entry is skipped).  Blocks that runs of the
 * merge use (refs) are not evicted; an eviction counts the block's decoded
 * row groups for EXPLAIN.  A cold read the scan did not see coming asks
 * the kernel to read ahead the blocks of the next opening run entries on
 * the current key index page (wc_ks_prefetch).
 *
 * Runs.  An entry is validated against its block: the block holds a run,
 * the entry's hinted run number first, whose first key (opening entry) or
 * last key (closing entry, used by the look-ahead for the run straddling
 * the leading bound) is the entry's; a run opened once in a group is not
 * opened again (duplicate entries).  An opened run is positioned at its
 * first row in scan order at the group's leading bound by binary search,
 * and the merge takes rows from the run whose next row comes first.
 *
 * Locking: the TOAST relation is opened with AccessShareLock on first use
 * (wc_ks_open_storage); block tuples are read with SnapshotAny and checked
 * by hand under a buffer share lock (WcBlockTupleVisible), with heap's
 * conflict-out check under SERIALIZABLE.
 *
 * widecol/wc_ks_runs.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "storage/bufmgr.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "widecol.h"
#include "wc_cold.h"
#include "wc_keyscan.h"

/* Compare two keys given as datums of the key index columns */
int
wc_key_cmp(WcKeyScanState *ks, Datum *a, bool *an, Datum *b, bool *bn)
{
	int			i;

	for (i = 0; i < ks->ki->nkeys; i++)
	{
		int			c = ApplySortComparator(a[i], an[i], b[i], bn[i], &ks->ki->ssup[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

/* The key of a table row as key index column datums */
void
wc_row_key(WcKeyScanState *ks, HeapTuple row, Datum *key, bool *null)
{
	TupleDesc	desc = RelationGetDescr(ks->css.ss.ss_currentRelation);
	int			i;

	for (i = 0; i < ks->ki->nkeys; i++)
		key[i] = heap_getattr(row, ks->ki->attnums[i], desc, &null[i]);
}

/* Open the TOAST relation on first use */
void
wc_ks_open_storage(WcKeyScanState *ks)
{
	if (!ks->storage_open)
	{
		WcStorageOpenLazy(&ks->st, ks->css.ss.ss_currentRelation, AccessShareLock);
		ks->storage_open = true;
	}
}

/* May PrefetchBuffer be asked for TOAST page blkno (see wc_ks_prefetch)? */
static inline bool
wc_ks_can_prefetch(WcKeyScanState *ks, BlockNumber blkno)
{
	return blkno < RELSEG_SIZE || blkno < ks->st.nblocks;
}

/* Has the scan read TOAST page blkno ahead already? */
static bool
wc_ks_prefetched(WcKeyScanState *ks, BlockNumber blkno)
{
	int			i;

	for (i = 0; i < WC_KS_PREFETCHED; i++)
		if (ks->prefetched[i] == blkno)
			return true;
	return false;
}

/*
 * Before block btid is read: if its page is not in shared buffers (a cold
 * read we did not see coming), ask the kernel to read ahead the pages of
 * the next opening run entries too, from the entries btree has already
 * copied from the key index page the scan is on, so the reads are under
 * way together.  For the scan's first block that is one page: while rows
 * keep arriving, "latest N" of a partition often spans its newest small
 * run and the one before (measured: 2 to 3 blocks after 10% new rows), and
 * a read-ahead request costs a system call that is wasted when the first
 * block suffices.  A scan that goes on past a block it did not read ahead
 * reads WC_KS_PREFETCH pages ahead.  Pages read ahead are remembered and
 * not looked up again.
 * A stale entry may name a page past the end of the TOAST relation:
 * prefetching is a no-op there inside the first segment file, but md.c
 * raises an error for a missing segment file, so farther pages are
 * prefetched only below a known size.
 */
static void
wc_ks_prefetch(WcKeyScanState *ks, ItemPointer btid)
{
	BlockNumber blkno = ItemPointerGetBlockNumber(btid);
	bool		forward = ScanDirectionIsForward(ks->dir);
	int			opening = forward ? WC_RUN_START : WC_RUN_END;
	int			ahead = 0;
	BTScanOpaque so;
	int			i;

	if (wc_ks_prefetched(ks, blkno) ||
		RelationUsesLocalBuffers(ks->st.toastrel) || ks->scan == NULL)
		return;
	if (WcPageIsBuffered(ks->st.toastrel, MAIN_FORKNUM, blkno))
	{
		ks->st.nblocks = Max(ks->st.nblocks, blkno + 1);
		return;
	}
	(void) WcStoragePageExists(&ks->st, blkno);	/* a size for the pages ahead */
	so = (BTScanOpaque) ks->scan->opaque;
	if (!BTScanPosIsValid(so->currPos))
		return;
	for (i = so->currPos.itemIndex + (forward ? 1 : -1);
		 i >= so->currPos.firstItem && i <= so->currPos.lastItem;
		 i += forward ? 1 : -1)
	{
		ItemPointer tid = &so->currPos.items[i].heapTid;
		ItemPointerData next;
		BlockNumber page;

		if (WcTidRunKind(tid) != opening)
			continue;
		WcTidRunBlockTid(tid, &next);
		page = ItemPointerGetBlockNumber(&next);
		if (page == blkno || wc_ks_prefetched(ks, page) || !wc_ks_can_prefetch(ks, page))
			continue;
		(void) PrefetchBuffer(ks->st.toastrel, MAIN_FORKNUM, page);
		ks->prefetched[ks->nextprefetch] = page;
		ks->nextprefetch = (ks->nextprefetch + 1) % WC_KS_PREFETCHED;
		if (++ahead == (ks->blocks_read == 0 ? 1 : WC_KS_PREFETCH))
			return;
	}
}

/*
 * The cached decoded block whose block tuple is at btid, reading it if
 * needed; NULL if there is no block tuple there or the snapshot does not
 * see it.  The caller takes a reference.
 */
WcKsBlock *
wc_ks_get_block(WcKeyScanState *ks, ItemPointer btid)
{
	Relation	rel = ks->css.ss.ss_currentRelation;
	Snapshot	snapshot = ks->css.ss.ps.state->es_snapshot;
	WcKsBlock  *victim = NULL;
	Buffer		buf;
	HeapTupleData btup;
	Oid			blockid;
	ErrorContextCallback errcb;
	const char *data;
	Size		len;
	Oid			chunk_id;
	int32		seq;
	int			i;
	bool		visible;

	for (i = 0; i < WC_KS_CACHE_SIZE; i++)
	{
		WcKsBlock  *b = &ks->cache[i];

		if (OidIsValid(b->blockid) && ItemPointerEquals(&b->btid, btid))
		{
			b->used = ++ks->clock;
			return b;
		}
		if (b->refs == 0 &&
			(victim == NULL || !OidIsValid(b->blockid) ||
			 (OidIsValid(victim->blockid) && b->used < victim->used)))
			victim = b;
	}
	if (victim == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many cold runs of widecol table \"%s\" share one key",
						RelationGetRelationName(rel))));

	wc_ks_open_storage(ks);
	wc_ks_prefetch(ks, btid);
	if (!WcStorageFetchAt(&ks->st, btid, &buf, &btup, &blockid))
		return NULL;
	visible = WcBlockTupleVisible(&btup, snapshot, buf);
	WcBlockConflictOut(rel, visible, &btup, buf, snapshot);
	if (!visible)
	{
		ReleaseBuffer(buf);
		return NULL;
	}
	if (OidIsValid(victim->blockid))
	{
		ReleaseBuffer(victim->buf);
		ks->groups_decoded += victim->blk->groups_decoded;
		ks->groups_cached += victim->blk->groups_cached;
		MemoryContextReset(victim->cxt);
		victim->blockid = InvalidOid;
	}
	else if (victim->cxt == NULL)
		victim->cxt = AllocSetContextCreate(ks->css.ss.ps.state->es_query_cxt,
											"widecol keyscan block",
											ALLOCSET_DEFAULT_SIZES);
	ks->cur_blockid = blockid;
	WcStoragePushContext(&errcb, rel, &ks->cur_blockid);
	WcStorageGetChunk(&btup, RelationGetDescr(ks->st.toastrel), &chunk_id, &seq,
					  &data, &len);
	if (data == NULL)
		WcCorrupted(rel, blockid, "block tuple has no inline data");
	victim->blk = WcBlockDecodeLazy(rel, blockid, data, len, btup.t_data,
									victim->cxt);
	WcStoragePopContext(&errcb);
	victim->btid = *btid;
	victim->blockid = blockid;
	victim->buf = buf;
	victim->btup = btup;
	victim->used = ++ks->clock;
	victim->hidden_ready = false;
	ks->blocks_read++;
	return victim;
}

/*
 * Does scan key key (on a key index column) hold for cold row row?  A NULL
 * in the row's column gives ifnull.
 */
bool
wc_ks_key_holds(WcKeyScanState *ks, ScanKey key, HeapTuple row, bool ifnull)
{
	bool		isnull;
	Datum		d = heap_getattr(row, ks->ki->attnums[key->sk_attno - 1],
								 RelationGetDescr(ks->css.ss.ss_currentRelation),
								 &isnull);

	return wc_ks_datum_holds(key, d, isnull, ifnull);
}

/* Copy an entry key (datums of the key index columns) into groupcxt */
void
wc_ks_copy_key(WcKeyScanState *ks, Datum *key, bool *null, Datum *dst,
			   bool *dstnull)
{
	MemoryContext old = MemoryContextSwitchTo(ks->groupcxt);
	int			i;

	for (i = 0; i < ks->ki->nkeys; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(ks->index), i);

		dstnull[i] = null[i];
		dst[i] = null[i] ? (Datum) 0 : datumCopy(key[i], att->attbyval, att->attlen);
	}
	MemoryContextSwitchTo(old);
}

/*
 * Add a pending run named by an opening entry (tid, key) to the merge, or
 * with closing by its closing entry
 */
void
wc_ks_add_run(WcKeyScanState *ks, ItemPointer tid, Datum *key, bool *null,
			  bool closing)
{
	WcKsRun    *run;

	if (ks->nruns == ks->maxruns)
	{
		ks->maxruns *= 2;
		ks->runs = repalloc(ks->runs, sizeof(WcKsRun) * ks->maxruns);
	}
	run = &ks->runs[ks->nruns++];
	memset(run, 0, sizeof(WcKsRun));
	WcTidRunBlockTid(tid, &run->btid);
	run->hint = WcTidRunHint(tid);
	run->closing = closing;
	wc_ks_copy_key(ks, key, null, run->key, run->null);
}

/* Drop run i from the merge */
void
wc_ks_drop_run(WcKeyScanState *ks, int i)
{
	if (ks->runs[i].b != NULL)
		ks->runs[i].b->refs--;
	ks->runs[i] = ks->runs[--ks->nruns];
}

/*
 * Move a just opened run to its first row (in scan order) at the group's
 * leading bound, skipping the rows a straddling run has before it.  Rows
 * of a run share the partition and are in key order, so an inequality on
 * the first sort key column holds from some row on (NULLs sort last: past
 * any bound forward, before it backward): a binary search finds it,
 * comparing a few rows.  If no row reaches the bound the run stays at its
 * last row, which the emitter then rejects.
 */
static void
wc_ks_seek_lead(WcKeyScanState *ks, WcKsRun *run)
{
	ScanKey		key;
	bool		forward = ScanDirectionIsForward(ks->dir);
	int			step = forward ? 1 : -1;
	int			lo = 0;
	int			hi;

	if (ks->lead_sel < 0 || ks->dir != ks->direction)
		return;
	key = &ks->btkeys[ks->lead_sel];
	if (key->sk_strategy == BTEqualStrategyNumber || (key->sk_flags & SK_ISNULL))
		return;
	hi = (run->stop - run->pos) * step;		/* rows left in the run */
	if (wc_ks_key_holds(ks, key, WcBlockRow(run->b->blk, run->pos), forward))
		return;
	/* row lo has not reached the bound; find the first that has, or hi */
	while (hi - lo > 1)
	{
		int			mid = lo + (hi - lo) / 2;

		if (wc_ks_key_holds(ks, key, WcBlockRow(run->b->blk, run->pos + mid * step),
							forward))
			hi = mid;
		else
			lo = mid;
	}
	if (hi == (run->stop - run->pos) * step)
		hi--;
	run->pos += hi * step;
	wc_row_key(ks, WcBlockRow(run->b->blk, run->pos), run->key, run->null);
}

/*
 * Compare the key run r of b opens at (its first row forward, its last
 * backward), or with closing the key it closes at, with key; runs of a
 * block are in key order either way
 */
static int
wc_ks_run_cmp(WcKeyScanState *ks, WcKsBlock *b, int r, bool closing,
			  Datum *key, bool *null)
{
	WcRunEntry *re = &b->blk->runs[r];
	int			row = ScanDirectionIsForward(ks->dir) != closing ?
		re->first_row : re->first_row + re->nrows - 1;
	Datum		rowkey[INDEX_MAX_KEYS];
	bool		rownull[INDEX_MAX_KEYS];

	wc_row_key(ks, WcBlockRow(b->blk, row), rowkey, rownull);
	return wc_key_cmp(ks, rowkey, rownull, key, null);
}

/* Does run r of b open (or with closing, close) at key? */
static inline bool
wc_ks_run_at(WcKeyScanState *ks, WcKsBlock *b, int r, bool closing,
			 Datum *key, bool *null)
{
	return wc_ks_run_cmp(ks, b, r, closing, key, null) == 0;
}

/* Has run r of block btid been opened in this group? */
static bool
wc_ks_run_opened(WcKeyScanState *ks, ItemPointer btid, int r)
{
	ListCell   *lc;

	foreach(lc, ks->opened)
	{
		WcKsOpened *seen = lfirst(lc);

		if (ItemPointerEquals(&seen->btid, btid) && seen->run == r)
			return true;
	}
	return false;
}

/*
 * The run of b that pending run `run` names: one that opens (for a closing
 * entry: closes) at the entry's key and is not open yet, or -1 (a stale
 * entry, or a duplicate of an entry already opened).  Runs of a block are
 * in key order, and several may open or close at one key (a partition's
 * rows cut by row groups where equal keys straddle the cut).  The entry's run number is tried first, then
 * its neighbours at the same key, which decodes only their row groups;
 * only if it does not match (an entry without a hint, or stale) are all
 * runs compared.  A format 4 block names runs 1..WC_RUN_MAX_HINT exactly,
 * so an entry with hint 0 is run 0 or one of the runs after those, which
 * are whole partitions with distinct opening keys (as every run of format
 * 3 is): a binary search among them comes first, decoding a group or two
 * instead of every group; run 0 is tried after it, then all runs (format
 * 3 entries all carry hint 0).
 */
int
wc_ks_find_run(WcKeyScanState *ks, WcKsBlock *b, WcKsRun *run)
{
	int			nruns = b->blk->nruns;
	int			r;

	if (run->hint == WC_RUN_NO_HINT && nruns > WC_RUN_MAX_HINT + 1)
	{
		int			lo = WC_RUN_MAX_HINT + 1;
		int			hi = nruns - 1;

		while (lo <= hi)
		{
			int			mid = lo + (hi - lo) / 2;
			int			c = wc_ks_run_cmp(ks, b, mid, run->closing, run->key, run->null);

			if (c == 0)
				return wc_ks_run_opened(ks, &run->btid, mid) ? -1 : mid;
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid - 1;
		}
		/* not among them: run 0, or a stale entry */
	}

	if (run->hint >= 0 && run->hint < nruns &&
		wc_ks_run_at(ks, b, run->hint, run->closing, run->key, run->null))
	{
		for (r = run->hint; r < nruns; r++)
		{
			if (r > run->hint && !wc_ks_run_at(ks, b, r, run->closing, run->key, run->null))
				break;
			if (!wc_ks_run_opened(ks, &run->btid, r))
				return r;
		}
		for (r = run->hint - 1; r >= 0; r--)
		{
			if (!wc_ks_run_at(ks, b, r, run->closing, run->key, run->null))
				break;
			if (!wc_ks_run_opened(ks, &run->btid, r))
				return r;
		}
		return -1;
	}
	for (r = 0; r < nruns; r++)
		if (r != run->hint &&
			wc_ks_run_at(ks, b, r, run->closing, run->key, run->null) &&
			!wc_ks_run_opened(ks, &run->btid, r))
			return r;
	return -1;
}

/*
 * Open pending run i: read its block, find the run whose first (forward)
 * or last (backward) key is the entry's, position at it.  Returns false
 * (and drops the run) for an invisible, vanished or stale entry, or one
 * whose runs are all opened already in this group.
 */
bool
wc_ks_open_run(WcKeyScanState *ks, int i)
{
	WcKsRun    *run = &ks->runs[i];
	bool		forward = ScanDirectionIsForward(ks->dir);
	WcKsBlock  *b = wc_ks_get_block(ks, &run->btid);
	WcKsOpened *opened;
	MemoryContext old;
	WcRunEntry *re;
	int			r;

	r = b != NULL ? wc_ks_find_run(ks, b, run) : -1;
	if (r < 0)
	{
		ks->blocks_skipped++;
		wc_ks_drop_run(ks, i);
		return false;
	}
	re = &b->blk->runs[r];
	old = MemoryContextSwitchTo(ks->groupcxt);
	opened = palloc(sizeof(WcKsOpened));
	opened->btid = run->btid;
	opened->run = r;
	ks->opened = lappend(ks->opened, opened);
	MemoryContextSwitchTo(old);
	b->refs++;
	run->b = b;
	run->runno = r;
	run->pos = forward ? re->first_row : re->first_row + re->nrows - 1;
	run->stop = forward ? re->first_row + re->nrows : re->first_row - 1;
	wc_row_key(ks, WcBlockRow(b->blk, run->pos), run->key, run->null);
	wc_ks_seek_lead(ks, run);
	return true;
}

/* The run whose next row comes first in scan order, opening it; -1: none */
int
wc_ks_best_run(WcKeyScanState *ks)
{
	int			sign = ScanDirectionIsForward(ks->dir) ? 1 : -1;

	for (;;)
	{
		int			best = -1;
		int			i;

		for (i = 0; i < ks->nruns; i++)
		{
			int			c;

			if (best < 0)
			{
				best = i;
				continue;
			}
			c = sign * wc_key_cmp(ks, ks->runs[i].key, ks->runs[i].null,
								  ks->runs[best].key, ks->runs[best].null);
			if (c < 0 || (c == 0 && ks->runs[i].b != NULL && ks->runs[best].b == NULL))
				best = i;
		}
		if (best < 0 || ks->runs[best].b != NULL || wc_ks_open_run(ks, best))
			return best;
	}
}

/* Does a cold row fail a trailing bound (so the rest of its run does)? */
bool
wc_ks_past_end(WcKeyScanState *ks, HeapTuple row)
{
	int			i;

	/* NULLs sort last: past the end forward, before the start backward */
	for (i = 0; i < ks->ntrail; i++)
		if (!wc_ks_key_holds(ks, &ks->keys[ks->trail[i]], row,
							 !ScanDirectionIsForward(ks->dir)))
			return true;
	return false;
}

/*
 * Does a cold row meet the group's btree keys?  (A run extends past them,
 * and the recheck expression would accept other array elements.)
 */
bool
wc_ks_row_in_group(WcKeyScanState *ks, HeapTuple row)
{
	int			i;

	for (i = 0; i < ks->nsel; i++)
		if ((ks->btkeys[i].sk_flags & SK_ISNULL) ||
			!wc_ks_key_holds(ks, &ks->btkeys[i], row, false))
			return false;
	return true;
}
