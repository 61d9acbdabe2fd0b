/*-------------------------------------------------------------------------
 *
 * wc_vacuum.c
 *	  VACUUM, VACUUM FULL and CLUSTER of a widecol table.
 *
 * Plain VACUUM (DESIGN.md 7.5) never moves rows here (D12; the VACUUM
 * statement runs the mover before it, wc_vacuum_move.c):
 *	  1. heap_vacuum_rel() on the delta, in physical-size mode: prunes,
 *		 removes index entries of dead delta tuples, truncates, freezes;
 *	  2. cold cleanup: a SnapshotAny scan of the TOAST relation finds dead
 *		 block tuples (an aborted mover's) and rows whose DELETE/UPDATE
 *		 tombstone committed before the horizon; if there are any, one
 *		 index_bulk_delete() pass per index removes their cold TIDs, plus
 *		 any cold TID whose block no longer exists; in the key index it
 *		 removes run entries of dead or vanished block tuples and hints of
 *		 dead blocks, but keeps hints of dead rows of live blocks.  The
 *		 tombstones stay: the block still holds the row, and scans must
 *		 keep hiding it;
 *	  3. relpages/reltuples are rewritten (in place, as heap does) to cover
 *		 both tiers: relpages = delta + TOAST blocks (the virtual size that
 *		 ANALYZE and the planner use), reltuples = live delta + live cold;
 *	  4. VACUUM VERBOSE reports the cold tier and the cleanup.
 * Core vacuums the TOAST relation itself afterwards (dead tombstones of
 * aborted transactions, dead block tuples, stale lock tombstones).
 *
 * VACUUM FULL / CLUSTER (relation_copy_for_cluster, DESIGN.md 5.7,
 * preservation mode): the delta is copied by heap's code (run as heap;
 * CLUSTER sorts the delta by the index instead of scanning the index,
 * whose cold TIDs heap could not fetch; cold blocks keep their key order);
 * then every widecol tuple of the old TOAST
 * relation that is not DEAD (block tuples, tombstones) is copied into the
 * new TOAST relation through a second rewrite state, which keeps xmin and
 * xmax exactly as heap's CLUSTER does and freezes old ones, and keeps the
 * block ids, so cold TIDs stay valid.  The new TOAST index is then rebuilt
 * (raw rewrites bypass it); core swaps the TOAST relation by content and
 * rebuilds the table's indexes through our index build.
 *
 * Missing values: after the swap core clears the missing values of
 * columns added with a default and no rewrite (RelationClearMissing), so a
 * row image with fewer attributes would then read NULL for them.  While
 * such a column exists, every block is decoded, and a block with a row too
 * short for it is re-formed instead of copied: its rows, less those whose
 * DELETE/UPDATE tombstone committed before OldestXmin, are deformed with
 * the old descriptor (which fills in the missing values), formed again
 * (dropped columns NULL) and written in their order by the block builder
 * into blocks with new ids, each with the old block tuple's visibility;
 * their tombstones, re-keyed to the rows' new TIDs, follow them.  The
 * other tombstones are then copied by a second pass that skips the
 * re-formed blocks.  Cold TIDs of re-formed rows change, which is safe
 * because core rebuilds every index after the swap and heap's rewrite has
 * already cut delta update chains that pointed at cold TIDs.
 *
 * A re-formed row that no longer fits a cold row (WC_MAX_COLD_ROW, as the
 * mover leaves such rows in the delta) goes to the new delta instead: a
 * heap tuple whose xmin is the block tuple's and whose xmax is the inserter
 * of its DELETE/UPDATE tombstone, if one is not DEAD, so every snapshot
 * sees it exactly when it saw the cold row; its tombstones (and lock
 * tombstones, which no other transaction can hold under the
 * AccessExclusiveLock) are dropped, and its ctid ends the chain (the link
 * from an UPDATE tombstone to its successor is not kept).  Such rows are
 * noted while the TOAST relation is rewritten and written after it is
 * complete and indexed, through a second rewrite state of the new main
 * fork that appends after heap's copy, so their TOAST values can be saved
 * into the new TOAST relation without meeting its raw rewrite.
 *
 * Locking: VACUUM holds ShareUpdateExclusiveLock (core), index cleanup
 * opens indexes with RowExclusiveLock; VACUUM FULL and CLUSTER hold
 * AccessExclusiveLock on the table and its TOAST relation (core).
 *
 * widecol/wc_vacuum.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "miscadmin.h"
#include "access/relscan.h"
#include "access/rewriteheap.h"
#include "access/tableam.h"
#include "access/toast_internals.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "commands/vacuum.h"
#include "executor/tuptable.h"
#include "storage/bufmgr.h"
#include "storage/procarray.h"
#include "access/multixact.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "widecol.h"
#include "wc_cold.h"

/* What the cleanup scan learned about one block id */
typedef struct WcBlockFate
{
	Oid			blockid;		/* hash key */
	bool		dead;			/* block tuple DEAD: every row is dead */
	uint8		rowstate[WC_MAX_BLOCK_ROWS];
} WcBlockFate;

typedef struct WcCleanup
{
	HTAB	   *blocks;
	HTAB	   *blocktids;		/* WcBlockAt by physical TID of block tuples */
	int64		nblocks;
	int64		dead_blocks;
	int64		live_rows;
	int64		dead_rows;
	int64		raw_bytes;
	int64		comp_bytes;
} WcCleanup;

