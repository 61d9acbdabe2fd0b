/*-------------------------------------------------------------------------
 *
 * kvcache.h
 *	  Internal API of kvcache, a Redis-style cache in PostgreSQL shared memory.
 *
 * Module map (one file per concern):
 *	  kv_shmem.c	GUCs, shared memory sizing and startup, per-database slots
 *	  kv_alloc.c	the arena allocator (page heap, size-class slabs)
 *	  kv_dict.c		the partitioned hash table: lookup, insert, delete, lazy
 *					expiry, eviction, iteration
 *	  kv_string.c	string values (SET/GET/INCR/...) and their SQL functions
 *	  kv_keys.c		generic key commands (DEL/EXISTS/TTL/KEYS/SCAN/FLUSH)
 *	  kv_stats.c	kv.stats, kv.info(), kv.stats_reset()
 *	  kv_worker.c	background worker for active expiry
 *	  kv_hash.c		hashes
 *	  kv_list.c, kv_quicklist.c, kv_blocking.c: lists and blocking pops
 *	  kv_zset.c, kv_skiplist.c: sorted sets
 *	  kv_loader.c	kv.get_or_load: read-through with single-flight loading
 *	  kv_invalidate.c	invalidation triggers applied at commit, and the
 *					record of recent invalidations that stops stale refills
 *	  kv_txn.c		kvcache.transactional: writes applied at commit
 *
 * Locking protocol (summary; details in kv_dict.c):
 *	  - The keyspace is split into KV_NUM_PARTITIONS partitions, chosen by key
 *		hash.  Each partition has its own LWLock, hash table and counters.
 *		Readers take the partition lock shared, writers exclusive.  A backend
 *		holds at most one partition lock except during eviction, which only
 *		ever *conditionally* acquires a second one (no deadlock possible).
 *	  - The allocator (kv_alloc.c) has its own short spinlocks (per allocator
 *		shard) and one LWLock for the page heap; they nest inside partition
 *		locks and never the other way round.
 *	  - Per-database counters are atomics; the slot table is protected by
 *		KvShared->dblock.
 *	  - Entry "access" fields (LRU/LFU) are updated under a shared lock with
 *		plain 32-bit stores: races lose an update, which only makes eviction
 *		slightly less exact.
 *
 * Errors: every function that may ereport does so before changing shared
 * state, or after the change is complete.  Never ereport while holding a
 * spinlock.
 *
 * kvcache/kvcache.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KVCACHE_H
#define KVCACHE_H

#include "postgres.h"

#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "kv_compat.h"

/* ----------------------------------------------------------------
 * Limits and constants
 * ----------------------------------------------------------------
 */
#define KV_NUM_PARTITIONS		128		/* power of two */
#define KV_PARTITION_BITS		7
#define KV_MAX_DATABASES		256		/* databases with keys at once */
#define KV_MAX_KEY_BYTES		(64 * 1024)	/* keys up to 64 kB */
#define KV_MAX_VALUE_BYTES		(512 * 1024 * 1024)	/* values up to 512 MB */

/* key types, as reported by kv.type() */
#define KV_TYPE_STRING			1
#define KV_TYPE_LIST			2
#define KV_TYPE_ZSET			3
#define KV_TYPE_HASH			4
#define KV_NUM_TYPES			5

/*
 * Database slots from KV_SHADOW_SLOT_BASE up are not databases: slot
 * KV_SHADOW_SLOT_BASE + pgprocno holds one backend's pending transactional
 * writes (kv_txn.c).  Only that backend looks such entries up; listings,
 * counters and eviction skip them.
 */
#define KV_SHADOW_SLOT_BASE		KV_MAX_DATABASES
#define KV_SLOT_IS_SHADOW(s)	((s) >= KV_SHADOW_SLOT_BASE)

/* KvStringSet flags */
#define KV_SET_NX				0x01
#define KV_SET_XX				0x02
#define KV_SET_KEEPTTL			0x04

/* KvEntry.flags */
#define KV_FLAG_BINARY			0x01	/* string set from bytea: check encoding on get */
#define KV_FLAG_PENDING			0x02	/* shadow being installed by a commit (kv_txn.c) */
#define KV_FLAG_DELETED			0x04	/* shadow marker: the commit deletes the key */

