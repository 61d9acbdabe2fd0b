/*-------------------------------------------------------------------------
 *
 * kv_dict.c
 *	  The partitioned hash table that maps keys to entries, with lazy
 *	  expiry, eviction and resumable iteration.
 *
 * Structure: KV_NUM_PARTITIONS independent chained hash tables.  A key's
 * 64-bit hash (hash_bytes_extended with a seed chosen at startup, mixed with
 * the database OID) picks the partition with its low bits; the high 32 bits
 * are stored in the entry and pick the bucket.  Each partition's bucket
 * array is an arena chunk that doubles when the load passes 1.0; it never
 * shrinks, which is what makes the SCAN cursor below exact.
 *
 * Locking protocol:
 *	  - A partition's LWLock protects its bucket array, chains, counters
 *		and every byte of the entries (and container nodes) in it.  Readers
 *		hold it shared, writers exclusive.
 *	  - A backend holds at most one partition lock, except while evicting:
 *		KvAlloc, called with the current key's partition held exclusive,
 *		takes other partitions only with LWLockConditionalAcquire, so two
 *		evicting backends can never wait on each other.
 *	  - LRU/LFU "access" words are written under a shared lock (benign race).
 *	  - An exclusive KvLookup of a key that another backend's commit is
 *		installing (kvcache.transactional, kv_txn.c) releases the lock,
 *		sleeps on the partition's condition variable and takes it again.
 *	  - Per-database counters are atomics updated with the partition lock
 *		held exclusive, so they are exact at every lock release.
 *
 * Expiry: every lookup checks expire_at; an expired entry is invisible, and
 * is reclaimed when the lookup holds the lock exclusive.  The worker calls
 * KvExpireCycleStep to reclaim the rest (kv_worker.c).
 *
 * Eviction: when the arena cannot satisfy an allocation, KvAlloc samples
 * kvcache.maxmemory_samples entries from one partition at a time and deletes
 * the best candidate for the policy (Redis's sampled approximation), then
 * retries.  Expired entries are always preferred.
 *
 * Iteration: KvPartitionScan visits buckets in reverse-binary order of the
 * bucket index (Redis dictScan).  Because a table only ever doubles, every
 * entry present for a whole iteration is returned at least once even if
 * the table grows in between; entries may be returned twice.
 *
 * kvcache/kv_dict.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "storage/proc.h"
#include "utils/wait_event.h"

#include "kvcache.h"

static KvFreeContentsFn kv_free_fns[KV_NUM_TYPES];
static KvCopyContentsFn kv_copy_fns[KV_NUM_TYPES];

/* The counters of a slot; shadow slots share one set nobody reports */
#define KV_DB_STATS(slot) \
	(KV_SLOT_IS_SHADOW(slot) ? &KvShared->shadow_stats : &KvShared->dbs[(slot)])

static void kv_entry_unlink(KvPartition *part, KvEntry *entry);
static void kv_entry_free(KvEntry *entry);

/* Describe an entry of partition p as a KvKey (to delete it, say) */
static inline void
kv_key_of_entry(KvKey *k, KvEntry *e, int p)
{
	k->data = KV_ENTRY_KEY(e);
	k->len = e->keylen;
	k->dbslot = e->dbslot;
	k->hash = e->hash;
	k->partition = p;
}

/* Compute hash and partition of a key; the bytes are not copied */
void
KvKeyInit(KvKey *key, const char *data, Size len, bool create_slot)
{
	uint64		h;

	KvCheckLoaded();
	if (len > KV_MAX_KEY_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("key is too long"),
				 errdetail("Key length is %zu bytes; the limit is %d bytes.",
						   len, KV_MAX_KEY_BYTES)));
	key->data = data;
	key->len = (uint32) len;
	key->dbslot = KvDbSlotLookup(MyDatabaseId, create_slot);
	h = hash_bytes_extended((const unsigned char *) data, (int) len,
							KvShared->seed ^ ((uint64) MyDatabaseId << 17));
	key->hash = (uint32) (h >> 32);
	key->partition = KV_HASH_PARTITION(key->hash);
}