/* A block tuple of the TOAST relation found by the cleanup scan */
typedef struct WcBlockAt
{
	ItemPointerData tid;		/* hash key: its physical TID */
	bool		dead;
} WcBlockAt;

/*
 * State of the cold half of VACUUM FULL / CLUSTER: the rewrite of the
 * TOAST relation, and while a block is re-formed, where its rows went
 */
typedef struct WcRewrite
{
	Relation	OldHeap;
	WcStorage	oldst;			/* old TOAST relation and its indexes */
	Relation	newtoast;
	Oid			newtoastidx;	/* its valid index */
	RewriteState rw;
	TransactionId OldestXmin;
	double	   *tups_vacuumed;
	double		live;			/* live cold rows written */

	/* re-forming blocks (only when maxmissing > 0) */
	AttrNumber	maxmissing;		/* highest attnum with a missing value */
	HTAB	   *reformed;		/* ids of the re-formed old blocks */
	WcKeyInfo  *keys;
	bool		zstd;
	int			level;
	Datum	   *values;			/* deformed row */
	bool	   *isnull;
	MemoryContext blockcxt;		/* reset after each re-formed block */
	HeapTuple	oldblock;		/* block tuple being re-formed */
	uint16		oldflags;		/* its header flags */
	int			kept;			/* rows written for it */
	ItemPointerData newtid[WC_MAX_BLOCK_ROWS];	/* its rows' new TIDs */

	/* re-formed rows too large for a cold row, bound for the new delta */
	MemoryContext cxt;			/* of the command: holds spilled */
	struct WcSpilledRow *spilled;
	int			nspilled;
	int			maxspilled;
} WcRewrite;

/*
 * A re-formed row that goes to the new delta: where it is in the old cold
 * tier and the heap visibility it gets there (raw xmin, xmax and command
 * id field, and the xact bits of t_infomask)
 */
typedef struct WcSpilledRow
{
	Oid			blockid;
	int			row;
	TransactionId xmin;
	TransactionId xmax;
	CommandId	cid;
	uint16		infomask;
} WcSpilledRow;

/* Bulk-delete state of one index */
typedef struct WcReapState
{
	WcCleanup  *c;
	bool		runs;			/* a run-entry index (the key index) */
} WcReapState;

/*
 * bulk-delete callback: is this index entry a dead cold row, or in the key
 * index a run entry of a dead or vanished block tuple or a hint of a dead
 * block?  Hints of dead rows stay while their block lives: the keyscan
 * reads a block's tombstones only when a hint names it.
 */
static bool
wc_cold_reaped(ItemPointer itemptr, void *state)
{
	WcReapState *rs = (WcReapState *) state;
	WcCleanup  *c = rs->c;
	Oid			blockid;
	WcBlockFate *fate;

	if (rs->runs && WcTidRunKind(itemptr) != 0)
	{
		ItemPointerData blocktid;
		WcBlockAt  *at;

		WcTidRunBlockTid(itemptr, &blocktid);
		at = hash_search(c->blocktids, &blocktid, HASH_FIND, NULL);
		return at == NULL || at->dead;
	}
	if (!WcTidIsCold(itemptr))
		return false;
	blockid = WcTidBlock(itemptr);
	fate = hash_search(c->blocks, &blockid, HASH_FIND, NULL);
	if (fate == NULL || fate->dead)
		return true;
	return !rs->runs && fate->rowstate[WcTidRow(itemptr)] == WC_ROW_DEAD;
}

