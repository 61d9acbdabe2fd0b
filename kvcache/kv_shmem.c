/*-------------------------------------------------------------------------
 *
 * kv_shmem.c
 *	  Module start-up: GUCs, shared memory sizing and initialisation, the
 *	  per-database slot table, and the DROP DATABASE purge hook.
 *
 * Shared memory layout (one ShmemInitStruct segment named "kvcache"):
 *
 *	  KvSharedState		control data, per-database counters, partitions
 *	  arena				kvcache.max_memory bytes managed by kv_alloc.c
 *
 * Everything lives in PostgreSQL's main shared memory segment, so raw
 * pointers are valid in every backend.  The segment is recreated (and the
 * cache thereby emptied) whenever the postmaster reinitialises shared
 * memory: at restart and after any backend crash.
 *
 * Databases: every key carries the slot index of its database.  Slots are
 * assigned on the first write in a database.  When DROP DATABASE commits
 * (object_access_hook notes the OID, a commit callback acts), the keys are
 * purged and the slot released, so a new database that reuses the OID
 * starts empty.  A drop that the hook cannot see (one replayed on a hot
 * standby) is caught when a backend first uses its database's slot: the
 * slot remembers the xmin of the pg_database row it was made for, and a
 * different xmin means a new database with a recycled OID, whose stale
 * keys are purged then.  Slot assignment takes KvShared->dblock
 * exclusively; lock order is dblock before partition locks.
 *
 * kvcache/kv_shmem.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/objectaccess.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/syscache.h"

#include "kvcache.h"
#include "kv_front.h"
#include "kv_hash.h"
#include "kv_list.h"
#include "kv_zset.h"

PG_MODULE_MAGIC;

/* GUC variables */
int			kv_max_memory_mb = 64;
int			kv_eviction_policy = KV_EVICT_ALLKEYS_LRU;
int			kv_expire_interval_ms = 100;
int			kv_maxmemory_samples = 5;
int			kv_load_wait_timeout_ms = 5000;

KvSharedState *KvShared = NULL;

static int	kv_my_dbslot = -1;	/* cached slot of MyDatabaseId */
static Oid	kv_dropped_db = InvalidOid;	/* DROP DATABASE awaiting commit */

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static object_access_hook_type prev_object_access_hook = NULL;

static const struct config_enum_entry eviction_policy_options[] = {
	{"noeviction", KV_EVICT_NOEVICTION, false},
	{"allkeys-lru", KV_EVICT_ALLKEYS_LRU, false},
	{"allkeys-lfu", KV_EVICT_ALLKEYS_LFU, false},
	{"allkeys-random", KV_EVICT_ALLKEYS_RANDOM, false},
	{"volatile-lru", KV_EVICT_VOLATILE_LRU, false},
	{"volatile-lfu", KV_EVICT_VOLATILE_LFU, false},
	{"volatile-random", KV_EVICT_VOLATILE_RANDOM, false},
	{"volatile-ttl", KV_EVICT_VOLATILE_TTL, false},
	{NULL, 0, false}
};

static void kv_shmem_request(void);
static void kv_shmem_startup(void);
static void kv_object_access(ObjectAccessType access, Oid classId,
							 Oid objectId, int subId, void *arg);
static void kv_xact_callback(XactEvent event, void *arg);
static void kv_purge_slot(int slot, bool interruptible);
static Size kv_control_size(void);

/* Zero the counters of a database slot (hits and misses: KvDbStatsReset) */
static void
kv_db_stats_init(KvDbStats *db)
{
	pg_atomic_init_u64(&db->keys, 0);
	pg_atomic_init_u64(&db->expires, 0);
	pg_atomic_init_u64(&db->expired, 0);
	pg_atomic_init_u64(&db->evicted, 0);
	db->stats_reset = GetCurrentTimestamp();
}