/*
 * KvKeyInit for a text datum (already detoasted), for commands that read
 * key: a key this transaction has pending writes for reads its shadow.
 */
void
KvKeyInitText(KvKey *key, text *t, bool create_slot)
{
	KvKeyInit(key, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), create_slot);
	if (unlikely(kv_txn_nkeys > 0))
		KvTxnRedirect(key, false, false);
}

/*
 * KvKeyInitText for commands that write key: with kvcache.transactional on
 * in a transaction block, the write goes to the key's shadow (kv_txn.c).
 */
void
KvKeyInitWrite(KvKey *key, text *t, bool create_slot, bool blind)
{
	KvKeyInit(key, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), create_slot);
	if (unlikely(kv_txn_nkeys > 0) || KvTxnCollecting())
		KvTxnRedirect(key, true, blind);
}

/* Lock the partition of key */
void
KvLockPartition(KvKey *key, LWLockMode mode)
{
	LWLockAcquire(KvShared->partitions[key->partition].lock, mode);
}

/* Unlock the partition of key */
void
KvUnlockPartition(KvKey *key)
{
	LWLockRelease(KvShared->partitions[key->partition].lock);
}

/* Advance the LRU clock to now; called by the worker each cycle */
void
KvClockAdvance(void)
{
	TimestampTz now = GetCurrentTimestamp();

	pg_atomic_write_u64(&KvShared->clock,
						(uint64) ((now - KvShared->start_time) / 1000));
}

/* LFU counter of an entry after decay (1 per minute idle, like Redis) */
static inline uint32
kv_lfu_decayed(uint32 access)
{
	uint32		now_min = (KvClock() / 60000) & 0xFFFF;
	uint32		then = access >> 8;
	uint32		counter = access & 0xFF;
	uint32		elapsed = (now_min - then) & 0xFFFF;

	return elapsed >= counter ? 0 : counter - elapsed;
}

/* Record an access for LRU/LFU */
static inline void
kv_touch(KvEntry *entry)
{
	if (kv_eviction_policy == KV_EVICT_ALLKEYS_LFU ||
		kv_eviction_policy == KV_EVICT_VOLATILE_LFU)
	{
		uint32		counter = kv_lfu_decayed(entry->access);

		/* logarithmic increment, Redis's lfu-log-factor 10 */
		if (counter < 255)
		{
			double		base = counter > 5 ? counter - 5 : 0;
			double		p = 1.0 / (base * 10 + 1);

			if (pg_prng_double(&pg_global_prng_state) < p)
				counter++;
		}
		entry->access = (((KvClock() / 60000) & 0xFFFF) << 8) | counter;
	}
	else
		entry->access = (uint32) KvClock();
}

/* Initial access word for a new entry */
static inline uint32
kv_initial_access(void)
{
	if (kv_eviction_policy == KV_EVICT_ALLKEYS_LFU ||
		kv_eviction_policy == KV_EVICT_VOLATILE_LFU)
		return (((KvClock() / 60000) & 0xFFFF) << 8) | 5;	/* LFU_INIT_VAL */
	return (uint32) KvClock();
}

/* Count a reclaimed expired entry */
static inline void
kv_count_expired(KvEntry *entry)
{
	if (KV_SLOT_IS_SHADOW(entry->dbslot))
		return;
	pg_atomic_fetch_add_u64(&KvShared->dbs[entry->dbslot].expired, 1);
	pg_atomic_fetch_add_u64(&KvShared->expired_total, 1);
}

/*
 * Find the live entry for key.  Caller holds the partition lock; with
 * exclusive, an expired entry found on the way is reclaimed, and a live one
 * gets a new version: writers look keys up exclusive, which is what lets a
 * transactional write tell whether its key changed (kv_txn.c).
 */
KvEntry *
KvLookup(KvKey *key, bool exclusive, bool count_stats)
{
	if (exclusive && unlikely(KvShared->partitions[key->partition].npending > 0))
		KvWaitPending(key);
	return KvLookupNoWait(key, exclusive, count_stats);
}