/* Scan the TOAST relation: live and dead blocks, dead rows */
static void
wc_cleanup_scan(Relation rel, TransactionId OldestXmin, WcCleanup *c)
{
	WcStorage	st;
	TableScanDesc scan;
	HeapTuple	tup;
	Buffer		buf;
	Oid			chunk_id;
	int32		seq;
	const char *data;
	Size		len;
	HASHCTL		ctl;
	Oid			cur_blockid = InvalidOid;
	ErrorContextCallback errcb;

	memset(c, 0, sizeof(WcCleanup));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(WcBlockFate);
	ctl.hcxt = CurrentMemoryContext;
	c->blocks = hash_create("widecol cleanup", 1024, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = sizeof(ItemPointerData);
	ctl.entrysize = sizeof(WcBlockAt);
	c->blocktids = hash_create("widecol cleanup tids", 1024, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	WcStorageOpen(&st, rel, AccessShareLock);
	WcStoragePushContext(&errcb, rel, &cur_blockid);
	scan = WcToastScanBegin(st.toastrel);
	while (WcToastScanNext(scan, &tup, &buf, &chunk_id, &seq, &data, &len))
	{
		HTSV_Result res;
		WcBlockFate *fate;
		bool		found;
		WcBlockSummary sum;
		int			r;

		if (seq != WC_SEQ_BLOCK)
			continue;
		cur_blockid = chunk_id;
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		res = HeapTupleSatisfiesVacuum(tup, OldestXmin, buf);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		fate = hash_search(c->blocks, &chunk_id, HASH_ENTER, &found);
		memset(fate->rowstate, 0, sizeof(fate->rowstate));
		fate->dead = res == HEAPTUPLE_DEAD;
		((WcBlockAt *) hash_search(c->blocktids, &tup->t_self, HASH_ENTER,
								   &found))->dead = fate->dead;
		if (fate->dead)
		{
			c->dead_blocks++;
			continue;
		}
		if (data == NULL)
			WcCorrupted(rel, chunk_id, "block tuple has no inline data");
		if (res == HEAPTUPLE_RECENTLY_DEAD || res == HEAPTUPLE_DELETE_IN_PROGRESS)
			continue;			/* rewritten by a tail merge: its rows live on */
		WcBlockSummarize(rel, chunk_id, data, len, &sum);
		c->nblocks++;
		c->raw_bytes += sum.raw_size;
		c->comp_bytes += len;
		WcTombStates(&st, chunk_id, OldestXmin, fate->rowstate);
		for (r = 0; r < sum.nrows; r++)
		{
			if (fate->rowstate[r] == WC_ROW_DEAD)
				c->dead_rows++;
			else if (fate->rowstate[r] == WC_ROW_LIVE)
				c->live_rows++;
		}
	}
	heap_endscan(scan);
	WcStoragePopContext(&errcb);
	WcStorageClose(&st);
}

/* Human-readable byte count (pg_size_pretty), palloc'd */
char *
WcSizePretty(int64 n)
{
	return text_to_cstring(DatumGetTextPP(DirectFunctionCall1(pg_size_pretty,
															  Int64GetDatum(n))));
}

/* VACUUM: heap's vacuum of the delta, then the cold cleanup (file header) */
static void
wc_relation_vacuum(Relation rel, struct VacuumParams *params,
				   BufferAccessStrategy bstrategy)
{
	int			elevel = (params->options & VACOPT_VERBOSE) ? INFO : DEBUG2;
	TransactionId OldestXmin;
	WcCleanup	c;
	int			nindexes = 0;
	Relation   *indrels = NULL;
	int64		removed = 0;
	HeapTuple	ctup;
	Form_pg_class cform;
	BlockNumber relpages;
	double		reltuples;
	BlockNumber relallvisible;

	WC_PHYSICAL_BEGIN();
	heap_vacuum_rel(rel, params, bstrategy);
	WC_PHYSICAL_END();

	if (!WcStorageExists(rel))
		return;
	OldestXmin = GetOldestNonRemovableTransactionId(rel);
	wc_cleanup_scan(rel, OldestXmin, &c);

	vac_open_indexes(rel, RowExclusiveLock, &nindexes, &indrels);
	if ((c.dead_blocks > 0 || c.dead_rows > 0) && nindexes > 0 &&
		params->index_cleanup != VACOPTVALUE_DISABLED)
	{
		int			i;

		for (i = 0; i < nindexes; i++)
		{
			IndexVacuumInfo ivinfo;
			IndexBulkDeleteResult *stats;
			WcReapState rs;

			memset(&ivinfo, 0, sizeof(ivinfo));
			ivinfo.index = indrels[i];
			ivinfo.analyze_only = false;
			ivinfo.report_progress = false;
			ivinfo.estimated_count = true;
			ivinfo.message_level = elevel;
			ivinfo.num_heap_tuples = rel->rd_rel->reltuples;
			ivinfo.strategy = bstrategy;
			rs.c = &c;
			rs.runs = WcIsRunIndex(rel, indrels[i]);
			stats = index_bulk_delete(&ivinfo, NULL, wc_cold_reaped, &rs);
			/* BRIN's cleanup summarizes ranges: the delta's, as in heap's pass */
			WC_PHYSICAL_BEGIN();
			stats = index_vacuum_cleanup(&ivinfo, stats);
			WC_PHYSICAL_END();
			if (stats)
			{
				removed += (int64) stats->tuples_removed;
				pfree(stats);
			}
		}
	}
	vac_close_indexes(nindexes, indrels, NoLock);

	/* relation statistics over both tiers (heap just stored the delta's) */
	CommandCounterIncrement();
	ctup = SearchSysCacheCopy1(RELOID, ObjectIdGetDatum(RelationGetRelid(rel)));
	if (!HeapTupleIsValid(ctup))
		elog(ERROR, "cache lookup failed for relation %u", RelationGetRelid(rel));
	cform = (Form_pg_class) GETSTRUCT(ctup);
	relpages = table_block_relation_size(rel, MAIN_FORKNUM) / BLCKSZ +
		WcToastBlocks(rel);
	reltuples = cform->reltuples >= 0 ? cform->reltuples + c.live_rows : -1;
	relallvisible = cform->relallvisible;
	heap_freetuple(ctup);
	if (reltuples >= 0)
		vac_update_relstats(rel, relpages, reltuples, relallvisible,
							nindexes > 0, InvalidTransactionId,
							InvalidMultiXactId, NULL, NULL, false);

	ereport(elevel,
			(errmsg("widecol \"%s.%s\": cold tier: %lld blocks, %lld live rows, %lld dead rows, raw %s, compressed %s",
					get_namespace_name(RelationGetNamespace(rel)),
					RelationGetRelationName(rel),
					(long long) c.nblocks, (long long) c.live_rows,
					(long long) c.dead_rows, WcSizePretty(c.raw_bytes),
					WcSizePretty(c.comp_bytes)),
			 errdetail("Cleanup removed %lld index entries of %lld dead cold rows and %lld dead blocks from %d indexes.",
					   (long long) removed, (long long) c.dead_rows,
					   (long long) c.dead_blocks, nindexes)));
	hash_destroy(c.blocks);
	hash_destroy(c.blocktids);
}

/* Highest attnum of desc whose attribute has a missing value, or 0 */
static AttrNumber
wc_max_missing(TupleDesc desc)
{
	AttrNumber	max = 0;
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->atthasmissing && !att->attisdropped)
			max = att->attnum;
	}
	return max;
}