/* eviction policies (kvcache.eviction_policy) */
typedef enum KvEvictionPolicy
{
	KV_EVICT_NOEVICTION = 0,
	KV_EVICT_ALLKEYS_LRU,
	KV_EVICT_ALLKEYS_LFU,
	KV_EVICT_ALLKEYS_RANDOM,
	KV_EVICT_VOLATILE_LRU,
	KV_EVICT_VOLATILE_LFU,
	KV_EVICT_VOLATILE_RANDOM,
	KV_EVICT_VOLATILE_TTL
} KvEvictionPolicy;

/* ----------------------------------------------------------------
 * Shared structures
 * ----------------------------------------------------------------
 */

/*
 * One key.  Allocated from the arena as a single chunk: this header, then
 * the key bytes, then (at KV_ENTRY_VALUE offset, MAXALIGNed) the payload.
 * For strings the payload is the value bytes (vallen of them).  For
 * containers it is a fixed-size type-specific header (vallen bytes) whose
 * nodes are separate arena chunks owned by the entry.
 */
typedef struct KvEntry
{
	struct KvEntry *next;		/* hash chain */
	int64		expire_at;		/* ms since PostgreSQL epoch, 0 = persistent */
	uint32		hash;			/* high 32 bits of the key hash */
	uint32		keylen;
	uint32		vallen;			/* payload bytes */
	uint32		access;			/* LRU: KvClock() at last access; LFU: minutes << 8 | log counter */
	uint32		version;		/* changes on every write (see KvLookup) */
	uint16		dbslot;			/* index into KvShared->dbs */
	uint8		type;			/* KV_TYPE_* */
	uint8		flags;			/* KV_FLAG_* */
	char		data[FLEXIBLE_ARRAY_MEMBER];	/* key, then payload */
} KvEntry;

#define KV_ENTRY_KEY(e)			((e)->data)
#define KV_ENTRY_VALUE_OFFSET(keylen) MAXALIGN(offsetof(KvEntry, data) + (keylen))
#define KV_ENTRY_VALUE(e)		((char *) (e) + KV_ENTRY_VALUE_OFFSET((e)->keylen))
#define KV_ENTRY_SIZE(keylen, vallen) (KV_ENTRY_VALUE_OFFSET(keylen) + (vallen))

/* Buckets of an empty partition: an array inside KvPartition itself */
#define KV_INITIAL_BUCKETS		16

/*
 * One hash-table partition; padded so partitions do not share cache lines.
 * buckets points at initial_buckets until the partition grows; larger
 * arrays are arena chunks, and go back to initial_buckets when a partition
 * empties or shrinks far enough.
 */
typedef struct KvPartition
{
	LWLock	   *lock;
	KvEntry   **buckets;		/* nbuckets pointers; never NULL */
	uint64		nbuckets;		/* power of two */
	uint64		nentries;
	uint64		nexpires;		/* entries with a TTL */
	uint64		expire_cursor;	/* active expiry scan position */
	KvEntry    *initial_buckets[KV_INITIAL_BUCKETS];

	/*
	 * Lookup counters per database slot.  They live here rather than in
	 * KvDbStats so that reads of different keys write different cache
	 * lines: a single per-database counter would be written by every read
	 * in every backend.
	 */
	pg_atomic_uint64 hits[KV_MAX_DATABASES];
	pg_atomic_uint64 misses[KV_MAX_DATABASES];
	uint32		version_clock;	/* source of KvEntry.version values */
	uint32		npending;		/* entries with KV_FLAG_PENDING */
	ConditionVariable pending_cv;	/* broadcast when pending entries go */
	char		pad[PG_CACHE_LINE_SIZE];
} KvPartition;

/* Counters for one database's keyspace */
typedef struct KvDbStats
{
	Oid			dbid;			/* InvalidOid: slot free */
	TransactionId dbxmin;		/* xmin of the database's pg_database row */
	pg_atomic_uint64 keys;
	pg_atomic_uint64 expires;	/* keys with a TTL */
	pg_atomic_uint64 expired;
	pg_atomic_uint64 evicted;
	TimestampTz stats_reset;
} KvDbStats;