/*
 * Is key being installed by another backend's commit: does a shadow of
 * another slot with the same bytes carry KV_FLAG_PENDING?  Caller holds the
 * partition lock.
 */
static bool
kv_pending_elsewhere(KvPartition *part, KvKey *key)
{
	KvEntry    *e;
	int			mine = MyProc ? KV_SHADOW_SLOT_BASE + MyProc->pgprocno : -1;

	if (part->npending == 0)
		return false;
	for (e = part->buckets[key->hash & (part->nbuckets - 1)]; e; e = e->next)
	{
		if (e->hash == key->hash && (e->flags & KV_FLAG_PENDING) &&
			e->dbslot != mine && e->keylen == key->len &&
			memcmp(KV_ENTRY_KEY(e), key->data, key->len) == 0)
			return true;
	}
	return false;
}

/*
 * Wait until no other backend's commit is installing key.  Caller holds the
 * partition exclusive; it is released while sleeping and held again on
 * return.  Shadow keys never wait: only their own backend uses them.
 */
void
KvWaitPending(KvKey *key)
{
	KvPartition *part = &KvShared->partitions[key->partition];

	if (KV_SLOT_IS_SHADOW(key->dbslot) || !kv_pending_elsewhere(part, key))
		return;
	ConditionVariablePrepareToSleep(&part->pending_cv);
	while (kv_pending_elsewhere(part, key))
	{
		LWLockRelease(part->lock);
		ConditionVariableSleep(&part->pending_cv, PG_WAIT_EXTENSION);
		LWLockAcquire(part->lock, LW_EXCLUSIVE);
	}
	ConditionVariableCancelSleep();
}

/* Mark a linked shadow entry as being installed; partition held exclusive */
void
KvEntrySetPending(KvEntry *entry)
{
	Assert(KV_SLOT_IS_SHADOW(entry->dbslot) && !(entry->flags & KV_FLAG_PENDING));
	entry->flags |= KV_FLAG_PENDING;
	KvShared->partitions[KV_HASH_PARTITION(entry->hash)].npending++;
}

/* KvLookup without waiting for commits that install the key */
KvEntry *
KvLookupNoWait(KvKey *key, bool exclusive, bool count_stats)
{
	KvPartition *part = &KvShared->partitions[key->partition];
	KvEntry    *e;

	if (key->dbslot < 0)
		e = NULL;
	else
	{
		for (e = part->buckets[key->hash & (part->nbuckets - 1)]; e; e = e->next)
		{
			if (e->hash == key->hash && e->dbslot == key->dbslot &&
				e->keylen == key->len &&
				memcmp(KV_ENTRY_KEY(e), key->data, key->len) == 0)
				break;
		}
		if (e && e->expire_at != 0 && e->expire_at <= KvNowMs())
		{
			if (exclusive)
			{
				kv_count_expired(e);
				KvEntryDelete(key, e);
			}
			e = NULL;
		}
	}

	if (e)
	{
		kv_touch(e);
		if (exclusive)
			e->version = ++part->version_clock;
	}
	if (count_stats && key->dbslot >= 0 && !KV_SLOT_IS_SHADOW(key->dbslot))
		pg_atomic_fetch_add_u64(e ? &part->hits[key->dbslot] :
								&part->misses[key->dbslot], 1);
	return e;
}

/* KvLookup that insists on a type (42809 otherwise) */
KvEntry *
KvLookupTyped(KvKey *key, int type, bool exclusive, bool count_stats)
{
	KvEntry    *e = KvLookup(key, exclusive, count_stats);

	if (e && e->type != type)
		KvWrongType(e->type, type);
	return e;
}

/* Raise the WRONGTYPE error */
void
KvWrongType(int found, int wanted)
{
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("key holds a value of type %s, not %s",
					KvTypeName(found), KvTypeName(wanted))));
}

/* Is entry a candidate for the current (volatile-*?) policy */
static inline bool
kv_evictable(KvEntry *e, int policy)
{
	if (policy >= KV_EVICT_VOLATILE_LRU)
		return e->expire_at != 0;
	return true;
}

