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
 * Moved rows: this phase has no key index yet, so the mover gives every
 * moved row an ordinary entry with its cold TID in every index of the
 * table (DESIGN.md 7.2 step 11, without run entries).  Unique indexes are
 * not checked: the row already exists; an inserter that finds both the old
 * (deleted by the mover) and the new entry waits for the mover through
 * SnapshotDirty.
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
	int			nindexes;
	Relation   *indexes;
	IndexInfo **infos;
	ExprState **preds;
	EState	   *estate;
	TupleTableSlot *slot;
};

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

	if (!WcStorageExists(table))
		return 0;
	estate = CreateExecutorState();
	econtext = GetPerTupleExprContext(estate);
	slot = table_slot_create(table, NULL);
	econtext->ecxt_scantuple = slot;
	pred = ExecPrepareQual(ii->ii_Predicate, estate);
	if (concurrent)
		snapshot = RegisterSnapshot(GetTransactionSnapshot());
	else
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
		if (concurrent)
			WcHiddenRows(&st, chunk_id, snapshot, hidden);
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
		ins->indexes[ins->nindexes] = idx;
		ins->infos[ins->nindexes] = BuildIndexInfo(idx);
		ins->preds[ins->nindexes] =
			ExecPrepareQual(ins->infos[ins->nindexes]->ii_Predicate, ins->estate);
		ins->nindexes++;
	}
	list_free(oids);
	return ins;
}

/* Add entries for row tuple, now at cold TID tid, to every index */
void
WcIndexInserterAdd(WcIndexInserter *ins, HeapTuple tuple, ItemPointer tid)
{
	ExprContext *econtext = GetPerTupleExprContext(ins->estate);
	Datum		values[INDEX_MAX_KEYS];
	bool		isnull[INDEX_MAX_KEYS];
	int			i;

	if (ins->nindexes == 0)
		return;
	ExecStoreHeapTuple(tuple, ins->slot, false);
	for (i = 0; i < ins->nindexes; i++)
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
