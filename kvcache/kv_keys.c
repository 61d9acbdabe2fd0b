/*-------------------------------------------------------------------------
 *
 * kv_keys.c
 *	  Generic key commands: DEL, EXISTS, TYPE, EXPIRE, PERSIST, TTL, PTTL,
 *	  KEYS, SCAN, DBSIZE, FLUSHDB, FLUSHALL.
 *
 * KEYS, SCAN and FLUSH* walk the partitions one bounded batch of buckets at
 * a time, releasing the partition lock between batches and checking for
 * interrupts, so statement_timeout stops them and writers are never
 * starved.  Pattern matching runs after the lock is released.  Only keys of
 * the current database are ever visited or counted.
 *
 * SCAN cursor: partition in the low KV_PARTITION_BITS bits, the partition's
 * reverse-binary bucket cursor above them (see kv_dict.c).  A full
 * iteration (from 0 until 0 comes back) returns every key that existed for
 * the whole iteration at least once; keys added or removed meanwhile may or
 * may not be returned, and a key may be returned more than once.
 *
 * kvcache/kv_keys.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "kvcache.h"

#define KV_SCAN_BATCH	1024	/* buckets per lock hold in KEYS */

/* ----------------------------------------------------------------
 * C API
 * ----------------------------------------------------------------
 */

/* DEL one key: true if it existed */
bool
KvKeyDelete(KvKey *key)
{
	KvEntry    *e;

	if (key->dbslot < 0)
		return false;
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookup(key, true, false);
	if (e)
		KvEntryDelete(key, e);
	KvUnlockPartition(key);
	return e != NULL;
}

/* Type of a key, KV_TYPE_* or 0 if missing */
int
KvKeyType(KvKey *key)
{
	KvEntry    *e;
	int			type = 0;

	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_SHARED);
	e = KvLookup(key, false, false);
	if (e)
		type = e->type;
	KvUnlockPartition(key);
	return type;
}

/*
 * EXPIRE key ms: a non-positive ms deletes the key.  persist = true clears
 * the TTL instead (PERSIST).  Returns whether anything was changed.
 */
bool
KvKeyExpire(KvKey *key, int64 ms, bool persist)
{
	KvEntry    *e;
	bool		changed = false;

	if (key->dbslot < 0)
		return false;
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookup(key, true, false);
	if (e)
	{
		if (persist)
		{
			changed = (e->expire_at != 0);
			KvEntrySetExpire(e, 0);
		}
		else if (ms <= 0)
		{
			KvEntryDelete(key, e);
			changed = true;
		}
		else
		{
			int64		at;

			if (pg_add_s64_overflow(KvNowMs(), ms, &at))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid expire time in \"expire\"")));
			KvEntrySetExpire(e, at);
			changed = true;
		}
	}
	KvUnlockPartition(key);
	return changed;
}

/* PTTL in ms: -2 missing, -1 persistent */
int64
KvKeyPttl(KvKey *key)
{
	KvEntry    *e;
	int64		result = -2;

	if (key->dbslot < 0)
		return -2;
	KvLockPartition(key, LW_SHARED);
	e = KvLookup(key, false, false);
	if (e)
	{
		if (e->expire_at == 0)
			result = -1;
		else
			result = Max(e->expire_at - KvNowMs(), 0);
	}
	KvUnlockPartition(key);
	return result;
}

/* State for collecting key names from a partition batch */
typedef struct KvKeyCollector
{
	List	   *names;			/* of text * */
	int64		seen;
} KvKeyCollector;

/* Visitor: copy the key name (no matching under the lock) */
static bool
kv_collect_visitor(KvEntry *entry, void *arg)
{
	KvKeyCollector *c = (KvKeyCollector *) arg;

	c->names = lappend(c->names,
					   cstring_to_text_with_len(KV_ENTRY_KEY(entry), entry->keylen));
	c->seen++;
	return true;
}

/* Put the collected names that match pattern into the tuplestore */
static void
kv_emit_matches(KvKeyCollector *c, text *pattern, Tuplestorestate *ts,
				TupleDesc tupdesc, Datum cursor, bool with_cursor, int64 *emitted)
{
	ListCell   *lc;
	bool		match_all = (VARSIZE_ANY_EXHDR(pattern) == 1 &&
							 *VARDATA_ANY(pattern) == '*');

	foreach(lc, c->names)
	{
		text	   *name = (text *) lfirst(lc);
		Datum		values[2];
		bool		nulls[2] = {false, false};

		if (!match_all &&
			!KvGlobMatch(VARDATA_ANY(pattern), VARSIZE_ANY_EXHDR(pattern),
						 VARDATA_ANY(name), VARSIZE_ANY_EXHDR(name), false))
			continue;
		if (with_cursor)
		{
			values[0] = cursor;
			values[1] = PointerGetDatum(name);
		}
		else
			values[0] = PointerGetDatum(name);
		tuplestore_putvalues(ts, tupdesc, values, nulls);
		(*emitted)++;
	}
	list_free_deep(c->names);
	c->names = NIL;
}