/* Score of an eviction candidate: higher is evicted first */
static inline uint64
kv_evict_score(KvEntry *e, int policy, int64 now)
{
	if (e->expire_at != 0 && e->expire_at <= now)
		return PG_UINT64_MAX;	/* already expired */
	switch (policy)
	{
		case KV_EVICT_ALLKEYS_LRU:
		case KV_EVICT_VOLATILE_LRU:
			return (uint32) ((uint32) KvClock() - e->access);	/* idle time */
		case KV_EVICT_ALLKEYS_LFU:
		case KV_EVICT_VOLATILE_LFU:
			return 255 - kv_lfu_decayed(e->access);
		case KV_EVICT_VOLATILE_TTL:
			return PG_INT64_MAX - e->expire_at;
		default:
			return pg_prng_uint32(&pg_global_prng_state);
	}
}

/*
 * Evict one entry from partition p, which the caller has locked
 * exclusively.  Samples entries starting at a random bucket.
 */
static bool
kv_evict_from(int p, KvEntry *protect, int policy, int64 now)
{
	KvPartition *part = &KvShared->partitions[p];
	KvEntry    *best = NULL;
	uint64		best_score = 0;
	int			sampled = 0;
	uint64		b;
	uint64		start;
	uint64		visited;
	KvKey		k;

	if (part->nentries == 0 ||
		(policy >= KV_EVICT_VOLATILE_LRU && part->nexpires == 0))
		return false;
	start = pg_prng_uint64(&pg_global_prng_state) & (part->nbuckets - 1);
	for (visited = 0, b = start;
		 visited < part->nbuckets && sampled < kv_maxmemory_samples;
		 visited++, b = (b + 1) & (part->nbuckets - 1))
	{
		KvEntry    *e;

		for (e = part->buckets[b]; e; e = e->next)
		{
			uint64		score;

			if (e == protect || !kv_evictable(e, policy) ||
				KV_SLOT_IS_SHADOW(e->dbslot))
				continue;
			score = kv_evict_score(e, policy, now);
			if (best == NULL || score > best_score)
			{
				best = e;
				best_score = score;
			}
			sampled++;
		}
	}
	if (best == NULL)
		return false;

	kv_key_of_entry(&k, best, p);
	if (best->expire_at != 0 && best->expire_at <= now)
		kv_count_expired(best);
	else
	{
		pg_atomic_fetch_add_u64(&KV_DB_STATS(best->dbslot)->evicted, 1);
		pg_atomic_fetch_add_u64(&KvShared->evicted_total, 1);
	}
	KvEntryDelete(&k, best);
	return true;
}

/*
 * Evict one entry somewhere.  held is the partition the caller holds
 * exclusive (-1 for none).  Returns false if nothing could be evicted.
 */
static bool
kv_evict_one(int held, KvEntry *protect)
{
	int			policy = kv_eviction_policy;
	int64		now = KvNowMs();
	int			start = (int) (pg_prng_uint32(&pg_global_prng_state) % KV_NUM_PARTITIONS);
	int			pass;
	int			i;

	if (policy == KV_EVICT_NOEVICTION)
		return false;

	/*
	 * The first pass skips busy partitions.  The second waits for them, but
	 * only when we hold no partition ourselves (waiting while holding one
	 * could deadlock with another evicting backend); a caller that holds one
	 * just tries all partitions again.
	 */
	for (pass = 0; pass < 2; pass++)
	{
		for (i = 0; i < KV_NUM_PARTITIONS; i++)
		{
			int			p = (start + i) % KV_NUM_PARTITIONS;
			bool		evicted;

			if (KvShared->partitions[p].nentries == 0 ||
				(policy >= KV_EVICT_VOLATILE_LRU && KvShared->partitions[p].nexpires == 0))
				continue;
			if (p == held)
				evicted = kv_evict_from(p, protect, policy, now);
			else
			{
				if (held >= 0 || pass == 0)
				{
					if (!LWLockConditionalAcquire(KvShared->partitions[p].lock, LW_EXCLUSIVE))
						continue;
				}
				else
					LWLockAcquire(KvShared->partitions[p].lock, LW_EXCLUSIVE);
				evicted = kv_evict_from(p, NULL, policy, now);
				LWLockRelease(KvShared->partitions[p].lock);
			}
			if (evicted)
				return true;
		}
	}
	return false;
}

