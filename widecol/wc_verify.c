/*-------------------------------------------------------------------------
 *
 * wc_verify.c
 *	  widecol.verify(regclass): check the cold tier of a table.
 *
 * Checks (DESIGN.md 8, the parts that exist in this phase):
 *	  blocks		every block tuple visible to a fresh snapshot decodes
 *					(magic, version, CRC, directories, frames, row images),
 *					was written for this table, and its rows are in key
 *					order with one partition per run;
 *	  tombstones	every tombstone names a row of an existing block, and
 *					every UPDATE tombstone's successor is a delta TID;
 *	  runs			every START/END run entry of the key index whose block
 *					tuple the snapshot sees names a run of that block whose
 *					first/last key is the entry's key (the block's header
 *					block id is checked by decoding), and every run of every
 *					visible block has both entries.  Entries of dead or
 *					in-progress blocks are fine; entries whose block tuple
 *					is gone are counted as stale (the next VACUUM that finds
 *					dead blocks removes them).  Blocks that fail the blocks
 *					check are left to it.
 * Each failure is one result row; a passing check gives one row with
 * ok = true and a count.  A block that cannot be decoded is reported with
 * the error message, caught in a subtransaction per block so one bad block
 * does not hide the others.  Unreadable pages (checksum failures) raise
 * XX001 from the buffer manager.
 *
 * Locking: AccessShareLock on the table and its TOAST relation.
 *
 * widecol/wc_verify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "miscadmin.h"
#include "access/relscan.h"
#include "access/xact.h"
#include "funcapi.h"
#include "storage/bufmgr.h"
#include "storage/procarray.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "widecol.h"
#include "wc_cold.h"

typedef struct WcVerifyState
{
	Tuplestorestate *store;
	TupleDesc	desc;
} WcVerifyState;

/* Emit one result row */
static void
wc_verify_row(WcVerifyState *vs, const char *check, bool ok, const char *detail)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	values[0] = CStringGetTextDatum(check);
	values[1] = BoolGetDatum(ok);
	values[2] = CStringGetTextDatum(detail);
	tuplestore_putvalues(vs->store, vs->desc, values, nulls);
}

/* Decode one block payload and check its row order; raises on failure */
static void
wc_verify_block(Relation rel, WcKeyInfo *keys, Oid blockid, const char *data,
				Size len)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "widecol verify",
											  ALLOCSET_DEFAULT_SIZES);
	WcDecodedBlock *blk = WcBlockDecode(rel, blockid, data, len, NULL, cxt);
	const WcBlockHeader *hdr = (const WcBlockHeader *) data;
	TupleDesc	desc = RelationGetDescr(rel);
	int			run;

	if (hdr->relid != RelationGetRelid(rel))
		WcCorrupted(rel, blockid, "written for relation %u", hdr->relid);
	for (run = 0; run < blk->nruns; run++)
	{
		int			first = blk->runs[run].first_row;
		int			last = first + blk->runs[run].nrows - 1;
		int			r;

		for (r = first + 1; r <= last; r++)
		{
			if (WcKeyCompare(keys, &blk->rows[r - 1], &blk->rows[r], desc,
							 keys->nkeys) > 0)
				WcCorrupted(rel, blockid, "rows %d and %d are out of key order",
							r - 1, r);
			if (WcKeyCompare(keys, &blk->rows[r - 1], &blk->rows[r], desc,
							 keys->npk) != 0)
				WcCorrupted(rel, blockid, "run %d holds more than one partition", run);
		}
		if (run > 0 &&
			WcKeyCompare(keys, &blk->rows[first - 1], &blk->rows[first], desc,
						 keys->nkeys) > 0)
			WcCorrupted(rel, blockid, "runs %d and %d are out of key order",
						run - 1, run);
	}
	MemoryContextDelete(cxt);
}

