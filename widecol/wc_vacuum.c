/*-------------------------------------------------------------------------
 *
 * wc_vacuum.c
 *	  VACUUM, VACUUM FULL and CLUSTER of a widecol table.
 *
 * Plain VACUUM (DESIGN.md 7.5) never moves rows (D12):
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
#include "miscadmin.h"
#include "access/relscan.h"
#include "access/rewriteheap.h"
#include "access/tableam.h"
#include "access/toast_internals.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "commands/vacuum.h"
#include "storage/bufmgr.h"
#include "storage/procarray.h"
#include "access/multixact.h"
#include "utils/builtins.h"
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

/* Human-readable byte count */
static char *
wc_bytes(int64 n)
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
					(long long) c.dead_rows, wc_bytes(c.raw_bytes),
					wc_bytes(c.comp_bytes)),
			 errdetail("Cleanup removed %lld index entries of %lld dead cold rows and %lld dead blocks from %d indexes.",
					   (long long) removed, (long long) c.dead_rows,
					   (long long) c.dead_blocks, nindexes)));
	hash_destroy(c.blocks);
	hash_destroy(c.blocktids);
}

/*
 * Copy the widecol tuples of OldHeap's TOAST relation that are not DEAD
 * into NewHeap's, keeping their visibility (rewrite module) and block ids.
 * Returns the live cold rows.
 */
static double
wc_copy_cold(Relation OldHeap, Relation NewHeap, TransactionId OldestXmin,
			 TransactionId FreezeXid, MultiXactId MultiXactCutoff,
			 double *tups_vacuumed)
{
	Relation	oldtoast = table_open(OldHeap->rd_rel->reltoastrelid, AccessExclusiveLock);
	Relation	newtoast = table_open(NewHeap->rd_rel->reltoastrelid, AccessExclusiveLock);
	RewriteState rw;
	TableScanDesc scan;
	HeapTuple	tup;
	Buffer		buf;
	Oid			chunk_id;
	int32		seq;
	const char *data;
	Size		len;
	double		live = 0;
	Oid			newidx;
	ReindexParams params = {0};

	rw = begin_heap_rewrite(oldtoast, newtoast, OldestXmin, FreezeXid,
							MultiXactCutoff);
	scan = WcToastScanBegin(oldtoast);
	while (WcToastScanNext(scan, &tup, &buf, &chunk_id, &seq, &data, &len))
	{
		HTSV_Result res;
		HeapTuple	copy;

		if (seq >= 0)
			continue;			/* real TOAST chunks: heap's copy re-toasts */
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		res = HeapTupleSatisfiesVacuum(tup, OldestXmin, buf);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		if (res == HEAPTUPLE_DEAD)
		{
			rewrite_heap_dead_tuple(rw, tup);
			*tups_vacuumed += 1;
			continue;
		}
		if (seq == WC_SEQ_BLOCK && res == HEAPTUPLE_LIVE && data != NULL)
		{
			WcBlockSummary sum;

			WcBlockSummarize(OldHeap, chunk_id, data, len, &sum);
			live += sum.nrows;
		}
		copy = heap_copytuple(tup);
		rewrite_heap_tuple(rw, tup, copy);
		heap_freetuple(copy);
	}
	heap_endscan(scan);
	end_heap_rewrite(rw);

	newidx = toast_get_valid_index(RelationGetRelid(newtoast), AccessExclusiveLock);
	reindex_index(newidx, false, newtoast->rd_rel->relpersistence, &params);

	table_close(newtoast, NoLock);
	table_close(oldtoast, NoLock);
	return live;
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