/* Allocate from the arena, evicting per policy when full; NULL on failure */
void *
KvAlloc(Size size, KvKey *key, KvEntry *protect)
{
	int			held = key ? key->partition : -1;
	Size		used_start = KvArenaUsed();

	/* a chunk bigger than the limit: do not evict for nothing */
	if (size > KvArenaLargestChunk())
		return NULL;
	for (;;)
	{
		void	   *p = KvArenaAlloc(size);
		Size		used_now;

		if (p)
			return p;

		/*
		 * A large chunk needs contiguous pages.  Once eviction has freed
		 * several times its size and twice its size is free but still no
		 * run fits, the free space is fragmented between pages pinned by
		 * slabs; evicting more would empty the cache for little chance of
		 * success, so give up.
		 */
		used_now = KvArenaUsed();
		if (size > KV_ARENA_MAX_SMALL && used_start > used_now &&
			used_start - used_now >= 4 * size + 1024 * 1024 &&
			KvArenaFreeBytes() >= 2 * size)
			return NULL;
		if (!kv_evict_one(held, protect))
			return NULL;
	}
}

/* KvAlloc that raises 53200 on failure; use only before changing anything */
void *
KvAllocOrError(Size size, KvKey *key, KvEntry *protect)
{
	void	   *p = KvAlloc(size, key, protect);

	if (p == NULL)
		KvOutOfMemory(size);
	return p;
}

/* Raise the out-of-memory error for a request of size bytes */
void
KvOutOfMemory(Size size)
{
	ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("kvcache is out of memory"),
				 errdetail("Could not allocate %zu bytes under eviction policy \"%s\"; %zu of %zu bytes are in use.",
						   size, KvEvictionPolicyName(kv_eviction_policy),
						   KvArenaUsed(), KvArenaTotal()),
				 errhint("Increase \"kvcache.max_memory\", delete keys, or choose an eviction policy that can evict them.")));
}

/* Free an arena chunk */
void
KvFree(void *ptr)
{
	KvArenaFree(ptr);
}

/* Raise 54000 unless a chunk of size bytes could ever be allocated */
void
KvCheckChunkFits(Size size)
{
	if (size > KvArenaLargestChunk())
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("value is too large for the cache"),
				 errdetail("It needs %zu bytes; one value may take at most half of \"kvcache.max_memory\", %zu bytes.",
						   size, KvArenaLargestChunk())));
}

/* Register the functions that free and copy a container type's nodes */
void
KvRegisterType(int type, KvFreeContentsFn free_fn, KvCopyContentsFn copy_fn)
{
	Assert(type > 0 && type < KV_NUM_TYPES);
	kv_free_fns[type] = free_fn;
	kv_copy_fns[type] = copy_fn;
}

/*
 * Move every entry of a partition to the bucket array nb of newn buckets
 * and free the old array.  nb may be the partition's built-in array (a
 * shrink back to it), so entries are collected before nb is cleared.
 */
static void
kv_partition_rehash(KvPartition *part, KvEntry **nb, uint64 newn)
{
	KvEntry    *all = NULL;
	uint64		i;

	for (i = 0; i < part->nbuckets; i++)
	{
		KvEntry    *e = part->buckets[i];

		while (e)
		{
			KvEntry    *next = e->next;

			e->next = all;
			all = e;
			e = next;
		}
	}
	if (part->buckets != part->initial_buckets)
		KvArenaFree(part->buckets);
	memset(nb, 0, newn * sizeof(KvEntry *));
	while (all)
	{
		KvEntry    *next = all->next;
		uint64		b = all->hash & (newn - 1);

		all->next = nb[b];
		nb[b] = all;
		all = next;
	}
	part->buckets = nb;
	part->nbuckets = newn;
}