/* The control structure at the start of kvcache's shared memory */
typedef struct KvSharedState
{
	uint64		seed;			/* hash seed chosen at startup */
	TimestampTz start_time;
	LWLock	   *dblock;			/* protects dbs[].dbid allocation */
	KvDbStats	dbs[KV_MAX_DATABASES];
	pg_atomic_uint64 evicted_total;
	pg_atomic_uint64 expired_total;
	pg_atomic_uint64 clock;		/* ms since start, advanced by the worker */
	KvDbStats	shadow_stats;	/* counters of shadow slots: never reported */
	KvPartition partitions[KV_NUM_PARTITIONS];
} KvSharedState;

/* A key as seen by a caller: bytes, database slot, hash, partition */
typedef struct KvKey
{
	const char *data;
	uint32		len;
	int			dbslot;			/* -1: this database has no slot (no keys) */
	uint32		hash;
	int			partition;
} KvKey;

/* ----------------------------------------------------------------
 * Globals and GUCs (kv_shmem.c)
 * ----------------------------------------------------------------
 */
extern KvSharedState *KvShared;
extern int	kv_max_memory_mb;
extern int	kv_eviction_policy;
extern int	kv_expire_interval_ms;
extern int	kv_maxmemory_samples;

extern void _PG_init(void);
extern void KvCheckLoaded(void);
extern int	KvDbSlotLookup(Oid dbid, bool create);
extern void KvDbSlotRelease(int slot);
extern void KvDbStatsReset(int slot);
extern const char *KvEvictionPolicyName(int policy);
extern const char *KvTypeName(int type);

/* ----------------------------------------------------------------
 * Arena allocator (kv_alloc.c)
 * ----------------------------------------------------------------
 */
extern Size KvArenaShmemSize(void);
extern void KvArenaInit(void *base, Size size, bool found);
extern void *KvArenaAlloc(Size size);
extern void KvArenaFree(void *ptr);
extern Size KvArenaChunkSize(void *ptr);
extern Size KvArenaUsed(void);
extern Size KvArenaTotal(void);
extern Size KvArenaFreeBytes(void);
extern Size KvArenaLargestChunk(void);

#define KV_ARENA_MAX_SMALL		8192	/* larger chunks take runs of pages */

/* ----------------------------------------------------------------
 * Partitioned hash table (kv_dict.c)
 * ----------------------------------------------------------------
 */

/* Current time in ms since the PostgreSQL epoch (for TTLs) */
static inline int64
KvNowMs(void)
{
	return GetCurrentTimestamp() / 1000;
}

/*
 * Coarse clock for LRU/LFU: ms since the cache started, advanced by the
 * worker every cycle.  LRU keeps its low 32 bits (idle times are computed
 * modulo 2^32 ms, about 49 days); LFU uses whole minutes.
 */
static inline uint64
KvClock(void)
{
	return pg_atomic_read_u64(&KvShared->clock);
}

extern void KvClockAdvance(void);
extern void KvKeyInit(KvKey *key, const char *data, Size len, bool create_slot);
extern void KvKeyInitText(KvKey *key, text *t, bool create_slot);
extern void KvKeyInitWrite(KvKey *key, text *t, bool create_slot, bool blind);
extern void KvLockPartition(KvKey *key, LWLockMode mode);
extern void KvUnlockPartition(KvKey *key);

/*
 * Lookup.  Caller holds the key's partition lock (shared or exclusive; pass
 * exclusive=true if held exclusive, which lets expired keys be reclaimed).
 * Returns NULL for a missing or expired key.  Counts a hit or miss when
 * count_stats and touches the entry's LRU/LFU data.
 */
extern KvEntry *KvLookup(KvKey *key, bool exclusive, bool count_stats);

/* Like KvLookup but raises 42809 if the key exists with another type */
extern KvEntry *KvLookupTyped(KvKey *key, int type, bool exclusive, bool count_stats);

