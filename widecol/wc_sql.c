/*-------------------------------------------------------------------------
 *
 * wc_sql.c
 *	  SQL-callable functions of the cold tier: widecol.compact(),
 *	  widecol.verify() and the statistics behind widecol.tables.
 *
 * Thin wrappers: they check the argument (a widecol table, owned by the
 * caller), take the lock the operation needs and call the C API.
 *
 *	  compact(regclass)		ShareUpdateExclusiveLock; refuses to run inside a
 *							transaction block (25001), because the moved
 *							rows should be committed as soon as they move,
 *							and on a published table (0A000): logical
 *							decoding would see the move as deletions
 *	  verify(regclass)		AccessShareLock
 *	  _table_stats(regclass) AccessShareLock; the delta rows a fresh
 *							snapshot sees (a heap scan of the main fork,
 *							O(delta)) and, with the same snapshot, the
 *							cold tier's block headers (no decompression);
 *							parallel unsafe, as a fresh snapshot cannot be
 *							taken in parallel mode
 *
 * widecol/wc_sql.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_publication.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/relcache.h"
#include "tcop/utility.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "widecol.h"
#include "wc_cold.h"

/* Open relid with lockmode, checking it is a widecol table we own */
static Relation
wc_open_owned_table(Oid relid, LOCKMODE lockmode, bool check_owner)
{
	Relation	rel = try_relation_open(relid, lockmode);

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (rel->rd_rel->relkind != RELKIND_RELATION ||
		rel->rd_tableam != WcGetRoutine())
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("table \"%s\" is not a widecol table",
						RelationGetRelationName(rel))));
	if (check_owner && !pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE,
					   RelationGetRelationName(rel));
	return rel;
}

/*
 * True if rel is in a publication (directly, by schema, FOR ALL TABLES or
 * through a partitioned ancestor): a subscriber would receive the mover's
 * deletions of the moved rows and none of the cold rows.  Also used by the
 * background mover (wc_worker.c), which skips such tables.
 */
bool
WcTableIsPublished(Relation rel)
{
	PublicationDesc pubdesc;

	RelationBuildPublicationDesc(rel, &pubdesc);
	return pubdesc.pubactions.pubinsert || pubdesc.pubactions.pubupdate ||
		pubdesc.pubactions.pubdelete || pubdesc.pubactions.pubtruncate;
}

/* Raise 0A000 if rel is published (see WcTableIsPublished) */
static void
wc_refuse_published(Relation rel)
{
	if (WcTableIsPublished(rel))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot compact table \"%s\" because it is published",
						RelationGetRelationName(rel)),
				 errdetail("Logical decoding of widecol cold rows is not supported.")));
}

PG_FUNCTION_INFO_V1(widecol_compact);

/* widecol.compact(regclass): move the movable delta rows to the cold tier */
Datum
widecol_compact(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel;
	WcMoveResult res;
	TupleDesc	desc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	WcCheckPreloaded();
	PreventCommandDuringRecovery("widecol.compact()");
	PreventCommandIfReadOnly("widecol.compact()");
	PreventInTransactionBlock(true, "widecol.compact()");
	rel = wc_open_owned_table(relid, ShareUpdateExclusiveLock, true);
	wc_refuse_published(rel);
	WcMoveAsOwner(rel, NULL, &res);
	table_close(rel, NoLock);

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = Int64GetDatum(res.moved_rows);
	values[1] = Int64GetDatum(res.blocks_written);
	values[2] = Int64GetDatum(res.raw_bytes);
	values[3] = Int64GetDatum(res.compressed_bytes);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc),
													  values, nulls)));
}

PG_FUNCTION_INFO_V1(widecol_verify);

/* widecol.verify(regclass): one row per check (or per failure) */
Datum
widecol_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel;

	WcCheckPreloaded();
	InitMaterializedSRF(fcinfo, 0);
	rel = wc_open_owned_table(relid, AccessShareLock, true);
	WcVerify(rel, rsinfo->setResult, rsinfo->setDesc);
	table_close(rel, AccessShareLock);
	return (Datum) 0;
}