/* Define GUCs, request shared memory, start the expiry worker */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomIntVariable("kvcache.max_memory",
							"Memory for cached keys and values.",
							"The arena is allocated in shared memory at server start.",
							&kv_max_memory_mb,
							64, 1, INT_MAX / 2,
							PGC_POSTMASTER,
							GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomEnumVariable("kvcache.eviction_policy",
							 "What to evict when the cache is full.",
							 "Same names and meanings as Redis maxmemory-policy.",
							 &kv_eviction_policy,
							 KV_EVICT_ALLKEYS_LRU,
							 eviction_policy_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("kvcache.expire_interval",
							"Time between active expiry cycles.",
							NULL,
							&kv_expire_interval_ms,
							100, 1, 60000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("kvcache.maxmemory_samples",
							"Keys sampled per eviction.",
							NULL,
							&kv_maxmemory_samples,
							5, 1, 64,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("kvcache.load_wait_timeout",
							"How long kv.get_or_load waits for another session loading the same key.",
							"After this time it runs the loader itself; 0 never waits.",
							&kv_load_wait_timeout_ms,
							5000, 0, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("kvcache.transactional",
							 "Applies kv writes made in a transaction block at commit.",
							 "Writes are discarded at rollback; the transaction reads its own writes.",
							 &kv_transactional,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("kvcache");

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = kv_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = kv_shmem_startup;
	prev_object_access_hook = object_access_hook;
	object_access_hook = kv_object_access;
	RegisterXactCallback(kv_xact_callback, NULL);

	/* container types: register the functions that free and copy their nodes */
	KvRegisterType(KV_TYPE_HASH, KvHashFreeContents, KvHashCopyContents);
	KvRegisterType(KV_TYPE_LIST, KvListFreeContents, KvListCopyContents);
	KvRegisterType(KV_TYPE_ZSET, KvZsetFreeContents, KvZsetCopyContents);
	KvInvalRegisterCallbacks();
	/* after KvInvalRegisterCallbacks: its commit work must come after ours */
	KvTxnRegisterCallbacks();

	KvBgWorkerRegister();
}

/* Size of the control structure, cache-line aligned */
static Size
kv_control_size(void)
{
	return TYPEALIGN(PG_CACHE_LINE_SIZE, sizeof(KvSharedState));
}

/* shmem_request_hook: reserve the control structure, arena and locks */
static void
kv_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(add_size(kv_control_size(), KvArenaShmemSize()));
	/* subsystems with shared state of their own request it here */
	KvBlockShmemRequest();
	KvLoaderShmemRequest();
	KvInvalShmemRequest();

	RequestNamedLWLockTranche("kvcache", KV_NUM_PARTITIONS + 2);
}

/* shmem_startup_hook: create or attach to the shared state */
static void
kv_shmem_startup(void)
{
	bool		found;
	char	   *base;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);

	base = ShmemInitStruct("kvcache",
						   add_size(kv_control_size(), KvArenaShmemSize()),
						   &found);
	KvShared = (KvSharedState *) base;

	if (!found)
	{
		LWLockPadded *locks = GetNamedLWLockTranche("kvcache");
		int			i;
		int			j;

		memset(KvShared, 0, sizeof(KvSharedState));
		if (!pg_strong_random(&KvShared->seed, sizeof(KvShared->seed)))
			KvShared->seed = (uint64) GetCurrentTimestamp() ^ (uint64) MyProcPid;
		KvShared->start_time = GetCurrentTimestamp();
		KvShared->dblock = &locks[0].lock;
		for (i = 0; i < KV_MAX_DATABASES; i++)
		{
			KvShared->dbs[i].dbid = InvalidOid;
			kv_db_stats_init(&KvShared->dbs[i]);
		}
		pg_atomic_init_u64(&KvShared->evicted_total, 0);
		pg_atomic_init_u64(&KvShared->expired_total, 0);
		pg_atomic_init_u64(&KvShared->clock, 0);
		for (i = 0; i < KV_NUM_PARTITIONS; i++)
		{
			KvPartition *part = &KvShared->partitions[i];

			part->lock = &locks[i + 2].lock;
			part->buckets = part->initial_buckets;
			part->nbuckets = KV_INITIAL_BUCKETS;
			ConditionVariableInit(&part->pending_cv);
			for (j = 0; j < KV_MAX_DATABASES; j++)
			{
				pg_atomic_init_u64(&part->hits[j], 0);
				pg_atomic_init_u64(&part->misses[j], 0);
			}
		}
	}

	KvArenaInit(base + kv_control_size(), KvArenaShmemSize(), found);
	/* subsystems with shared state of their own initialise it here */
	KvBlockShmemInit();
	KvLoaderShmemInit();
	KvInvalShmemInit();

	LWLockRelease(AddinShmemInitLock);
}

/* Raise 55000 unless the library was loaded at server start */
void
KvCheckLoaded(void)
{
	if (unlikely(KvShared == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("kvcache must be loaded via \"shared_preload_libraries\""),
				 errhint("Add kvcache to the \"shared_preload_libraries\" setting and restart the server.")));
}

/* xmin of database dbid's pg_database row (InvalidTransactionId if gone) */
static TransactionId
kv_database_xmin(Oid dbid)
{
	HeapTuple	tup;
	TransactionId xmin = InvalidTransactionId;

	if (!IsTransactionState())
		return InvalidTransactionId;
	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dbid));
	if (HeapTupleIsValid(tup))
	{
		xmin = HeapTupleHeaderGetRawXmin(tup->t_data);
		ReleaseSysCache(tup);
	}
	return xmin;
}

/*
 * A backend's first use of its database's slot: if the slot was made for
 * an earlier database with the same OID (a drop this node did not see),
 * purge its keys and take the slot over.
 */
static void
kv_check_recycled(int slot)
{
	TransactionId xmin = kv_database_xmin(MyDatabaseId);

	if (!TransactionIdIsValid(xmin) || KvShared->dbs[slot].dbxmin == xmin)
		return;
	LWLockAcquire(KvShared->dblock, LW_EXCLUSIVE);
	if (KvShared->dbs[slot].dbid == MyDatabaseId &&
		KvShared->dbs[slot].dbxmin != xmin)
	{
		kv_purge_slot(slot, false);
		kv_db_stats_init(&KvShared->dbs[slot]);
		KvDbStatsReset(slot);
		KvShared->dbs[slot].dbxmin = xmin;
	}
	LWLockRelease(KvShared->dblock);
}

/*
 * Find the slot of database dbid; with create, assign a free one.  Returns
 * -1 if the database has no slot (and create is false).  Raises 53200 if
 * all slots are taken.
 */
int
KvDbSlotLookup(Oid dbid, bool create)
{
	int			i;
	int			free_slot = -1;

	KvCheckLoaded();
	if (dbid == MyDatabaseId && kv_my_dbslot >= 0 &&
		KvShared->dbs[kv_my_dbslot].dbid == dbid)
		return kv_my_dbslot;

	LWLockAcquire(KvShared->dblock, create ? LW_EXCLUSIVE : LW_SHARED);
	for (i = 0; i < KV_MAX_DATABASES; i++)
	{
		if (KvShared->dbs[i].dbid == dbid)
		{
			LWLockRelease(KvShared->dblock);
			if (dbid == MyDatabaseId)
			{
				kv_check_recycled(i);
				kv_my_dbslot = i;
			}
			return i;
		}
		if (free_slot < 0 && KvShared->dbs[i].dbid == InvalidOid)
			free_slot = i;
	}
	if (!create)
	{
		LWLockRelease(KvShared->dblock);
		return -1;
	}
	if (free_slot < 0)
	{
		LWLockRelease(KvShared->dblock);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("too many databases are using kvcache"),
				 errdetail("At most %d databases can use the cache between server restarts, not counting dropped ones.",
						   KV_MAX_DATABASES),
				 errhint("Slots are freed when a database is dropped, and all of them at a server restart.")));
	}
	/* no other backend reads a slot's counters before dbid is set */
	kv_db_stats_init(&KvShared->dbs[free_slot]);
	KvDbStatsReset(free_slot);
	KvShared->dbs[free_slot].dbxmin = kv_database_xmin(dbid);
	pg_write_barrier();
	KvShared->dbs[free_slot].dbid = dbid;
	LWLockRelease(KvShared->dblock);
	if (dbid == MyDatabaseId)
		kv_my_dbslot = free_slot;
	return free_slot;
}