/*
 * Copy tup (a widecol tuple of the old TOAST relation, buf pinned) into
 * the new one unless it is DEAD; returns its HeapTupleSatisfiesVacuum
 * result.
 */
static HTSV_Result
wc_rewrite_copy(WcRewrite *rs, HeapTuple tup, Buffer buf)
{
	HTSV_Result res;
	HeapTuple	copy;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	res = HeapTupleSatisfiesVacuum(tup, rs->OldestXmin, buf);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	if (res == HEAPTUPLE_DEAD)
	{
		rewrite_heap_dead_tuple(rs->rw, tup);
		*rs->tups_vacuumed += 1;
		return res;
	}
	copy = heap_copytuple(tup);
	rewrite_heap_tuple(rs->rw, tup, copy);
	heap_freetuple(copy);
	return res;
}

/* Is id a chunk_id of the new TOAST relation (tuples it has indexed)? */
static bool
wc_new_chunk_id_used(WcRewrite *rs, Oid id)
{
	ScanKeyData key;
	SysScanDesc scan;
	bool		used;

	ScanKeyInit(&key, (AttrNumber) 1, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(id));
	scan = systable_beginscan(rs->newtoast, rs->newtoastidx, true,
							  SnapshotAny, 1, &key);
	used = systable_getnext(scan) != NULL;
	systable_endscan(scan);
	return used;
}

/*
 * A block id for a re-formed block: unused in the old TOAST relation (so
 * no copied tuple has it) and among the TOAST values heap's copy of the
 * delta saved into the new one, as toast_save_datum() checks both.
 */
static Oid
wc_rewrite_block_id(WcRewrite *rs)
{
	Oid			id;

	do
		id = WcStorageNewBlockId(&rs->oldst);
	while (wc_new_chunk_id_used(rs, id));
	return id;
}

/*
 * Flush callback of the builder re-forming a block: write the new block
 * tuple with the old block tuple's visibility and note where each row
 * (srctids: its old cold TID) went.
 */
static void
wc_reform_flush(void *arg, WcBlockBuilder *b, int nrows, HeapTuple *rows,
				ItemPointer srctids)
{
	WcRewrite  *rs = (WcRewrite *) arg;
	Oid			blockid = wc_rewrite_block_id(rs);
	bytea	   *payload = WcBuildPayloadForBlock(b, blockid);
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	HeapTuple	newtup;
	int			i;

	/* flags precede the CRC: a COPY-loaded block stays one */
	((WcBlockHeader *) VARDATA(payload))->flags |= rs->oldflags & WC_BLOCK_LOADED;
	values[0] = ObjectIdGetDatum(blockid);
	values[1] = Int32GetDatum(WC_SEQ_BLOCK);
	values[2] = PointerGetDatum(payload);
	newtup = heap_form_tuple(RelationGetDescr(rs->newtoast), values, nulls);
	rewrite_heap_tuple(rs->rw, rs->oldblock, newtup);
	heap_freetuple(newtup);
	pfree(payload);
	for (i = 0; i < nrows; i++)
		WcTidMake(&rs->newtid[WcTidRow(&srctids[i])], blockid, i);
	rs->kept += nrows;
}

/*
 * The row a tombstone or lock tombstone tuple of the old TOAST relation is
 * for, and whether it is a DELETE/UPDATE tombstone
 */
static int
wc_tomb_row(WcRewrite *rs, HeapTuple tomb, bool *is_tomb)
{
	Oid			chunk_id;
	int32		seq;

	WcStorageGetChunk(tomb, RelationGetDescr(rs->oldst.toastrel), &chunk_id,
					  &seq, NULL, NULL);
	*is_tomb = seq >= WC_SEQ_TOMB_LAST;
	return *is_tomb ? -seq - 3 : -seq - 294;
}

/*
 * The tombstones of block blockid in the old TOAST relation: DEAD ones
 * are left behind; rows whose DELETE/UPDATE tombstone committed before
 * OldestXmin get WC_ROW_DEAD in state[]; copies of the others are
 * returned in *tombs (in blockcxt) for the caller to carry over.
 */
static int
wc_reform_tombs(WcRewrite *rs, Oid blockid, uint8 *state, HeapTuple **tombs)
{
	ScanKeyData keys[3];
	SysScanDesc scan;
	HeapTuple	tup;
	int			n = 0;
	int			max = 8;

	*tombs = palloc(sizeof(HeapTuple) * max);
	scan = WcTombScanBegin(&rs->oldst, blockid, true, keys);
	while ((tup = systable_getnext(scan)) != NULL)
	{
		Buffer		buf = ((BufferHeapTupleTableSlot *) scan->slot)->buffer;
		HTSV_Result res;
		bool		is_tomb;
		int			row = wc_tomb_row(rs, tup, &is_tomb);

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		res = HeapTupleSatisfiesVacuum(tup, rs->OldestXmin, buf);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		if (res == HEAPTUPLE_DEAD)
		{
			rewrite_heap_dead_tuple(rs->rw, tup);
			*rs->tups_vacuumed += 1;
			continue;
		}
		if (is_tomb && res == HEAPTUPLE_LIVE &&
			TransactionIdPrecedes(HeapTupleHeaderGetXmin(tup->t_data), rs->OldestXmin))
			state[row] = WC_ROW_DEAD;
		if (n == max)
		{
			max *= 2;
			*tombs = repalloc(*tombs, sizeof(HeapTuple) * max);
		}
		(*tombs)[n++] = heap_copytuple(tup);
	}
	systable_endscan(scan);
	return n;
}