/* Grow a partition's bucket array (best effort: no eviction, no error) */
static void
kv_partition_grow(KvPartition *part)
{
	uint64		newn = part->nbuckets * 2;
	KvEntry   **nb = KvArenaAlloc(newn * sizeof(KvEntry *));

	if (nb != NULL)
		kv_partition_rehash(part, nb, newn);
}

/*
 * Shrink partition p's bucket array when it is mostly empty (load below
 * 1/8), back to the built-in array when it is small enough.  Best effort:
 * allocates without evicting.  SCAN stays exact: with the reverse-binary
 * cursor a shrink can repeat keys but never skip one.
 */
void
KvPartitionShrink(int p)
{
	KvPartition *part = &KvShared->partitions[p];
	KvEntry   **nb;
	uint64		newn;

	LWLockAcquire(part->lock, LW_EXCLUSIVE);
	if (part->nbuckets > KV_INITIAL_BUCKETS && part->nentries < part->nbuckets / 8)
	{
		newn = KV_INITIAL_BUCKETS;
		while (newn < part->nentries * 2)
			newn *= 2;
		nb = (newn == KV_INITIAL_BUCKETS) ? part->initial_buckets :
			KvArenaAlloc(newn * sizeof(KvEntry *));
		if (nb != NULL)
			kv_partition_rehash(part, nb, newn);
	}
	LWLockRelease(part->lock);
}

/*
 * Create an unlinked entry; caller holds the partition exclusive.  Returns
 * NULL if memory could not be found.
 */
KvEntry *
KvEntryTryCreate(KvKey *key, int type, Size vallen, KvEntry *protect)
{
	KvEntry    *e;

	if (key->dbslot < 0)
		elog(ERROR, "kvcache: key has no database slot");
	e = KvAlloc(KV_ENTRY_SIZE(key->len, vallen), key, protect);
	if (e == NULL)
		return NULL;
	e->next = NULL;
	e->expire_at = 0;
	e->hash = key->hash;
	e->keylen = key->len;
	e->vallen = (uint32) vallen;
	e->access = kv_initial_access();
	e->version = 0;
	e->dbslot = (uint16) key->dbslot;
	e->type = (uint8) type;
	e->flags = 0;
	memcpy(KV_ENTRY_KEY(e), key->data, key->len);
	return e;
}

/* KvEntryTryCreate that raises 54000/53200 instead of returning NULL */
KvEntry *
KvEntryCreate(KvKey *key, int type, Size vallen, KvEntry *protect)
{
	Size		size = KV_ENTRY_SIZE(key->len, vallen);
	KvEntry    *e;

	KvCheckChunkFits(size);
	e = KvEntryTryCreate(key, type, vallen, protect);
	if (e == NULL)
		KvOutOfMemory(size);
	return e;
}

/* Link entry into the table, replacing (and freeing) old if given */
void
KvEntryLink(KvKey *key, KvEntry *entry, KvEntry *old)
{
	KvPartition *part = &KvShared->partitions[key->partition];
	KvDbStats  *db = KV_DB_STATS(key->dbslot);
	KvEntry   **bucket;

	if (old)
	{
		kv_entry_unlink(part, old);
		if (old->expire_at != 0)
		{
			pg_atomic_fetch_sub_u64(&db->expires, 1);
			part->nexpires--;
		}
		if (old->flags & KV_FLAG_PENDING)
			part->npending--;
		kv_entry_free(old);
	}
	else
	{
		pg_atomic_fetch_add_u64(&db->keys, 1);
		part->nentries++;
	}
	if (entry->expire_at != 0)
	{
		pg_atomic_fetch_add_u64(&db->expires, 1);
		part->nexpires++;
	}

	entry->version = ++part->version_clock;
	bucket = &part->buckets[entry->hash & (part->nbuckets - 1)];
	entry->next = *bucket;
	*bucket = entry;

	if (part->nentries > part->nbuckets)
		kv_partition_grow(part);
}