/* ----------------------------------------------------------------
 * SQL interface
 * ----------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(kv_del);
PG_FUNCTION_INFO_V1(kv_exists);
PG_FUNCTION_INFO_V1(kv_type);
PG_FUNCTION_INFO_V1(kv_expire);
PG_FUNCTION_INFO_V1(kv_persist);
PG_FUNCTION_INFO_V1(kv_ttl);
PG_FUNCTION_INFO_V1(kv_pttl);
PG_FUNCTION_INFO_V1(kv_keys);
PG_FUNCTION_INFO_V1(kv_scan);
PG_FUNCTION_INFO_V1(kv_dbsize);
PG_FUNCTION_INFO_V1(kv_flushdb);
PG_FUNCTION_INFO_V1(kv_flushall);

/* kv.del(VARIADIC keys text[]) -> bigint */
Datum
kv_del(PG_FUNCTION_ARGS)
{
	ArrayType  *keys;
	Datum	   *kd;
	bool	   *kn;
	int			n;
	int			i;
	int64		count = 0;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	keys = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(keys, TEXTOID, -1, false, TYPALIGN_INT, &kd, &kn, &n);
	for (i = 0; i < n; i++)
		if (kn[i])
			KvNullKeyError();
	for (i = 0; i < n; i++)
	{
		KvKey		key;

		KvKeyInitWrite(&key, DatumGetTextPP(kd[i]), false, false);
		if (KvKeyDelete(&key))
			count++;
	}
	PG_RETURN_INT64(count);
}

/* kv.exists(key text) -> boolean */
Datum
kv_exists(PG_FUNCTION_ARGS)
{
	KvKey		key;

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	PG_RETURN_BOOL(KvKeyType(&key) != 0);
}

/* kv.type(key text) -> text */
Datum
kv_type(PG_FUNCTION_ARGS)
{
	KvKey		key;

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	PG_RETURN_TEXT_P(cstring_to_text(KvTypeName(KvKeyType(&key))));
}

/* kv.expire(key text, ttl interval) -> boolean */
Datum
kv_expire(PG_FUNCTION_ARGS)
{
	KvKey		key;
	int64		ms;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("ttl must not be null")));
	ms = KvIntervalToMs(PG_GETARG_INTERVAL_P(1));
	KV_ARG_KEY(fcinfo, 0, key, false);
	PG_RETURN_BOOL(KvKeyExpire(&key, ms, false));
}

/* kv.persist(key text) -> boolean */
Datum
kv_persist(PG_FUNCTION_ARGS)
{
	KvKey		key;

	KV_ARG_KEY(fcinfo, 0, key, false);
	PG_RETURN_BOOL(KvKeyExpire(&key, 0, true));
}

/* kv.ttl(key text) -> bigint, seconds rounded to nearest */
Datum
kv_ttl(PG_FUNCTION_ARGS)
{
	KvKey		key;
	int64		ms;

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	ms = KvKeyPttl(&key);
	PG_RETURN_INT64(ms < 0 ? ms : (ms + 500) / 1000);
}

/* kv.pttl(key text) -> bigint, ms */
Datum
kv_pttl(PG_FUNCTION_ARGS)
{
	KvKey		key;

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	PG_RETURN_INT64(KvKeyPttl(&key));
}

/* kv.keys(pattern text) -> SETOF text */
Datum
kv_keys(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	text	   *pattern = PG_GETARG_TEXT_PP(0);
	int			dbslot;
	int			p;
	int64		emitted = 0;
	KvKeyCollector c = {NIL, 0};

	KvCheckLoaded();
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	dbslot = KvDbSlotLookup(MyDatabaseId, false);
	if (dbslot < 0)
		PG_RETURN_NULL();
	for (p = 0; p < KV_NUM_PARTITIONS; p++)
	{
		uint64		cursor = 0;
		bool		done = false;

		while (!done)
		{
			LWLockAcquire(KvShared->partitions[p].lock, LW_SHARED);
			cursor = KvPartitionScan(p, cursor, KV_SCAN_BATCH, dbslot, false,
									 KvNowMs(), kv_collect_visitor, &c, &done);
			LWLockRelease(KvShared->partitions[p].lock);
			kv_emit_matches(&c, pattern, rsinfo->setResult, rsinfo->setDesc,
							(Datum) 0, false, &emitted);
			CHECK_FOR_INTERRUPTS();
		}
	}
	PG_RETURN_NULL();
}