/*
 * An exclusive KvLookup first waits while another backend's commit is
 * installing the key (kv_txn.c): it releases the partition lock, sleeps
 * (interruptibly) and takes the lock again, so callers look up before they
 * change anything.  KvLookupNoWait never waits (for code that runs at
 * commit); KvWaitPending is the wait alone.
 */
extern KvEntry *KvLookupNoWait(KvKey *key, bool exclusive, bool count_stats);
extern void KvWaitPending(KvKey *key);
extern void KvEntrySetPending(KvEntry *entry);

/*
 * Allocation for entries and container nodes.  Caller holds the
 * partition lock of 'key' exclusive (or key may be NULL when no partition
 * lock is held).  On shortage evicts per policy (never the entry
 * 'protect'), then retries.  Returns NULL if memory could not be found;
 * KvAllocOrError raises 53200 instead, and is only to be used before any
 * shared state has been changed.
 */
extern void *KvAlloc(Size size, KvKey *key, KvEntry *protect);
extern void *KvAllocOrError(Size size, KvKey *key, KvEntry *protect);
extern void KvFree(void *ptr);
extern void KvOutOfMemory(Size size) pg_attribute_noreturn();

/*
 * Create a new unlinked entry of 'type' with 'vallen' payload bytes for
 * 'key'.  Caller holds the partition exclusive.  Raises 53200 if no memory.
 * The payload is uninitialised.
 */
extern KvEntry *KvEntryCreate(KvKey *key, int type, Size vallen, KvEntry *protect);
extern KvEntry *KvEntryTryCreate(KvKey *key, int type, Size vallen, KvEntry *protect);

/*
 * Link a new entry (from KvEntryCreate) into the table, replacing 'old' (the
 * existing live entry for the key, or NULL).  Never fails.  If old is
 * replaced, it is freed (with its container contents).
 */
extern void KvEntryLink(KvKey *key, KvEntry *entry, KvEntry *old);

/* Unlink and free an entry.  Caller holds partition exclusive */
extern void KvEntryDelete(KvKey *key, KvEntry *entry);

/* Set or clear (expire_at = 0) an entry's expiry, keeping counters right */
extern void KvEntrySetExpire(KvEntry *entry, int64 expire_at);

/* Partition of an entry: the top bits of its stored hash */
#define KV_HASH_PARTITION(hash)	((int) ((hash) >> (32 - KV_PARTITION_BITS)))

/* Raise 54000 unless an arena chunk of size bytes could ever fit */
extern void KvCheckChunkFits(Size size);
extern void KvPartitionShrink(int partition);

/*
 * Per-type functions of container types: free the nodes of an entry, and
 * copy src's nodes into dst (a new unlinked entry of the same type whose
 * payload is uninitialised; caller holds the partition of key exclusive).
 * A copy returns false if memory ran out, with dst's payload left empty
 * and safe to free.
 */
typedef void (*KvFreeContentsFn) (KvEntry *entry);
typedef bool (*KvCopyContentsFn) (KvEntry *dst, KvEntry *src, KvKey *key);
extern void KvRegisterType(int type, KvFreeContentsFn free_fn,
						   KvCopyContentsFn copy_fn);

/* Deep copy of a linked entry as a new unlinked entry for key, or NULL */
extern KvEntry *KvEntryCopy(KvKey *key, KvEntry *src);

/* Free an unlinked entry (from KvEntryCreate or KvEntryCopy) and its nodes */
extern void KvEntryFreeUnlinked(KvEntry *entry);

/*
 * Make the linked entry 'entry' of key 'from' the entry of 'to' (same key
 * bytes and partition, another slot), replacing and freeing old.  Never
 * fails.
 */
extern void KvEntryRelabel(KvKey *from, KvEntry *entry, KvKey *to, KvEntry *old);

/* Raise 42809 for a key holding 'found' when 'wanted' was required */
extern void KvWrongType(int found, int wanted) pg_attribute_noreturn();

/*
 * Iteration over one partition, for KEYS/SCAN/FLUSH/expiry.  Caller holds
 * the partition lock.  Calls fn for each live entry of dbslot (-1 = all
 * databases) in buckets [*cursor ...]; see kv_dict.c for the cursor scheme.
 */
