/*-------------------------------------------------------------------------
 *
 * wc_indexes.c
 *	  Index entries for cold rows: the cold half of index builds, and the
 *	  entries the mover adds for rows it moves.
 *
 * Index build (DESIGN.md 5.4): after heap has indexed the delta, the TOAST
 * relation is scanned with SnapshotAny.  Like heap's build, a plain build
 * classifies with HeapTupleSatisfiesVacuum(OldestXmin): rows of DEAD block
 * tuples and rows whose tombstone committed before OldestXmin are left
 * out; rows some snapshot may still see deleted are indexed with
 * tupleIsAlive = false (unique builds ignore them).  A concurrent build
 * (CIC) indexes what its MVCC snapshot sees.  Expression and partial
 * indexes are evaluated in a private executor state.  Only full-range
 * builds index cold rows; BRIN summarizes block ranges of the delta only
 * and is never used by a query (no bitmap scans, D10).
 *
 * Key index (DESIGN.md 2.7): it holds no per-row entries for cold rows.
 * Per block and run (a partition's rows in one row group, wc_block.c) it
 * holds a START entry at the run's first key and an END entry at its last
 * key, whose TIDs are the block tuple's physical TOAST TID tagged in the
 * offset (wc_cold.h), and a tombstone
 * hint (key of the row, cold TID) for every row that has a DELETE/UPDATE
 * tombstone.  A REINDEX CONCURRENTLY copy of the key index
 * ("<key index>_ccnew", same definition, not yet valid) is built and fed
 * the same way (WcIsRunIndex), and its validation adds the hints of
 * tombstones written while it was being built.  Hints are never inserted
 * twice (btree refuses duplicate TIDs in posting lists): an insert first
 * looks for the entry.
 *
 * Moved rows: the mover gives every moved row an ordinary entry with its
 * cold TID in every other index of the table, and run entries in the key
 * index (WcIndexInserterAddRuns).  Unique indexes are not checked: the
 * row already exists; an inserter that finds both the old (deleted by the
 * mover) and the new entry waits for the mover through SnapshotDirty.
 *
 * Locking: the caller holds the table lock of its command; indexes are
 * opened with RowExclusiveLock for inserts.
 *
 * widecol/wc_indexes.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "miscadmin.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_opclass.h"
#include "utils/lsyscache.h"
#include "executor/executor.h"
#include "storage/bufmgr.h"
#include "storage/procarray.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "widecol.h"
#include "wc_cold.h"

struct WcIndexInserter
{
	Relation	rel;
	int			nruns;			/* run-entry indexes: indexes[0..nruns) */
	int			nindexes;
	Relation   *indexes;
	IndexInfo **infos;
	ExprState **preds;
	EState	   *estate;
	TupleTableSlot *slot;
};

/*
 * Is index a run-entry index of table: the key index, or the copy REINDEX
 * CONCURRENTLY builds of it (named "<key index>_ccnew...", same columns,
 * not valid until it is swapped in)?
 */
bool
WcIsRunIndex(Relation table, Relation index)
{
	const WcKeyIndexInfo *ki = WcGetKeyIndexInfo(table);
	char	   *keyname;
	const char *name = RelationGetRelationName(index);
	Relation	key;
	bool		same;
	int			i;

	if (!OidIsValid(ki->keyindex))
		return false;
	if (RelationGetRelid(index) == ki->keyindex)
		return true;
	if (index->rd_index->indisvalid)
		return false;
	keyname = get_rel_name(ki->keyindex);
	if (keyname == NULL || strncmp(name, keyname, strlen(keyname)) != 0 ||
		strncmp(name + strlen(keyname), "_ccnew", 6) != 0)
		return false;
	key = index_open(ki->keyindex, AccessShareLock);
	same = key->rd_rel->relam == index->rd_rel->relam &&
		key->rd_index->indnatts == index->rd_index->indnatts &&
		RelationGetIndexExpressions(index) == NIL &&
		RelationGetIndexPredicate(index) == NIL;
	for (i = 0; same && i < key->rd_index->indnatts; i++)
		same = key->rd_index->indkey.values[i] == index->rd_index->indkey.values[i] &&
			key->rd_opfamily[i] == index->rd_opfamily[i] &&
			key->rd_indcollation[i] == index->rd_indcollation[i];
	index_close(key, AccessShareLock);
	return same;
}