/* Zero a database slot's hit, miss, expiry and eviction counters */
void
KvDbStatsReset(int slot)
{
	KvDbStats  *db = &KvShared->dbs[slot];
	int			p;

	for (p = 0; p < KV_NUM_PARTITIONS; p++)
	{
		pg_atomic_write_u64(&KvShared->partitions[p].hits[slot], 0);
		pg_atomic_write_u64(&KvShared->partitions[p].misses[slot], 0);
	}
	pg_atomic_write_u64(&db->expired, 0);
	pg_atomic_write_u64(&db->evicted, 0);
	db->stats_reset = GetCurrentTimestamp();
}

/* Release a database slot; its keys must have been purged */
void
KvDbSlotRelease(int slot)
{
	LWLockAcquire(KvShared->dblock, LW_EXCLUSIVE);
	KvShared->dbs[slot].dbid = InvalidOid;
	LWLockRelease(KvShared->dblock);
	if (slot == kv_my_dbslot)
		kv_my_dbslot = -1;
}

/* Delete every key of a database slot */
static void
kv_purge_slot(int slot, bool interruptible)
{
	int			p;

	for (p = 0; p < KV_NUM_PARTITIONS; p++)
		KvPartitionPurge(p, slot, interruptible);
}

/*
 * object_access_hook: note a database being dropped.  Nothing happens yet:
 * DROP DATABASE may still fail its own checks (database in use), so the
 * keys are purged only when the transaction commits (kv_xact_callback).
 */
static void
kv_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				 int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);

	if (access == OAT_DROP && classId == DatabaseRelationId && KvShared != NULL)
		kv_dropped_db = objectId;
}

/*
 * Transaction callback: once a DROP DATABASE has committed, purge the
 * dropped database's keys and free its slot.  This runs after the commit
 * point, so it must not fail: interrupts are held and nothing in the purge
 * raises errors.
 */
static void
kv_xact_callback(XactEvent event, void *arg)
{
	Oid			dbid = kv_dropped_db;

	if (!OidIsValid(dbid))
		return;
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		kv_dropped_db = InvalidOid;
	else if (event == XACT_EVENT_COMMIT)
	{
		int			slot;

		kv_dropped_db = InvalidOid;
		HOLD_INTERRUPTS();
		slot = KvDbSlotLookup(dbid, false);
		if (slot >= 0)
		{
			kv_purge_slot(slot, false);
			KvDbSlotRelease(slot);
		}
		RESUME_INTERRUPTS();
	}
}

/* Name of an eviction policy, as in Redis */
const char *
KvEvictionPolicyName(int policy)
{
	const struct config_enum_entry *e;

	for (e = eviction_policy_options; e->name; e++)
		if (e->val == policy)
			return e->name;
	return "unknown";
}

/* Name of a key type, as kv.type() reports it */
const char *
KvTypeName(int type)
{
	switch (type)
	{
		case KV_TYPE_STRING:
			return "string";
		case KV_TYPE_LIST:
			return "list";
		case KV_TYPE_ZSET:
			return "zset";
		case KV_TYPE_HASH:
			return "hash";
	}
	return "none";
}