/*
 * Row of the old descriptor re-formed with every attribute: deforming
 * fills in the missing values of columns added after the row was written
 * (which finish_heap_swap clears from the catalog); dropped columns
 * become NULL, as in heap's rewrite.
 */
static HeapTuple
wc_reform_row(WcRewrite *rs, HeapTuple row)
{
	TupleDesc	desc = RelationGetDescr(rs->OldHeap);
	int			i;

	heap_deform_tuple(row, desc, rs->values, rs->isnull);
	for (i = 0; i < desc->natts; i++)
		if (TupleDescAttr(desc, i)->attisdropped)
			rs->isnull[i] = true;
	return heap_form_tuple(desc, rs->values, rs->isnull);
}

/*
 * Note that row `row` of block blockid (block tuple blocktup), re-formed
 * too large for a cold row, goes to the new delta, with the visibility the
 * cold row has: inserted by the block tuple's inserter and, when tomb (its
 * DELETE/UPDATE tombstone, not DEAD) is given, deleted by the tombstone's
 * inserter.  Its tombstones are not carried over.  A deleter of our own
 * transaction (CLUSTER in a transaction block) gets the tombstone's
 * command id, through a combo command id if the block is ours too, as
 * heap_delete would set it.
 */
static void
wc_spill_row(WcRewrite *rs, HeapTuple blocktup, HeapTuple tomb, Oid blockid,
			 int row)
{
	HeapTupleHeaderData hdr;
	WcSpilledRow *sp;

	Assert(!(blocktup->t_data->t_infomask & HEAP_COMBOCID));
	memset(&hdr, 0, sizeof(hdr));
	HeapTupleHeaderSetXmin(&hdr, HeapTupleHeaderGetRawXmin(blocktup->t_data));
	hdr.t_infomask = blocktup->t_data->t_infomask & HEAP_XMIN_FROZEN;
	HeapTupleHeaderSetCmin(&hdr, HeapTupleHeaderGetRawCommandId(blocktup->t_data));
	if (tomb == NULL &&
		!(blocktup->t_data->t_infomask & HEAP_XMAX_INVALID) &&
		!HEAP_XMAX_IS_LOCKED_ONLY(blocktup->t_data->t_infomask) &&
		TransactionIdDidCommit(HeapTupleHeaderGetRawXmax(blocktup->t_data)))
	{
		/* a tail merge deleted the block: its rows live on in another */
		HeapTupleHeaderSetXmax(&hdr, HeapTupleHeaderGetRawXmax(blocktup->t_data));
		hdr.t_infomask |= HEAP_XMAX_COMMITTED;
	}
	else if (tomb == NULL)
		hdr.t_infomask |= HEAP_XMAX_INVALID;
	else
	{
		TransactionId xmax = HeapTupleHeaderGetRawXmin(tomb->t_data);

		HeapTupleHeaderSetXmax(&hdr, xmax);
		if (tomb->t_data->t_infomask & HEAP_XMIN_COMMITTED)
			hdr.t_infomask |= HEAP_XMAX_COMMITTED;
		if (TransactionIdIsCurrentTransactionId(xmax))
		{
			CommandId	cmax = HeapTupleHeaderGetCmin(tomb->t_data);
			bool		iscombo;

			HeapTupleHeaderAdjustCmax(&hdr, &cmax, &iscombo);
			HeapTupleHeaderSetCmax(&hdr, cmax, iscombo);
		}
	}

	if (rs->nspilled == rs->maxspilled)
	{
		rs->maxspilled = Max(64, rs->maxspilled * 2);
		rs->spilled = rs->spilled == NULL ?
			MemoryContextAllocHuge(rs->cxt, sizeof(WcSpilledRow) * rs->maxspilled) :
			repalloc_huge(rs->spilled, sizeof(WcSpilledRow) * rs->maxspilled);
	}
	sp = &rs->spilled[rs->nspilled++];
	sp->blockid = blockid;
	sp->row = row;
	sp->xmin = HeapTupleHeaderGetRawXmin(&hdr);
	sp->xmax = HeapTupleHeaderGetRawXmax(&hdr);
	sp->cid = HeapTupleHeaderGetRawCommandId(&hdr);
	sp->infomask = hdr.t_infomask;
}

/*
 * If a row of the block tuple tup (not DEAD: res; its buffer pinned;
 * payload data, len) has fewer attributes than a column with a missing
 * value needs, write the block's live rows re-formed into new blocks
 * (rows too large for a cold row are noted for the new delta instead),
 * carry its tombstones over to the rows' new TIDs, and return true; else
 * return false (the caller copies the block as it is).
 */
