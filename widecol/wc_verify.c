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
 *					every UPDATE tombstone's successor is a delta TID.
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
		return;
	}
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = 2 * sizeof(int);
	ctl.hcxt = CurrentMemoryContext;
	nrows_by_block = hash_create("widecol verify", 1024, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	wc_verify_blocks(rel, &vs, nrows_by_block);
	wc_verify_tombstones(rel, &vs, nrows_by_block);
	hash_destroy(nrows_by_block);
}
