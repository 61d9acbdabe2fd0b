/*-------------------------------------------------------------------------
 *
 * kv_stats.c
 *	  Monitoring: the kv.stats view (one row), kv.info() with Redis INFO
 *	  names, and kv.stats_reset().
 *
 * Key counts and hit/miss/expiry/eviction counters are per database and
 * only the current database's are ever shown; memory figures are for the
 * whole arena, which all databases share.  Counters are atomics read
 * without locks, so a row is not a consistent snapshot under concurrent
 * writes, but each value is exact at some instant.
 *
 * kvcache/kv_stats.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "kvcache.h"

/* A snapshot of the counters visible to the current database */
typedef struct KvStatsSnapshot
{
	int64		keys;
	int64		expires;
	int64		hits;
	int64		misses;
	int64		expired;
	int64		evicted;
	TimestampTz stats_reset;
	int64		used_memory;
	int64		max_memory;
	int64		free_memory;
} KvStatsSnapshot;

/* Read the counters of the current database and the arena */
static void
kv_stats_read(KvStatsSnapshot *s)
{
	int			slot = KvDbSlotLookup(MyDatabaseId, false);

	memset(s, 0, sizeof(*s));
	if (slot >= 0)
	{
		KvDbStats  *db = &KvShared->dbs[slot];
		int			p;

		s->keys = (int64) pg_atomic_read_u64(&db->keys);
		s->expires = (int64) pg_atomic_read_u64(&db->expires);
		for (p = 0; p < KV_NUM_PARTITIONS; p++)
		{
			s->hits += (int64) pg_atomic_read_u64(&KvShared->partitions[p].hits[slot]);
			s->misses += (int64) pg_atomic_read_u64(&KvShared->partitions[p].misses[slot]);
		}
		s->expired = (int64) pg_atomic_read_u64(&db->expired);
		s->evicted = (int64) pg_atomic_read_u64(&db->evicted);
		s->stats_reset = db->stats_reset;
	}
	else
		s->stats_reset = KvShared->start_time;
	s->used_memory = (int64) KvArenaUsed();
	s->max_memory = (int64) KvArenaTotal();
	s->free_memory = (int64) KvArenaFreeBytes();
}

PG_FUNCTION_INFO_V1(kv_stats);
PG_FUNCTION_INFO_V1(kv_info);
PG_FUNCTION_INFO_V1(kv_stats_reset);

/* kv._stats() -> record, behind the kv.stats view */
Datum
kv_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	KvStatsSnapshot s;
	Datum		values[11];
	bool		nulls[11] = {0};

	KvCheckLoaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	kv_stats_read(&s);
	values[0] = Int64GetDatum(s.keys);
	values[1] = Int64GetDatum(s.expires);
	values[2] = Int64GetDatum(s.used_memory);
	values[3] = Int64GetDatum(s.max_memory);
	values[4] = CStringGetTextDatum(KvEvictionPolicyName(kv_eviction_policy));
	values[5] = Int64GetDatum(s.hits);
	values[6] = Int64GetDatum(s.misses);
	values[7] = Int64GetDatum(s.expired);
	values[8] = Int64GetDatum(s.evicted);
	values[9] = TimestampTzGetDatum(s.stats_reset);
	values[10] = Int64GetDatum(s.free_memory);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}

/* Format a byte count the way Redis's *_human fields do */
static char *
kv_bytes_human(int64 n)
{
	double		d = (double) n;

	if (n < 1024)
		return psprintf("%lldB", (long long) n);
	if (n < 1024 * 1024)
		return psprintf("%.2fK", d / 1024);
	if (n < INT64CONST(1024) * 1024 * 1024)
		return psprintf("%.2fM", d / (1024 * 1024));
	return psprintf("%.2fG", d / (1024.0 * 1024 * 1024));
}

/* Add one name/value row to the tuplestore */
static void
kv_info_row(ReturnSetInfo *rsinfo, const char *name, char *value)
{
	Datum		values[2];
	bool		nulls[2] = {false, false};

	values[0] = CStringGetTextDatum(name);
	values[1] = CStringGetTextDatum(value);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* kv.info() -> TABLE(name text, value text), Redis INFO field names */
Datum
kv_info(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	KvStatsSnapshot s;
	int64		uptime;

	KvCheckLoaded();
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	kv_stats_read(&s);
	uptime = (GetCurrentTimestamp() - KvShared->start_time) / USECS_PER_SEC;

	kv_info_row(rsinfo, "uptime_in_seconds", psprintf("%lld", (long long) uptime));
	kv_info_row(rsinfo, "used_memory", psprintf("%lld", (long long) s.used_memory));
	kv_info_row(rsinfo, "used_memory_human", kv_bytes_human(s.used_memory));
	kv_info_row(rsinfo, "maxmemory", psprintf("%lld", (long long) s.max_memory));
	kv_info_row(rsinfo, "maxmemory_human", kv_bytes_human(s.max_memory));
	kv_info_row(rsinfo, "maxmemory_policy", pstrdup(KvEvictionPolicyName(kv_eviction_policy)));
	kv_info_row(rsinfo, "free_memory", psprintf("%lld", (long long) s.free_memory));
	kv_info_row(rsinfo, "keyspace_hits", psprintf("%lld", (long long) s.hits));
	kv_info_row(rsinfo, "keyspace_misses", psprintf("%lld", (long long) s.misses));
	kv_info_row(rsinfo, "expired_keys", psprintf("%lld", (long long) s.expired));
	kv_info_row(rsinfo, "evicted_keys", psprintf("%lld", (long long) s.evicted));
	kv_info_row(rsinfo, "db0", psprintf("keys=%lld,expires=%lld",
										(long long) s.keys, (long long) s.expires));
	PG_RETURN_NULL();
}

/* kv.stats_reset(): zero this database's hit/miss/expiry/eviction counters */
Datum
kv_stats_reset(PG_FUNCTION_ARGS)
{
	int			slot;

	KvCheckLoaded();
	slot = KvDbSlotLookup(MyDatabaseId, true);
	KvDbStatsReset(slot);
	PG_RETURN_VOID();
}