/*
 * kv.scan(cursor bigint, pattern text, count integer)
 *	  -> TABLE(next_cursor bigint, key text)
 * Every row carries the cursor for the next call; a batch with no matching
 * key returns one row with a NULL key so the cursor is never lost.
 */
Datum
kv_scan(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		cursor_in = PG_GETARG_INT64(0);
	text	   *pattern = PG_GETARG_TEXT_PP(1);
	int32		count = PG_GETARG_INT32(2);
	int			dbslot;
	int			p;
	uint64		bc;
	int			budget;
	int64		next;
	int64		emitted = 0;
	KvKeyCollector c = {NIL, 0};
	List	   *batch = NIL;

	KvCheckLoaded();
	if (cursor_in < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid cursor %lld", (long long) cursor_in)));
	if (count < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("count must be positive")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	dbslot = KvDbSlotLookup(MyDatabaseId, false);

	p = (int) (cursor_in & (KV_NUM_PARTITIONS - 1));
	bc = (uint64) cursor_in >> KV_PARTITION_BITS;
	budget = count;
	next = 0;
	while (dbslot >= 0)
	{
		bool		done = false;
		int			step = Min(budget, KV_SCAN_BATCH);

		LWLockAcquire(KvShared->partitions[p].lock, LW_SHARED);
		bc = KvPartitionScan(p, bc, step, dbslot, false, KvNowMs(),
							 kv_collect_visitor, &c, &done);
		LWLockRelease(KvShared->partitions[p].lock);
		batch = list_concat(batch, c.names);
		c.names = NIL;
		CHECK_FOR_INTERRUPTS();
		/* an empty partition costs nothing; a small one its size */
		budget -= (int) Min((uint64) step, KvShared->partitions[p].nbuckets);
		if (done)
		{
			if (++p == KV_NUM_PARTITIONS)
			{
				next = 0;
				break;
			}
			bc = 0;
		}
		if (budget <= 0 || list_length(batch) >= count)
		{
			next = (int64) ((bc << KV_PARTITION_BITS) | (uint64) p);
			break;
		}
	}

	c.names = batch;
	kv_emit_matches(&c, pattern, rsinfo->setResult, rsinfo->setDesc,
					Int64GetDatum(next), true, &emitted);
	if (emitted == 0)
	{
		Datum		values[2] = {Int64GetDatum(next), (Datum) 0};
		bool		nulls[2] = {false, true};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_NULL();
}

/* kv.dbsize() -> bigint */
Datum
kv_dbsize(PG_FUNCTION_ARGS)
{
	int			dbslot;

	KvCheckLoaded();
	dbslot = KvDbSlotLookup(MyDatabaseId, false);
	if (dbslot < 0)
		PG_RETURN_INT64(0);
	PG_RETURN_INT64((int64) pg_atomic_read_u64(&KvShared->dbs[dbslot].keys));
}

/* Delete every key of dbslot (-1 = all databases), batch by batch */
static int64
kv_flush(int dbslot)
{
	int64		count = 0;
	int			p;

	for (p = 0; p < KV_NUM_PARTITIONS; p++)
	{
		count += KvPartitionPurge(p, dbslot, true);
		CHECK_FOR_INTERRUPTS();
	}
	return count;
}

/* kv.flushdb() -> bigint: keys deleted in this database */
Datum
kv_flushdb(PG_FUNCTION_ARGS)
{
	int			dbslot;

	KvCheckLoaded();
	KvTxnRefuse("kv.flushdb()");
	dbslot = KvDbSlotLookup(MyDatabaseId, false);
	if (dbslot < 0)
		PG_RETURN_INT64(0);
	PG_RETURN_INT64(kv_flush(dbslot));
}

/* kv.flushall() -> bigint: keys deleted in all databases */
Datum
kv_flushall(PG_FUNCTION_ARGS)
{
	KvCheckLoaded();
	KvTxnRefuse("kv.flushall()");
	PG_RETURN_INT64(kv_flush(-1));
}