/* The key index columns of row (the key index has plain columns only) */
static void
wc_key_values(Relation index, HeapTuple row, TupleDesc desc, Datum *values,
			  bool *isnull)
{
	int			i;

	for (i = 0; i < index->rd_index->indnatts; i++)
		values[i] = heap_getattr(row, index->rd_index->indkey.values[i], desc,
								 &isnull[i]);
}

/* Does index hold the entry (values, tid)?  (a scan of that key) */
static bool
wc_index_has_entry(Relation table, Relation index, Datum *values,
				   bool *isnull, ItemPointer tid)
{
	ScanKeyData keys[INDEX_MAX_KEYS];
	IndexScanDesc scan;
	ItemPointer found;
	bool		result = false;
	int			i;

	for (i = 0; i < index->rd_index->indnkeyatts; i++)
	{
		if (isnull[i])
			ScanKeyEntryInitialize(&keys[i], SK_ISNULL | SK_SEARCHNULL, i + 1,
								   InvalidStrategy, InvalidOid,
								   index->rd_indcollation[i], InvalidOid,
								   (Datum) 0);
		else
		{
			Oid			opno = get_opfamily_member(index->rd_opfamily[i],
												   index->rd_opcintype[i],
												   index->rd_opcintype[i],
												   BTEqualStrategyNumber);

			if (!OidIsValid(opno))
				elog(ERROR, "missing equality operator for column %d of index \"%s\"",
					 i + 1, RelationGetRelationName(index));
			ScanKeyEntryInitialize(&keys[i], 0, i + 1, BTEqualStrategyNumber,
								   index->rd_opcintype[i],
								   index->rd_indcollation[i],
								   get_opcode(opno), values[i]);
		}
	}
	scan = index_beginscan(table, index, SnapshotAny,
						   index->rd_index->indnkeyatts, 0);
	index_rescan(scan, keys, index->rd_index->indnkeyatts, NULL, 0);
	while (!result && (found = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
		result = ItemPointerEquals(found, tid);
	index_endscan(scan);
	return result;
}

/*
 * Insert the tombstone hint of cold row `row` (now at coldtid) into index,
 * unless it is there already.
 */
static void
wc_insert_hint(Relation table, Relation index, HeapTuple row,
			   ItemPointer coldtid)
{
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];

	wc_key_values(index, row, RelationGetDescr(table), values, isnull);
	if (!wc_index_has_entry(table, index, values, isnull, coldtid))
		index_insert(index, values, isnull, coldtid, table, UNIQUE_CHECK_NO,
					 false, NULL);
}

/*
 * Insert the tombstone hint of cold row `row` (its TID in t_self) into
 * every ready run-entry index of table (cold DELETE and UPDATE).
 */
void
WcIndexInsertHint(Relation table, HeapTuple row)
{
	List	   *oids = RelationGetIndexList(table);
	ListCell   *lc;

	foreach(lc, oids)
	{
		Relation	idx = index_open(lfirst_oid(lc), RowExclusiveLock);

		if (idx->rd_index->indisready && WcIsRunIndex(table, idx))
			wc_insert_hint(table, idx, row, &row->t_self);
		index_close(idx, RowExclusiveLock);
	}
	list_free(oids);
}

/*
 * Emit the run entries of decoded block blk (block tuple at blocktid) to an
 * index build callback, and a hint for every row with a tombstone
 * (rowstate[r] != WC_ROW_LIVE).
 */
static double
wc_build_runs(Relation table, Relation index, WcDecodedBlock *blk,
			  ItemPointer blocktid, const uint8 *rowstate, bool alive,
			  IndexBuildCallback callback, void *state)
{
	TupleDesc	desc = RelationGetDescr(table);
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	ItemPointerData tid;
	double		n = 0;
	int			r;

	for (r = 0; r < blk->nruns; r++)
	{
		HeapTuple	first = &blk->rows[blk->runs[r].first_row];
		HeapTuple	last = &blk->rows[blk->runs[r].first_row + blk->runs[r].nrows - 1];

		wc_key_values(index, first, desc, values, isnull);
		WcTidMakeRun(&tid, blocktid, WC_RUN_START, r);
		callback(index, &tid, values, isnull, alive, state);
		wc_key_values(index, last, desc, values, isnull);
		WcTidMakeRun(&tid, blocktid, WC_RUN_END, r);
		callback(index, &tid, values, isnull, alive, state);
		n += 2;
	}
	for (r = 0; r < blk->nrows; r++)
	{
		if (rowstate[r] == WC_ROW_LIVE)
			continue;
		wc_key_values(index, &blk->rows[r], desc, values, isnull);
		callback(index, &blk->rows[r].t_self, values, isnull, alive, state);
		n += 1;
	}
	return n;
}

/*
 * Add to run-entry index the hints of every row with a DELETE/UPDATE
 * tombstone that it lacks (CIC and REINDEX CONCURRENTLY validation: the
 * writers of those tombstones may have started before the index was
 * ready, so they did not insert the hints themselves).
 */
void
WcIndexValidateHints(Relation table, Relation index)
{
	WcStorage	st;
	TableScanDesc scan;
	HeapTuple	tup;
	Buffer		buf;
	Oid			chunk_id;
	int32		seq;
	const char *data;
	Size		len;
	TransactionId OldestXmin;
	MemoryContext blkcxt;
	Oid			cur_blockid = InvalidOid;
	ErrorContextCallback errcb;

	if (!WcStorageExists(table))
		return;
	OldestXmin = GetOldestNonRemovableTransactionId(table);
	blkcxt = AllocSetContextCreate(CurrentMemoryContext, "widecol validate",
								   ALLOCSET_DEFAULT_SIZES);
	WcStorageOpen(&st, table, AccessShareLock);
	scan = WcToastScanBegin(st.toastrel);
	WcStoragePushContext(&errcb, table, &cur_blockid);
	while (WcToastScanNext(scan, &tup, &buf, &chunk_id, &seq, &data, &len))
	{
		uint8		rowstate[WC_MAX_BLOCK_ROWS] = {0};
		WcDecodedBlock *blk = NULL;
		HTSV_Result res;
		int			r;

		if (seq != WC_SEQ_BLOCK)
			continue;
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		res = HeapTupleSatisfiesVacuum(tup, OldestXmin, buf);
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		if (res == HEAPTUPLE_DEAD)
			continue;
		cur_blockid = chunk_id;
		WcTombStates(&st, chunk_id, OldestXmin, rowstate);
		for (r = 0; r < WC_MAX_BLOCK_ROWS; r++)
		{
			if (rowstate[r] == WC_ROW_LIVE)
				continue;
			if (blk == NULL)
			{
				if (data == NULL)
					WcCorrupted(table, chunk_id, "block tuple has no inline data");
				MemoryContextReset(blkcxt);
				blk = WcBlockDecode(table, chunk_id, data, len, tup->t_data, blkcxt);
			}
			if (r < blk->nrows)
				wc_insert_hint(table, index, &blk->rows[r], &blk->rows[r].t_self);
		}
	}
	WcStoragePopContext(&errcb);
	heap_endscan(scan);
	WcStorageClose(&st);
	MemoryContextDelete(blkcxt);
}

/* Index the cold rows of table into index (after heap did the delta) */
double
WcIndexBuildCold(Relation table, Relation index, IndexInfo *ii,
				 bool concurrent, IndexBuildCallback callback, void *state)
{
	EState	   *estate;
	ExprContext *econtext;
	TupleTableSlot *slot;
	ExprState  *pred;
	Snapshot	snapshot = NULL;
	TransactionId OldestXmin = InvalidTransactionId;
	WcStorage	st;
	TableScanDesc scan;
	HeapTuple	tup;
	Buffer		buf;
	Oid			chunk_id;
	int32		seq;
	const char *data;
	Size		len;
	MemoryContext blkcxt;
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	double		ntuples = 0;
	Oid			cur_blockid = InvalidOid;
	ErrorContextCallback errcb;
	bool		runs;

	if (!WcStorageExists(table))
		return 0;
	runs = WcIsRunIndex(table, index);
	estate = CreateExecutorState();
	econtext = GetPerTupleExprContext(estate);
	slot = table_slot_create(table, NULL);
	econtext->ecxt_scantuple = slot;
	pred = ExecPrepareQual(ii->ii_Predicate, estate);
	if (concurrent)
		snapshot = RegisterSnapshot(GetTransactionSnapshot());
	/* run-entry indexes hint every tombstone some snapshot may see */
	if (!concurrent || runs)
		OldestXmin = GetOldestNonRemovableTransactionId(table);
	blkcxt = AllocSetContextCreate(CurrentMemoryContext, "widecol index build",
								   ALLOCSET_DEFAULT_SIZES);

	WcStorageOpen(&st, table, AccessShareLock);
	scan = WcToastScanBegin(st.toastrel);
	WcStoragePushContext(&errcb, table, &cur_blockid);
	while (WcToastScanNext(scan, &tup, &buf, &chunk_id, &seq, &data, &len))
	{
		bool		block_alive = true;
		bool		hidden[WC_MAX_BLOCK_ROWS] = {0};
		uint8		rowstate[WC_MAX_BLOCK_ROWS] = {0};
		WcDecodedBlock *blk;
		int			r;

		if (seq != WC_SEQ_BLOCK)
			continue;
		if (concurrent)
		{
			if (!WcBlockTupleVisible(tup, snapshot, buf))
				continue;
		}
		else
		{
			HTSV_Result res;

			LockBuffer(buf, BUFFER_LOCK_SHARE);
			res = HeapTupleSatisfiesVacuum(tup, OldestXmin, buf);
			LockBuffer(buf, BUFFER_LOCK_UNLOCK);
			if (res == HEAPTUPLE_DEAD)
				continue;
			block_alive = res == HEAPTUPLE_LIVE || res == HEAPTUPLE_INSERT_IN_PROGRESS;
		}

		cur_blockid = chunk_id;
		if (data == NULL)
			WcCorrupted(table, chunk_id, "block tuple has no inline data");
		MemoryContextReset(blkcxt);
		blk = WcBlockDecode(table, chunk_id, data, len, tup->t_data, blkcxt);
		if (runs)
		{
			WcTombStates(&st, chunk_id, OldestXmin, rowstate);
			ntuples += wc_build_runs(table, index, blk, &tup->t_self, rowstate,
									 block_alive, callback, state);
			continue;
		}
		if (concurrent)
			WcHiddenRows(&st, chunk_id, snapshot, hidden, NULL);
		else
			WcTombStates(&st, chunk_id, OldestXmin, rowstate);

		for (r = 0; r < blk->nrows; r++)
		{
			if (hidden[r] || rowstate[r] == WC_ROW_DEAD)
				continue;
			ExecStoreBufferHeapTuple(&blk->rows[r], slot, buf);
			if (pred != NULL && !ExecQual(pred, econtext))
			{
				ResetExprContext(econtext);
				continue;
			}
			FormIndexDatum(ii, slot, estate, values, isnull);
			callback(index, &blk->rows[r].t_self, values, isnull,
					 block_alive && rowstate[r] == WC_ROW_LIVE, state);
			ResetExprContext(econtext);
			ntuples += 1;
		}
		ExecClearTuple(slot);
	}
	WcStoragePopContext(&errcb);
	heap_endscan(scan);
	WcStorageClose(&st);
	MemoryContextDelete(blkcxt);
	if (snapshot)
		UnregisterSnapshot(snapshot);
	ExecDropSingleTupleTableSlot(slot);
	FreeExecutorState(estate);
	return ntuples;
}

/* Open every ready index of rel for inserting cold entries */
WcIndexInserter *
WcIndexInserterBegin(Relation rel)
{
	WcIndexInserter *ins = palloc0(sizeof(WcIndexInserter));
	List	   *oids = RelationGetIndexList(rel);
	ListCell   *lc;

	ins->rel = rel;
	ins->estate = CreateExecutorState();
	ins->slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	GetPerTupleExprContext(ins->estate)->ecxt_scantuple = ins->slot;
	ins->indexes = palloc0(sizeof(Relation) * Max(list_length(oids), 1));
	ins->infos = palloc0(sizeof(IndexInfo *) * Max(list_length(oids), 1));
	ins->preds = palloc0(sizeof(ExprState *) * Max(list_length(oids), 1));
	foreach(lc, oids)
	{
		Relation	idx = index_open(lfirst_oid(lc), RowExclusiveLock);

		if (!idx->rd_index->indisready)
		{
			index_close(idx, RowExclusiveLock);
			continue;
		}
		/* run-entry indexes go first: indexes[0..nruns) */
		if (WcIsRunIndex(rel, idx))
		{
			ins->indexes[ins->nindexes] = ins->indexes[ins->nruns];
			ins->infos[ins->nindexes] = ins->infos[ins->nruns];
			ins->preds[ins->nindexes] = ins->preds[ins->nruns];
			ins->indexes[ins->nruns] = idx;
			ins->infos[ins->nruns] = NULL;
			ins->preds[ins->nruns] = NULL;
			ins->nruns++;
			ins->nindexes++;
			continue;
		}
		ins->indexes[ins->nindexes] = idx;
		ins->infos[ins->nindexes] = BuildIndexInfo(idx);
		ins->preds[ins->nindexes] =
			ExecPrepareQual(ins->infos[ins->nindexes]->ii_Predicate, ins->estate);
		ins->nindexes++;
	}
	list_free(oids);
	return ins;
}

/*
 * Add the run entries of a block just written (block tuple at blocktid;
 * rows[] in block order, runs[] its run directory) to the run-entry
 * indexes.
 */
void
WcIndexInserterAddRuns(WcIndexInserter *ins, ItemPointer blocktid,
					   HeapTuple *rows, const WcRunEntry *runs, int nruns)
{
	TupleDesc	desc = RelationGetDescr(ins->rel);
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	ItemPointerData tid;
	int			i;
	int			r;

	for (i = 0; i < ins->nruns; i++)
	{
		Relation	idx = ins->indexes[i];

		for (r = 0; r < nruns; r++)
		{
			wc_key_values(idx, rows[runs[r].first_row], desc, values, isnull);
			WcTidMakeRun(&tid, blocktid, WC_RUN_START, r);
			index_insert(idx, values, isnull, &tid, ins->rel, UNIQUE_CHECK_NO,
						 false, NULL);
			wc_key_values(idx, rows[runs[r].first_row + runs[r].nrows - 1],
						  desc, values, isnull);
			WcTidMakeRun(&tid, blocktid, WC_RUN_END, r);
			index_insert(idx, values, isnull, &tid, ins->rel, UNIQUE_CHECK_NO,
						 false, NULL);
		}
	}
}

/* Add entries for row tuple, now at cold TID tid, to every other index */
void
WcIndexInserterAdd(WcIndexInserter *ins, HeapTuple tuple, ItemPointer tid)
{
	ExprContext *econtext = GetPerTupleExprContext(ins->estate);
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	int			i;

	if (ins->nindexes == ins->nruns)
		return;
	ExecStoreHeapTuple(tuple, ins->slot, false);
	for (i = ins->nruns; i < ins->nindexes; i++)
	{
		if (ins->preds[i] != NULL && !ExecQual(ins->preds[i], econtext))
			continue;
		FormIndexDatum(ins->infos[i], ins->slot, ins->estate, values, isnull);
		index_insert(ins->indexes[i], values, isnull, tid, ins->rel,
					 UNIQUE_CHECK_NO, false, ins->infos[i]);
	}
	ExecClearTuple(ins->slot);
	ResetExprContext(econtext);
}

/* Close what WcIndexInserterBegin opened */
void
WcIndexInserterEnd(WcIndexInserter *ins)
{
	int			i;

	for (i = 0; i < ins->nindexes; i++)
		index_close(ins->indexes[i], RowExclusiveLock);
	ExecDropSingleTupleTableSlot(ins->slot);
	FreeExecutorState(ins->estate);
	pfree(ins);
}

/*
 * Store the block builder b has closed (rows[] in block order) under a
 * fresh block id, header flags or'ed with flags, with its run entries in the
 * key index and an entry per row with its cold TID in every other index.
 * Returns the block id; *raw_size and *stored_size get the block's sizes.
 */
Oid
WcStoreBlock(WcStorage *st, WcIndexInserter *ins, WcBlockBuilder *b,
			 HeapTuple *rows, int nrows, uint16 flags, uint32 *raw_size,
			 Size *stored_size)
{
	Oid			blockid = WcStorageNewBlockId(st);
	bytea	   *payload = WcBuildPayloadForBlock(b, blockid);
	WcBlockHeader *hdr = (WcBlockHeader *) VARDATA(payload);
	ItemPointerData blocktid;
	int			i;

	/* flags precede the CRC, which covers what follows it */
	hdr->flags |= flags;
	WcStorageInsert(st, blockid, WC_SEQ_BLOCK, VARDATA(payload),
					VARSIZE(payload) - VARHDRSZ, &blocktid);
	WcIndexInserterAddRuns(ins, &blocktid, rows,
						   (WcRunEntry *) (VARDATA(payload) + sizeof(WcBlockHeader)),
						   hdr->nruns);
	for (i = 0; i < nrows; i++)
	{
		ItemPointerData cold;

		WcTidMake(&cold, blockid, i);
		WcIndexInserterAdd(ins, rows[i], &cold);
	}
	*raw_size = hdr->raw_size;
	*stored_size = VARSIZE(payload) - VARHDRSZ;
	pfree(payload);
	return blockid;
}