/* Remove entry from its chain (no accounting) */
static void
kv_entry_unlink(KvPartition *part, KvEntry *entry)
{
	KvEntry   **pp = &part->buckets[entry->hash & (part->nbuckets - 1)];

	while (*pp != entry)
	{
		Assert(*pp != NULL);
		pp = &(*pp)->next;
	}
	*pp = entry->next;
}

/* Free an entry's container contents and its chunk */
static void
kv_entry_free(KvEntry *entry)
{
	if (entry->type != KV_TYPE_STRING && kv_free_fns[entry->type])
		kv_free_fns[entry->type] (entry);
	KvArenaFree(entry);
}

/* Take a linked entry out of its partition's table and counters */
static void
kv_entry_remove(KvKey *key, KvEntry *entry)
{
	KvPartition *part = &KvShared->partitions[key->partition];
	KvDbStats  *db = KV_DB_STATS(entry->dbslot);

	kv_entry_unlink(part, entry);
	part->nentries--;
	pg_atomic_fetch_sub_u64(&db->keys, 1);
	if (entry->expire_at != 0)
	{
		pg_atomic_fetch_sub_u64(&db->expires, 1);
		part->nexpires--;
	}
	if (entry->flags & KV_FLAG_PENDING)
	{
		entry->flags &= ~KV_FLAG_PENDING;
		part->npending--;
	}
}

/* Unlink and free an entry; caller holds its partition exclusive */
void
KvEntryDelete(KvKey *key, KvEntry *entry)
{
	kv_entry_remove(key, entry);
	kv_entry_free(entry);
}

/* Free an unlinked entry and its container nodes */
void
KvEntryFreeUnlinked(KvEntry *entry)
{
	kv_entry_free(entry);
}

/*
 * Deep copy of src (linked, in key's partition, held exclusive) as a new
 * unlinked entry for key, with src's type, flags, expiry and value.
 * Returns NULL if memory ran out (nothing is left allocated).
 */
KvEntry *
KvEntryCopy(KvKey *key, KvEntry *src)
{
	KvEntry    *dst;

	dst = KvEntryTryCreate(key, src->type, src->vallen, src);
	if (dst == NULL)
		return NULL;
	dst->flags = src->flags;
	dst->expire_at = src->expire_at;
	if (src->type == KV_TYPE_STRING)
		memcpy(KV_ENTRY_VALUE(dst), KV_ENTRY_VALUE(src), src->vallen);
	else if (!kv_copy_fns[src->type] (dst, src, key))
	{
		kv_entry_free(dst);
		return NULL;
	}
	return dst;
}

/*
 * Move the linked entry of 'from' to the slot of 'to' (same bytes, hash and
 * partition, which the caller holds exclusive), replacing old, the live
 * entry of 'to' or NULL.  Never fails.
 */
void
KvEntryRelabel(KvKey *from, KvEntry *entry, KvKey *to, KvEntry *old)
{
	Assert(from->partition == to->partition && from->hash == to->hash);
	kv_entry_remove(from, entry);
	entry->dbslot = (uint16) to->dbslot;
	KvEntryLink(to, entry, old);
}

/* Set or clear an entry's expiry; caller holds its partition exclusive */
void
KvEntrySetExpire(KvEntry *entry, int64 expire_at)
{
	KvDbStats  *db = KV_DB_STATS(entry->dbslot);
	KvPartition *part = &KvShared->partitions[KV_HASH_PARTITION(entry->hash)];

	if (entry->expire_at == 0 && expire_at != 0)
	{
		pg_atomic_fetch_add_u64(&db->expires, 1);
		part->nexpires++;
	}
	else if (entry->expire_at != 0 && expire_at == 0)
	{
		pg_atomic_fetch_sub_u64(&db->expires, 1);
		part->nexpires--;
	}
	entry->expire_at = expire_at;
}

/* Reverse the bits of a 64-bit value */
static inline uint64
kv_rev64(uint64 v)
{
	uint64		r = 0;
	int			i;

	for (i = 0; i < 64; i++)
	{
		r = (r << 1) | (v & 1);
		v >>= 1;
	}
	return r;
}