static bool
wc_reform_block(WcRewrite *rs, HeapTuple tup, HTSV_Result res, Oid blockid,
				const char *data, Size len)
{
	MemoryContext old = MemoryContextSwitchTo(rs->blockcxt);
	WcDecodedBlock *blk;
	WcBlockSummary sum;
	uint8		state[WC_MAX_BLOCK_ROWS];
	HeapTuple  *tombs;
	HeapTuple	rowtomb[WC_MAX_BLOCK_ROWS]; /* DELETE/UPDATE tombstone by row */
	int			ntombs;
	WcBlockBuilder *b;
	int			i;

	blk = WcBlockDecode(rs->OldHeap, blockid, data, len, NULL, rs->blockcxt);
	for (i = 0; i < blk->nrows; i++)
		if (HeapTupleHeaderGetNatts(blk->rows[i].t_data) < rs->maxmissing)
			break;
	if (i == blk->nrows)
	{
		MemoryContextSwitchTo(old);
		MemoryContextReset(rs->blockcxt);
		return false;
	}

	WcBlockSummarize(rs->OldHeap, blockid, data, len, &sum);
	memset(state, WC_ROW_LIVE, sizeof(state));
	ntombs = wc_reform_tombs(rs, blockid, state, &tombs);

	/* the live rows in their order (key order), so runs stay disjoint */
	rs->oldblock = tup;
	rs->oldflags = sum.flags;
	rs->kept = 0;
	for (i = 0; i < WC_MAX_BLOCK_ROWS; i++)
		ItemPointerSetInvalid(&rs->newtid[i]);
	memset(rowtomb, 0, sizeof(rowtomb));
	for (i = 0; i < ntombs; i++)
	{
		bool		is_tomb;
		int			row = wc_tomb_row(rs, tombs[i], &is_tomb);

		if (is_tomb && row < blk->nrows)
			rowtomb[row] = tombs[i];
	}
	b = WcBuilderBegin(rs->OldHeap, rs->keys, rs->zstd, rs->level,
					   wc_reform_flush, rs);
	WcBuilderSetWrittenAt(b, blk->written_at);
	for (i = 0; i < blk->nrows; i++)
	{
		HeapTuple	row;

		if (state[i] == WC_ROW_DEAD)
		{
			*rs->tups_vacuumed += 1;
			continue;
		}
		row = wc_reform_row(rs, &blk->rows[i]);
		if (row->t_len > WC_MAX_COLD_ROW)
		{
			wc_spill_row(rs, tup, rowtomb[i], blockid, i);
			if (res == HEAPTUPLE_LIVE && rowtomb[i] == NULL)
				rs->live += 1;
			continue;
		}
		WcBuilderAdd(b, row, &blk->rows[i].t_self);
	}
	WcBuilderFinish(b);
	if (res == HEAPTUPLE_LIVE)
		rs->live += rs->kept;

	/* tombstones follow their rows; those of dropped rows go */
	for (i = 0; i < ntombs; i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		bool		replace[3] = {true, true, false};
		bool		is_tomb;
		int			row = wc_tomb_row(rs, tombs[i], &is_tomb);
		HeapTuple	newtup;

		if (row >= blk->nrows || !ItemPointerIsValid(&rs->newtid[row]))
		{
			*rs->tups_vacuumed += 1;
			continue;
		}
		values[0] = ObjectIdGetDatum(WcTidBlock(&rs->newtid[row]));
		values[1] = Int32GetDatum(is_tomb ? WC_SEQ_TOMB(WcTidRow(&rs->newtid[row])) :
								  WC_SEQ_LOCK(WcTidRow(&rs->newtid[row])));
		newtup = heap_modify_tuple(tombs[i], RelationGetDescr(rs->newtoast),
								   values, nulls, replace);
		rewrite_heap_tuple(rs->rw, tombs[i], newtup);
	}

	hash_search(rs->reformed, &blockid, HASH_ENTER, NULL);
	MemoryContextSwitchTo(old);
	MemoryContextReset(rs->blockcxt);
	return true;
}

/*
 * Write the spilled rows (wc_spill_row) into NewHeap's main fork after
 * heap's copy of the delta, through a rewrite state of their own, which
 * appends pages, WAL-logs them as full pages and freezes as heap's copy
 * does (against the old TOAST relation's relfrozenxid, where their xids
 * come from).  Each row is decoded and re-formed again from its old block,
 * which the AccessExclusiveLock keeps in place; rows over the TOAST
 * threshold are toasted into the new TOAST relation, whose cold tuples are
 * complete and indexed by now.  Core rebuilds the table's indexes after
 * the swap, so the rows need no index entries here.
 */