/*
 * Live delta rows of rel that snapshot sees: a heap scan of the main fork
 * only, so the cost is that of the delta, not of the cold tier.  Rows the
 * mover moved are deleted in the delta by the moving transaction, so a
 * snapshot sees each row in exactly one tier.
 */
static int64
wc_count_delta_rows(Relation rel, Snapshot snapshot)
{
	TableScanDesc scan;
	TupleTableSlot *slot;
	int64		rows = 0;

	WC_PHYSICAL_BEGIN();
	scan = heap_beginscan(rel, snapshot, 0, NULL, NULL,
						  SO_TYPE_SEQSCAN | SO_ALLOW_STRAT | SO_ALLOW_PAGEMODE);
	WC_PHYSICAL_END();
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsBufferHeapTuple);
	while (heap_getnextslot(scan, ForwardScanDirection, slot))
	{
		CHECK_FOR_INTERRUPTS();
		rows++;
	}
	ExecDropSingleTupleTableSlot(slot);
	heap_endscan(scan);
	return rows;
}

PG_FUNCTION_INFO_V1(widecol_table_stats);

/*
 * widecol._table_stats(regclass): with one fresh snapshot, the live delta
 * rows, and the blocks, stored rows (minus rows with a visible tombstone),
 * raw and compressed bytes and the newest block's write time of the cold
 * tier.  All NULL for a table dropped meanwhile and for another session's
 * temporary table, whose buffers this backend cannot read.
 */
Datum
widecol_table_stats(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel;
	WcStorage	st;
	TableScanDesc scan;
	HeapTuple	tup;
	Buffer		buf;
	Oid			chunk_id;
	int32		seq;
	const char *data;
	Size		len;
	Snapshot	snapshot;
	int64		delta_rows;
	int64		blocks = 0;
	int64		rows = 0;
	int64		raw = 0;
	int64		comp = 0;
	TimestampTz newest = 0;
	TupleDesc	desc;
	Datum		values[6];
	bool		nulls[6] = {false, false, false, false, false, false};

	WcCheckPreloaded();
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	/* a table dropped while widecol.tables is being read has no counters */
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
	{
		memset(nulls, true, sizeof(nulls));
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc),
														  values, nulls)));
	}
	rel = wc_open_owned_table(relid, AccessShareLock, false);
	if (RELATION_IS_OTHER_TEMP(rel))
	{
		table_close(rel, AccessShareLock);
		memset(nulls, true, sizeof(nulls));
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc),
														  values, nulls)));
	}
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	delta_rows = wc_count_delta_rows(rel, snapshot);
	if (WcStorageExists(rel))
		WcStorageOpen(&st, rel, AccessShareLock);
	scan = WcStorageExists(rel) ?
		WcToastScanBegin(st.toastrel) : NULL;
	while (scan != NULL && WcToastScanNext(scan, &tup, &buf, &chunk_id, &seq, &data, &len))
	{
		WcBlockSummary sum;
		bool		hidden[WC_MAX_BLOCK_ROWS] = {0};
		int			r;

		if (seq != WC_SEQ_BLOCK || !WcBlockTupleVisible(tup, snapshot, buf))
			continue;
		if (data == NULL)
			WcCorrupted(rel, chunk_id, "block tuple has no inline data");
		WcBlockSummarize(rel, chunk_id, data, len, &sum);
		WcHiddenRows(&st, chunk_id, snapshot, hidden, NULL);
		blocks++;
		for (r = 0; r < sum.nrows; r++)
			rows += hidden[r] ? 0 : 1;
		raw += sum.raw_size;
		comp += len;
		if (sum.written_at > newest)
			newest = sum.written_at;
	}
	if (scan != NULL)
	{
		heap_endscan(scan);
		WcStorageClose(&st);
	}
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);

	values[0] = Int64GetDatum(delta_rows);
	values[1] = Int64GetDatum(blocks);
	values[2] = Int64GetDatum(rows);
	values[3] = Int64GetDatum(raw);
	values[4] = Int64GetDatum(comp);
	values[5] = TimestampTzGetDatum(newest);
	nulls[5] = blocks == 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc),
													  values, nulls)));
}