typedef bool (*KvVisitFn) (KvEntry *entry, void *arg);	/* return false to delete */

extern uint64 KvPartitionScan(int partition, uint64 cursor, int max_buckets,
							  int dbslot, bool exclusive, int64 now,
							  KvVisitFn fn, void *arg, bool *done);
extern uint64 KvPartitionPurge(int partition, int dbslot, bool interruptible);
extern uint64 KvExpireCycleStep(int partition, int max_buckets, int64 now);


/* ----------------------------------------------------------------
 * Strings (kv_string.c) and generic key commands (kv_keys.c)
 * ----------------------------------------------------------------
 */
extern bool KvStringSet(KvKey *key, const char *val, Size len, bool binary,
						int64 expire_at, int flags);
extern struct varlena *KvStringGet(KvKey *key, bool as_bytea, bool wrongtype_null);
extern struct varlena *KvStringGetAndReplace(KvKey *key, const char *val,
											 Size len, bool replace);
extern int64 KvStringIncr(KvKey *key, int64 delta);
extern double KvStringIncrFloat(KvKey *key, double delta);
extern int64 KvStringAppend(KvKey *key, const char *val, Size len);
extern int64 KvStringStrlen(KvKey *key);

extern bool KvKeyDelete(KvKey *key);
extern int	KvKeyType(KvKey *key);
extern bool KvKeyExpire(KvKey *key, int64 ms, bool persist);
extern int64 KvKeyPttl(KvKey *key);

/* ----------------------------------------------------------------
 * Misc helpers shared by the SQL layers
 * ----------------------------------------------------------------
 */
extern int64 KvIntervalToMs(Interval *iv);
extern text *KvNullKeyError(void) pg_attribute_noreturn();
extern void KvBgWorkerRegister(void);
extern bool KvClampRange(int64 len, int64 *start, int64 *stop);
extern bool KvGlobMatch(const char *pattern, int plen, const char *str, int slen, bool nocase);

/*
 * Backend-local hash tables keyed on byte strings, living in
 * TopTransactionContext (the queues of kv_invalidate.c and kv_txn.c).  An
 * entry type starts with a KvBytesKey; after HASH_ENTER, point its data at
 * a copy the table may keep.
 */
typedef struct KvBytesKey
{
	const char *data;
	uint32		len;
} KvBytesKey;

extern HTAB *KvBytesTableCreate(const char *name, Size entrysize);

/* Redis number parsing and formatting (INCR, INCRBYFLOAT, HINCRBY...) */
#define KV_LONG_DOUBLE_BUFSIZE	5200
extern bool KvParseInt64(const char *s, Size len, int64 *result);
extern bool KvParseLongDouble(const char *s, Size len, long double *result);
extern bool KvLongDoubleAdd(long double cur, double delta, long double *result);
extern int	KvFormatLongDouble(long double v, char *buf, Size bufsize);

/* ----------------------------------------------------------------
 * Transactional writes (kv_txn.c)
 * ----------------------------------------------------------------
 */
extern bool kv_transactional;
extern int	kv_txn_nkeys;		/* keys with pending writes in this transaction */

extern bool KvTxnCollecting(void);
extern void KvTxnRedirect(KvKey *key, bool write, bool blind);
extern void KvTxnRegisterCallbacks(void);
extern void KvTxnRefuse(const char *what);

/*
 * Read the key argument n of a SQL function that writes; NULL key: error
 * 22004.  blind: the command replaces the key without reading it (SET,
 * DEL), which spares it the conflict check of transactional writes.
 */
#define KV_ARG_KEY_BLIND(fcinfo, n, keyvar, create, blind) \
	do { \
		if (PG_ARGISNULL(n)) \
			KvNullKeyError(); \
		KvKeyInitWrite(&(keyvar), PG_GETARG_TEXT_PP(n), (create), (blind)); \
	} while (0)
#define KV_ARG_KEY(fcinfo, n, keyvar, create) \
	KV_ARG_KEY_BLIND(fcinfo, n, keyvar, create, false)

#endif							/* KVCACHE_H */