static void
wc_write_spilled(WcRewrite *rs, Relation NewHeap, TransactionId OldestXmin,
				 TransactionId FreezeXid, MultiXactId MultiXactCutoff)
{
	RewriteState rw;
	WcDecodedBlock *blk = NULL;
	Buffer		buf = InvalidBuffer;
	int			i;

	WC_PHYSICAL_BEGIN();
	rw = begin_heap_rewrite(rs->oldst.toastrel, NewHeap, OldestXmin,
							FreezeXid, MultiXactCutoff);
	WC_PHYSICAL_END();
	for (i = 0; i < rs->nspilled; i++)
	{
		WcSpilledRow *sp = &rs->spilled[i];
		HeapTuple	newtup;
		HeapTuple	oldtup;

		CHECK_FOR_INTERRUPTS();
		/* rows of one block are consecutive: decode each block once */
		if (blk == NULL || blk->blockid != sp->blockid)
		{
			HeapTupleData btup;
			Oid			chunk_id;
			int32		seq;
			const char *data;
			Size		len;

			MemoryContextReset(rs->blockcxt);
			if (!WcStorageGetBlock(&rs->oldst, sp->blockid, &buf, &btup))
				elog(ERROR, "block %u of widecol table \"%s\" vanished during its rewrite",
					 sp->blockid, RelationGetRelationName(rs->OldHeap));
			WcStorageGetChunk(&btup, RelationGetDescr(rs->oldst.toastrel),
							  &chunk_id, &seq, &data, &len);
			if (data == NULL)
				WcCorrupted(rs->OldHeap, sp->blockid, "block tuple has no inline data");
			blk = WcBlockDecode(rs->OldHeap, sp->blockid, data, len, NULL,
								rs->blockcxt);
			ReleaseBuffer(buf);
		}
		if (sp->row >= blk->nrows)
			elog(ERROR, "row %d of block %u of widecol table \"%s\" vanished during its rewrite",
				 sp->row, sp->blockid, RelationGetRelationName(rs->OldHeap));

		/* the old tuple carries the visibility; its ctid ends the chain */
		newtup = wc_reform_row(rs, &blk->rows[sp->row]);
		oldtup = heap_copytuple(newtup);
		HeapTupleHeaderSetXmin(oldtup->t_data, sp->xmin);
		HeapTupleHeaderSetXmax(oldtup->t_data, sp->xmax);
		oldtup->t_data->t_choice.t_heap.t_field3.t_cid = sp->cid;
		oldtup->t_data->t_infomask &= ~HEAP_XACT_MASK;
		oldtup->t_data->t_infomask |= sp->infomask & HEAP_XACT_MASK;
		WcTidMake(&oldtup->t_self, sp->blockid, sp->row);
		oldtup->t_data->t_ctid = oldtup->t_self;
		rewrite_heap_tuple(rw, oldtup, newtup);
		heap_freetuple(oldtup);
		heap_freetuple(newtup);
	}
	end_heap_rewrite(rw);
	MemoryContextReset(rs->blockcxt);
}

/*
 * reindex_index builds the new TOAST index with the horizon of a relation
 * created in this transaction, for which a tuple deleted by a committed
 * transaction is dead.  The widecol tuples that are only recently dead
 * (blocks a tail merge rewrote and their forward maps, replaced lock
 * tombstones) must stay reachable for older snapshots: index them too.
 */
static void
wc_index_recently_dead(Relation toastrel, Oid indexoid, TransactionId OldestXmin)
{
	Relation	idx = index_open(indexoid, RowExclusiveLock);
	IndexInfo  *ii = BuildIndexInfo(idx);
	TableScanDesc scan = WcToastScanBegin(toastrel);
	HeapTuple	tup;
	Buffer		buf;
	Oid			chunk_id;
	int32		seq;

	while (WcToastScanNext(scan, &tup, &buf, &chunk_id, &seq, NULL, NULL))
	{
		HTSV_Result res;
		Datum		values[2];
		bool		isnull[2] = {false, false};

		if (seq >= 0)
			continue;
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		res = HeapTupleSatisfiesVacuum(tup, OldestXmin, buf);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		if (res != HEAPTUPLE_RECENTLY_DEAD)
			continue;
		values[0] = ObjectIdGetDatum(chunk_id);
		values[1] = Int32GetDatum(seq);
		index_insert(idx, values, isnull, &tup->t_self, toastrel,
					 UNIQUE_CHECK_NO, false, ii);
	}
	heap_endscan(scan);
	index_close(idx, RowExclusiveLock);
}

/*
 * Copy the widecol tuples of OldHeap's TOAST relation that are not DEAD
 * into NewHeap's, keeping their visibility (rewrite module) and block ids.
 * Blocks with rows that lack a column whose missing value the swap will
 * clear are re-formed instead (file header).  Returns the live cold rows.
 */