/*
 * Visit up to max_buckets buckets of partition p starting at the
 * reverse-binary cursor.  Calls fn for each live entry of dbslot (-1: all);
 * when fn returns false the entry is deleted (caller must hold the lock
 * exclusive then).  Expired entries are skipped (and reclaimed when
 * exclusive).  Returns the next cursor; *done is set when the partition has
 * been covered (cursor wrapped to 0).
 */
uint64
KvPartitionScan(int p, uint64 cursor, int max_buckets, int dbslot,
				bool exclusive, int64 now, KvVisitFn fn, void *arg, bool *done)
{
	KvPartition *part = &KvShared->partitions[p];
	uint64		mask;
	int			n;
	KvKey		k;

	*done = false;
	mask = part->nbuckets - 1;
	for (n = 0; n < max_buckets; n++)
	{
		KvEntry    *e = part->buckets[cursor & mask];

		while (e)
		{
			KvEntry    *next = e->next;

			if (dbslot < 0 ? !KV_SLOT_IS_SHADOW(e->dbslot) : e->dbslot == dbslot)
			{
				bool		expired = (e->expire_at != 0 && e->expire_at <= now);

				kv_key_of_entry(&k, e, p);
				if (expired)
				{
					if (exclusive)
					{
						kv_count_expired(e);
						KvEntryDelete(&k, e);
					}
				}
				else if (!fn(e, arg))
				{
					Assert(exclusive);
					KvEntryDelete(&k, e);
				}
			}
			e = next;
		}

		/* reverse-binary increment of the cursor under mask */
		cursor |= ~mask;
		cursor = kv_rev64(cursor);
		cursor++;
		cursor = kv_rev64(cursor);
		if (cursor == 0)
		{
			*done = true;
			break;
		}
	}
	return cursor;
}

/* Visitor that deletes every entry it sees and counts them */
static bool
kv_purge_visitor(KvEntry *entry, void *arg)
{
	(*(uint64 *) arg)++;
	return false;
}

/*
 * Delete all entries of dbslot (-1: all) in partition p; returns the count.
 * Works in batches of buckets, releasing the lock (and, if interruptible,
 * checking for interrupts) in between; shrinks the bucket array after.
 */
uint64
KvPartitionPurge(int p, int dbslot, bool interruptible)
{
	uint64		count = 0;
	uint64		cursor = 0;
	bool		done = false;

	while (!done)
	{
		LWLockAcquire(KvShared->partitions[p].lock, LW_EXCLUSIVE);
		cursor = KvPartitionScan(p, cursor, 1024, dbslot, true,
								 KvNowMs(), kv_purge_visitor, &count, &done);
		LWLockRelease(KvShared->partitions[p].lock);
		if (interruptible)
			CHECK_FOR_INTERRUPTS();
	}
	KvPartitionShrink(p);
	return count;
}

/*
 * One active-expiry step on partition p: examine up to max_buckets buckets
 * from the partition's expiry cursor and reclaim expired entries.  Returns
 * the number reclaimed.  Takes and releases the partition lock.
 */
uint64
KvExpireCycleStep(int p, int max_buckets, int64 now)
{
	KvPartition *part = &KvShared->partitions[p];
	uint64		reclaimed = 0;
	int			n;

	if (part->nexpires == 0)
		return 0;
	LWLockAcquire(part->lock, LW_EXCLUSIVE);
	{
		for (n = 0; n < max_buckets && (uint64) n < part->nbuckets; n++)
		{
			uint64		b = part->expire_cursor++ & (part->nbuckets - 1);
			KvEntry    *e = part->buckets[b];

			while (e)
			{
				KvEntry    *next = e->next;

				if (e->expire_at != 0 && e->expire_at <= now)
				{
					KvKey		k;

					kv_key_of_entry(&k, e, p);
					kv_count_expired(e);
					KvEntryDelete(&k, e);
					reclaimed++;
				}
				e = next;
			}
		}
	}
	LWLockRelease(part->lock);
	return reclaimed;
}