/* Check every visible block in its own subtransaction; count failures */
static void
wc_verify_blocks(Relation rel, WcVerifyState *vs, HTAB *nrows_by_block)
{
	WcStorage	st;
	TableScanDesc scan;
	HeapTuple	tup;
	Buffer		buf;
	Oid			chunk_id;
	int32		seq;
	const char *data;
	Size		len;
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	WcKeyInfo  *keys = WcKeyInfoBuild(rel);
	int64		nblocks = 0;
	int64		nrows = 0;
	int64		bad = 0;

	WcStorageOpen(&st, rel, AccessShareLock);
	scan = WcToastScanBegin(st.toastrel);
	while (WcToastScanNext(scan, &tup, &buf, &chunk_id, &seq, &data, &len))
	{
		char	   *copy;
		MemoryContext oldcxt = CurrentMemoryContext;
		ResourceOwner oldowner = CurrentResourceOwner;
		int		   *entry;
		bool		found;

		if (seq != WC_SEQ_BLOCK || !WcBlockTupleVisible(tup, snapshot, buf))
			continue;
		nblocks++;
		if (data == NULL)
		{
			bad++;
			wc_verify_row(vs, "blocks", false,
						  psprintf("block %u: block tuple has no inline data", chunk_id));
			continue;
		}
		copy = palloc(len);
		memcpy(copy, data, len);

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(oldcxt);
		PG_TRY();
		{
			WcBlockSummary sum;

			wc_verify_block(rel, keys, chunk_id, copy, len);
			WcBlockSummarize(rel, chunk_id, copy, len, &sum);
			entry = hash_search(nrows_by_block, &chunk_id, HASH_ENTER, &found);
			entry[1] = sum.nrows;
			nrows += sum.nrows;
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(oldcxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
			bad++;
			wc_verify_row(vs, "blocks", false,
						  edata->detail ? psprintf("%s: %s", edata->message, edata->detail) :
						  edata->message);
			FreeErrorData(edata);
		}
		PG_END_TRY();
		pfree(copy);
	}
	heap_endscan(scan);
	WcStorageClose(&st);
	UnregisterSnapshot(snapshot);
	if (bad == 0)
		wc_verify_row(vs, "blocks", true,
					  psprintf("%lld blocks, %lld rows", (long long) nblocks,
							   (long long) nrows));
}

/* Check that every tombstone refers to an existing row */
static void
wc_verify_tombstones(Relation rel, WcVerifyState *vs, HTAB *nrows_by_block)
{
	WcStorage	st;
	TableScanDesc scan;
	HeapTuple	tup;
	Buffer		buf;
	Oid			chunk_id;
	int32		seq;
	const char *data;
	Size		len;
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	int64		ntombs = 0;
	int64		bad = 0;

	WcStorageOpen(&st, rel, AccessShareLock);
	scan = WcToastScanBegin(st.toastrel);
	while (WcToastScanNext(scan, &tup, &buf, &chunk_id, &seq, &data, &len))
	{
		int			row;
		int		   *entry;
		WcTombstone t;

		if (seq > WC_SEQ_TOMB_FIRST || !WcBlockTupleVisible(tup, snapshot, buf))
			continue;
		ntombs++;
		row = seq >= WC_SEQ_TOMB_LAST ? -seq - 3 : -seq - 294;
		entry = hash_search(nrows_by_block, &chunk_id, HASH_FIND, NULL);
		if (data == NULL || len != sizeof(WcTombstone) || seq < WC_SEQ_LOCK_LAST)
		{
			bad++;
			wc_verify_row(vs, "tombstones", false,
						  psprintf("block %u: tombstone %d is malformed", chunk_id, seq));
			continue;
		}
		memcpy(&t, data, sizeof(t));
		if (entry == NULL || row >= entry[1])
		{
			bad++;
			wc_verify_row(vs, "tombstones", false,
						  psprintf("block %u: tombstone %d names a row that does not exist",
								   chunk_id, seq));
		}
		else if (t.kind == WC_TOMB_UPDATE &&
				 (!ItemPointerIsValid(&t.successor) || WcTidIsCold(&t.successor)))
		{
			bad++;
			wc_verify_row(vs, "tombstones", false,
						  psprintf("block %u: update tombstone %d has successor (%u,%u)",
								   chunk_id, seq,
								   ItemPointerGetBlockNumberNoCheck(&t.successor),
								   ItemPointerGetOffsetNumberNoCheck(&t.successor)));
		}
	}
	heap_endscan(scan);
	WcStorageClose(&st);
	UnregisterSnapshot(snapshot);
	if (bad == 0)
		wc_verify_row(vs, "tombstones", true,
					  psprintf("%lld tombstones", (long long) ntombs));
}

/* A run of a block and the kind of entry the index walk found for it */
typedef struct WcRunSeen
{
	ItemPointerData btid;		/* block tuple */
	uint16		run;
	uint16		kind;			/* WC_RUN_START or WC_RUN_END */
} WcRunSeen;

/* Compare the key of row with key index column values */
static int
wc_verify_key_cmp(WcKeyInfo *keys, HeapTuple row, TupleDesc desc, Datum *vals,
				  bool *nulls)
{
	int			i;

	for (i = 0; i < keys->nkeys; i++)
	{
		bool		isnull;
		Datum		d = heap_getattr(row, keys->attnums[i], desc, &isnull);
		int			c = ApplySortComparator(d, isnull, vals[i], nulls[i], &keys->ssup[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

/* Does run r of blk open (START) or close (END) at the key vals/nulls? */
static bool
wc_verify_run_at(WcKeyInfo *keys, WcDecodedBlock *blk, int r, int kind,
				 TupleDesc desc, Datum *vals, bool *nulls)
{
	int			row = blk->runs[r].first_row +
		(kind == WC_RUN_END ? blk->runs[r].nrows - 1 : 0);

	return wc_verify_key_cmp(keys, &blk->rows[row], desc, vals, nulls) == 0;
}

/* Decode the visible, well-formed block at btid into cxt; NULL otherwise */
static WcDecodedBlock *
wc_verify_open(Relation rel, WcStorage *st, ItemPointer btid, Snapshot snapshot,
			   HTAB *good, MemoryContext cxt, bool *stale)
{
	HeapTupleData btup;
	Buffer		buf;
	Oid			blockid;
	Oid			chunk_id;
	int32		seq;
	const char *data;
	Size		len;
	WcDecodedBlock *blk = NULL;

	*stale = false;
	if (!WcStorageFetchAt(st, btid, &buf, &btup, &blockid))
	{
		*stale = true;
		return NULL;
	}
	if (WcBlockTupleVisible(&btup, snapshot, buf) &&
		hash_search(good, &blockid, HASH_FIND, NULL) != NULL)
	{
		WcStorageGetChunk(&btup, RelationGetDescr(st->toastrel), &chunk_id, &seq,
						  &data, &len);
		blk = WcBlockDecode(rel, blockid, data, len, btup.t_data, cxt);
	}
	ReleaseBuffer(buf);
	return blk;
}

/* Check the key index's run entries against the blocks (file header) */
static void
wc_verify_runs(Relation rel, WcVerifyState *vs, HTAB *good)
{
	Oid			keyoid = WcGetKeyIndexInfo(rel)->keyindex;
	Snapshot	snapshot;
	WcKeyInfo  *keys;
	TupleDesc	desc = RelationGetDescr(rel);
	Relation	index;
	WcStorage	st;
	IndexScanDesc scan;
	ItemPointer tid;
	HASHCTL		ctl;
	HTAB	   *seen;
	TableScanDesc tscan;
	HeapTuple	tup;
	Buffer		buf;
	Oid			chunk_id;
	int32		seq;
	const char *data;
	Size		len;
	MemoryContext cxt;
	int64		nentries = 0;
	int64		nstale = 0;
	int64		bad = 0;

	if (!OidIsValid(keyoid))
		return;
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	keys = WcKeyInfoBuild(rel);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(WcRunSeen);
	ctl.entrysize = sizeof(WcRunSeen);
	ctl.hcxt = CurrentMemoryContext;
	seen = hash_create("widecol verify runs", 1024, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	cxt = AllocSetContextCreate(CurrentMemoryContext, "widecol verify runs",
								ALLOCSET_DEFAULT_SIZES);
	index = index_open(keyoid, AccessShareLock);
	WcStorageOpen(&st, rel, AccessShareLock);

	/* every run entry of a visible block names a run of it */
	scan = index_beginscan(rel, index, SnapshotAny, 0, 0);
	scan->xs_want_itup = true;
	index_rescan(scan, NULL, 0, NULL, 0);
	while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
	{
		int			kind = WcTidRunKind(tid);
		WcRunSeen	key;
		Datum		vals[INDEX_MAX_KEYS];
		bool		nulls[INDEX_MAX_KEYS];
		WcDecodedBlock *blk;
		bool		stale;
		int			r;

		CHECK_FOR_INTERRUPTS();
		if (kind == 0)
			continue;
		nentries++;
		memset(&key, 0, sizeof(key));
		WcTidRunBlockTid(tid, &key.btid);
		MemoryContextReset(cxt);
		blk = wc_verify_open(rel, &st, &key.btid, snapshot, good, cxt, &stale);
		nstale += stale;
		if (blk == NULL)
			continue;
		index_deform_tuple(scan->xs_itup, scan->xs_itupdesc, vals, nulls);
		/*
		 * The run the entry names: its hinted run, else the first one not
		 * yet matched that starts (ends) at the entry's key (runs of one
		 * partition may share keys)
		 */
		key.kind = kind;
		r = WcTidRunHint(tid);
		if (r >= blk->nruns || !wc_verify_run_at(keys, blk, r, kind, desc, vals, nulls))
		{
			for (r = 0; r < blk->nruns; r++)
			{
				key.run = r;
				if (wc_verify_run_at(keys, blk, r, kind, desc, vals, nulls) &&
					hash_search(seen, &key, HASH_FIND, NULL) == NULL)
					break;
			}
		}
		if (r == blk->nruns)
		{
			bad++;
			wc_verify_row(vs, "runs", false,
						  psprintf("block %u: %s entry (%u,%u) matches no run",
								   blk->blockid, kind == WC_RUN_START ? "START" : "END",
								   ItemPointerGetBlockNumber(&key.btid),
								   ItemPointerGetOffsetNumber(&key.btid)));
			continue;
		}
		key.run = r;
		key.kind = kind;
		hash_search(seen, &key, HASH_ENTER, NULL);
	}
	index_endscan(scan);

	/* every run of a visible block has both entries */
	tscan = WcToastScanBegin(st.toastrel);
	while (WcToastScanNext(tscan, &tup, &buf, &chunk_id, &seq, &data, &len))
	{
		WcRunSeen	key;
		WcDecodedBlock *blk;
		int			r;

		if (seq != WC_SEQ_BLOCK || !WcBlockTupleVisible(tup, snapshot, buf) ||
			hash_search(good, &chunk_id, HASH_FIND, NULL) == NULL)
			continue;
		MemoryContextReset(cxt);
		blk = WcBlockDecode(rel, chunk_id, data, len, tup->t_data, cxt);
		memset(&key, 0, sizeof(key));
		key.btid = tup->t_self;
		for (r = 0; r < blk->nruns; r++)
		{
			key.run = r;
			key.kind = WC_RUN_START;
			if (hash_search(seen, &key, HASH_FIND, NULL) != NULL)
			{
				key.kind = WC_RUN_END;
				if (hash_search(seen, &key, HASH_FIND, NULL) != NULL)
					continue;
			}
			bad++;
			wc_verify_row(vs, "runs", false,
						  psprintf("block %u: run %d lacks its %s entry in the key index",
								   chunk_id, r, key.kind == WC_RUN_START ? "START" : "END"));
		}
	}
	heap_endscan(tscan);
	WcStorageClose(&st);
	index_close(index, AccessShareLock);
	MemoryContextDelete(cxt);
	hash_destroy(seen);
	UnregisterSnapshot(snapshot);
	if (bad == 0)
		wc_verify_row(vs, "runs", true,
					  psprintf("%lld run entries, %lld stale", (long long) nentries,
							   (long long) nstale));
}

/* Run every check on rel, appending result rows to store */
void
WcVerify(Relation rel, Tuplestorestate *store, TupleDesc desc)
{
	WcVerifyState vs;
	HASHCTL		ctl;
	HTAB	   *nrows_by_block;

	vs.store = store;
	vs.desc = desc;
	if (!WcStorageExists(rel))
	{
		wc_verify_row(&vs, "blocks", true, "0 blocks, 0 rows");
		wc_verify_row(&vs, "tombstones", true, "0 tombstones");
		wc_verify_row(&vs, "runs", true, "0 run entries, 0 stale");
		return;
	}
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = 2 * sizeof(int);
	ctl.hcxt = CurrentMemoryContext;
	nrows_by_block = hash_create("widecol verify", 1024, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	wc_verify_blocks(rel, &vs, nrows_by_block);
	wc_verify_tombstones(rel, &vs, nrows_by_block);
	wc_verify_runs(rel, &vs, nrows_by_block);
	hash_destroy(nrows_by_block);
}