static double
wc_copy_cold(Relation OldHeap, Relation NewHeap, TransactionId OldestXmin,
			 TransactionId FreezeXid, MultiXactId MultiXactCutoff,
			 double *tups_vacuumed)
{
	WcRewrite	rs;
	TableScanDesc scan;
	HeapTuple	tup;
	Buffer		buf;
	Oid			chunk_id;
	int32		seq;
	const char *data;
	Size		len;
	Oid			newidx;
	ReindexParams params = {0};

	memset(&rs, 0, sizeof(rs));
	rs.cxt = CurrentMemoryContext;
	rs.OldHeap = OldHeap;
	rs.OldestXmin = OldestXmin;
	rs.tups_vacuumed = tups_vacuumed;
	rs.maxmissing = wc_max_missing(RelationGetDescr(OldHeap));
	WcStorageOpen(&rs.oldst, OldHeap, AccessExclusiveLock);
	rs.newtoast = table_open(NewHeap->rd_rel->reltoastrelid, AccessExclusiveLock);
	newidx = toast_get_valid_index(RelationGetRelid(rs.newtoast), AccessExclusiveLock);
	rs.rw = begin_heap_rewrite(rs.oldst.toastrel, rs.newtoast, OldestXmin,
							   FreezeXid, MultiXactCutoff);
	if (rs.maxmissing > 0)
	{
		WcKeys		opts;
		HASHCTL		ctl;
		int			natts = RelationGetDescr(OldHeap)->natts;

		rs.newtoastidx = newidx;
		rs.keys = WcKeyInfoBuild(OldHeap);
		WcReadStoredKeys(RelationGetRelid(OldHeap), &opts);
		WcKeysCompression(&opts, &rs.zstd, &rs.level);
		rs.values = palloc(sizeof(Datum) * natts);
		rs.isnull = palloc(sizeof(bool) * natts);
		rs.blockcxt = AllocSetContextCreate(CurrentMemoryContext,
											"widecol re-formed block",
											ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(Oid);
		ctl.hcxt = CurrentMemoryContext;
		rs.reformed = hash_create("widecol re-formed blocks", 256, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	/*
	 * Block tuples, and with missing values blocks only: a re-formed
	 * block's tombstones move with its rows, so the others are copied in a
	 * second pass that knows which blocks were re-formed.
	 */
	scan = WcToastScanBegin(rs.oldst.toastrel);
	while (WcToastScanNext(scan, &tup, &buf, &chunk_id, &seq, &data, &len))
	{
		HTSV_Result res;

		if (seq >= 0)
			continue;			/* real TOAST chunks: heap's copy re-toasts */
		if (rs.maxmissing > 0 && seq != WC_SEQ_BLOCK)
			continue;
		if (seq == WC_SEQ_BLOCK && rs.maxmissing > 0 && data != NULL)
		{
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			res = HeapTupleSatisfiesVacuum(tup, OldestXmin, buf);
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			if (res != HEAPTUPLE_DEAD &&
				wc_reform_block(&rs, tup, res, chunk_id, data, len))
				continue;
		}
		res = wc_rewrite_copy(&rs, tup, buf);
		if (seq == WC_SEQ_BLOCK && res == HEAPTUPLE_LIVE && data != NULL)
		{
			WcBlockSummary sum;

			WcBlockSummarize(OldHeap, chunk_id, data, len, &sum);
			rs.live += sum.nrows;
		}
	}
	heap_endscan(scan);

	if (rs.maxmissing > 0)
	{
		scan = WcToastScanBegin(rs.oldst.toastrel);
		while (WcToastScanNext(scan, &tup, &buf, &chunk_id, &seq, NULL, NULL))
		{
			if (seq >= 0 || seq == WC_SEQ_BLOCK ||
				hash_search(rs.reformed, &chunk_id, HASH_FIND, NULL) != NULL)
				continue;
			wc_rewrite_copy(&rs, tup, buf);
		}
		heap_endscan(scan);
	}
	end_heap_rewrite(rs.rw);

	reindex_index(newidx, false, rs.newtoast->rd_rel->relpersistence, &params);
	wc_index_recently_dead(rs.newtoast, newidx, OldestXmin);

	if (rs.maxmissing > 0)
	{
		if (rs.nspilled > 0)
			wc_write_spilled(&rs, NewHeap, OldestXmin, FreezeXid, MultiXactCutoff);
		hash_destroy(rs.reformed);
		MemoryContextDelete(rs.blockcxt);
	}

	table_close(rs.newtoast, NoLock);
	WcStorageClose(&rs.oldst);
	return rs.live;
}

/* VACUUM FULL / CLUSTER: heap copies the delta, then the cold tuples */
static void
wc_relation_copy_for_cluster(Relation OldHeap, Relation NewHeap,
							 Relation OldIndex, bool use_sort,
							 TransactionId OldestXmin,
							 TransactionId *xid_cutoff,
							 MultiXactId *multi_cutoff,
							 double *num_tuples,
							 double *tups_vacuumed,
							 double *tups_recently_dead)
{
	const TableAmRoutine *heap = WcHeapRoutine();
	const TableAmRoutine *saved = OldHeap->rd_tableam;

	if (OidIsValid(OldHeap->rd_rel->reltoastrelid) &&
		!OidIsValid(NewHeap->rd_rel->reltoastrelid))
		elog(ERROR, "new copy of widecol table \"%s\" has no TOAST relation",
			 RelationGetRelationName(OldHeap));

	/* CLUSTER orders the delta by sorting it: index scans would meet cold TIDs */
	OldHeap->rd_tableam = heap;
	PG_TRY();
	{
		heap->relation_copy_for_cluster(OldHeap, NewHeap, OldIndex,
										OldIndex != NULL,
										OldestXmin, xid_cutoff, multi_cutoff,
										num_tuples, tups_vacuumed,
										tups_recently_dead);
	}
	PG_FINALLY();
	{
		OldHeap->rd_tableam = saved;
	}
	PG_END_TRY();

	if (OidIsValid(OldHeap->rd_rel->reltoastrelid))
		*num_tuples += wc_copy_cold(OldHeap, NewHeap, OldestXmin, *xid_cutoff,
									*multi_cutoff, tups_vacuumed);
}

/* Install the maintenance callbacks into routine */
void
WcVacuumInitRoutine(TableAmRoutine *routine)
{
	routine->relation_vacuum = wc_relation_vacuum;
	routine->relation_copy_for_cluster = wc_relation_copy_for_cluster;
}
